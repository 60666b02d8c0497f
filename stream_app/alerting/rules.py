"""Every recording rule and alert of ccmon, as typed definitions built from the configuration.

One definition per rule; :mod:`stream_app.alerting.render` writes them as Prometheus rule files
and as Grafana-managed alert provisioning, so the two cannot drift. Names follow
``level:metric:operations``:

* ``queue:ccmon_<kpi>:ratio_rate<w>``: a KPI per queue over window ``w``, a ratio of sums over
  all workers (``ratio`` of the counters' increases, i.e. of their rates). Abandonment, service
  level, CSAT and FCR are 0-1, ASA and AHT seconds, NPS a score -100..100.
* ``queue:ccmon_<volume>:increase<w>``: the volumes the ratios and guards use.
* ``default:ccmon_<kpi>_<key>:<unit>`` and ``queue:ccmon_<kpi>_<key>:<unit>{queue=...}``: the
  targets and thresholds of ``deploy/kpi-targets.yaml`` as series, default and per-queue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from stream_app.alerting.config import PER_QUEUE, KpiTargets, threshold
from stream_app.alerting.promql import (
    compare,
    indent,
    net_increase,
    number,
    per_queue,
    ratio,
    retracted,
    sum_increase,
    zero_fill,
)

RUNBOOK_URL = "https://github.com/ccmon/ccmon/blob/main/docs/runbook.md"
"""Base of every alert's ``runbook_url``; the anchor is the alert name in lower case."""

Severity = Literal["critical", "warning"]

KPI_METRICS: dict[str, str] = {
    "abandonment": "ccmon_abandonment",
    "service_level": "ccmon_service_level",
    "asa": "ccmon_asa_seconds",
    "aht": "ccmon_aht_seconds",
    "csat": "ccmon_csat",
    "nps": "ccmon_nps_score",
    "fcr": "ccmon_fcr",
}
"""KPI -> metric part of its recording rules (units: ratio 0-1, seconds, NPS score)."""


def kpi_series(kpi: str, window: str) -> str:
    """The recording rule of a KPI per queue, e.g. ``queue:ccmon_abandonment:ratio_rate5m``."""
    return f"queue:{KPI_METRICS[kpi]}:ratio_rate{window}"


def volume_series(volume: str, window: str) -> str:
    """A volume per queue, e.g. ``queue:ccmon_left_queue:increase5m``."""
    return f"queue:ccmon_{volume}:increase{window}"


@dataclass(frozen=True)
class RecordingRule:
    """``record: <record>`` = ``expr`` (with static ``labels``)."""

    record: str
    expr: str
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Alert:
    """One alert, the same in Prometheus and in Grafana."""

    name: str
    expr: str
    for_: str
    severity: Severity
    summary: str
    description: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def runbook_url(self) -> str:
        """``docs/runbook.md#<name in lower case>`` on GitHub."""
        return f"{RUNBOOK_URL}#{self.name.lower()}"

    @property
    def all_labels(self) -> dict[str, str]:
        """``severity`` and the routing labels (``kpi`` or ``component``), sorted."""
        return dict(sorted({"severity": self.severity, **self.labels}.items()))

    @property
    def annotations(self) -> dict[str, str]:
        """``summary``, ``description`` and ``runbook_url``, sorted."""
        return {
            "description": self.description,
            "runbook_url": self.runbook_url,
            "summary": self.summary,
        }


@dataclass(frozen=True)
class RecordingGroup:
    """A Prometheus rule group of recording rules (evaluated in order)."""

    name: str
    rules: tuple[RecordingRule, ...]


@dataclass(frozen=True)
class AlertGroup:
    """A rule group of alerts (a Grafana rule group of the same name)."""

    name: str
    rules: tuple[Alert, ...]


# -- recording rules ------------------------------------------------------------------------


def threshold_group(config: KpiTargets) -> RecordingGroup:
    """Every target and threshold as a series: defaults, then the overrides queue by queue."""
    rules = [
        RecordingRule(e.default_metric, f"vector({number(config.defaults[e])})") for e in PER_QUEUE
    ]
    for queue, values in sorted(config.overrides.items()):
        rules += [
            RecordingRule(e.queue_metric, f"vector({number(values[e])})", {"queue": queue})
            for e in PER_QUEUE
            if e in values
        ]
    return RecordingGroup("ccmon-thresholds", tuple(rules))


def kpi_group(window: str) -> RecordingGroup:
    """Volumes and KPIs per queue over one window; later rules use earlier ones (same group)."""
    w = window
    answered, counted = volume_series("answered", w), volume_series("abandoned_counted", w)
    left, handled = volume_series("left_queue", w), volume_series("handled", w)
    csat_n, nps_n = volume_series("csat_responses", w), volume_series("nps_responses", w)
    issues = volume_series("fcr_issues", w)
    abandoned = sum_increase("ccmon_abandoned_total", w)
    # A short abandon leaves numerator and denominator alike (KPI-SPEC section 3); the short
    # counter exists only once a short abandon happened, so it is zero-filled.
    short = zero_fill(sum_increase("ccmon_abandoned_short_total", w), abandoned)
    # Survey and FCR counters have *_retracted_total corrections (docs/metrics.md): every count
    # of theirs is net = total - retracted, a missing retraction counting 0.
    promoters = net_increase("ccmon_nps_promoters", w, nps_n)
    detractors = net_increase("ccmon_nps_detractors", w, nps_n)
    satisfied = net_increase("ccmon_csat_satisfied", w, csat_n)
    first = net_increase("ccmon_fcr_resolved_first", w, issues)
    withdrawn = net_increase("ccmon_fcr_withdrawn", w, issues)
    rules = (
        RecordingRule(answered, sum_increase("ccmon_answered_total", w)),
        RecordingRule(counted, f"{abandoned}\n- {short}"),
        RecordingRule(
            left,
            f"{zero_fill(answered, counted)}\n+ {zero_fill(counted, answered)}",
        ),
        RecordingRule(handled, sum_increase("ccmon_handled_total", w)),
        RecordingRule(csat_n, _net_count("ccmon_csat_responses", w)),
        RecordingRule(nps_n, _net_count("ccmon_nps_responses", w)),
        RecordingRule(issues, _net_count("ccmon_fcr_issues", w)),
        RecordingRule(kpi_series("abandonment", w), ratio(counted, left)),
        RecordingRule(
            kpi_series("service_level", w),
            ratio(sum_increase("ccmon_answered_within_sl_total", w), left),
        ),
        RecordingRule(
            kpi_series("asa", w),
            ratio(sum_increase("ccmon_answered_wait_seconds_total", w), answered),
        ),
        RecordingRule(
            kpi_series("aht", w), ratio(sum_increase("ccmon_handle_seconds_total", w), handled)
        ),
        RecordingRule(kpi_series("csat", w), f"{satisfied}\n/ ({csat_n} > 0)"),
        RecordingRule(kpi_series("nps", w), f"100 * ({promoters} - {detractors})\n/ ({nps_n} > 0)"),
        RecordingRule(kpi_series("fcr", w), f"({first} - {withdrawn})\n/ ({issues} > 0)"),
    )
    return RecordingGroup(f"ccmon-queue-kpis-{w}", rules)


def _net_count(family: str, window: str) -> str:
    """A volume with retractions per queue: ``<family>_total`` minus what was taken away."""
    total = sum_increase(f"{family}_total", window)
    return f"{total}\n- {retracted(family, window, total)}"


def recording_groups(config: KpiTargets) -> tuple[RecordingGroup, ...]:
    """The groups of ``deploy/prometheus/rules/ccmon-recording.yml``, in file order."""
    return (threshold_group(config), *(kpi_group(w) for w in config.windows))


# -- alerts ---------------------------------------------------------------------------------


def _block(expr: str) -> str:
    return f"(\n{indent(expr)}\n)"


def _all_of(*conditions: str) -> str:
    """Each condition in parentheses, joined with ``and on(queue)``."""
    return "\nand on(queue)\n".join(_block(c) for c in conditions)


def _pct(value: float) -> str:
    return f"{value * 100:g}%"


def abandonment_spike(config: KpiTargets) -> Alert:
    """Short-window abandonment well above the queue's own baseline, a floor and a volume."""
    short, base = (
        config.time("abandonment", "short_window"),
        config.time("abandonment", "baseline_window"),
    )
    ratio_short = kpi_series("abandonment", short)
    factor_of_queue = per_queue(threshold("abandonment", "spike_factor"), ratio_short)
    # The baseline is the window just before the short one: a spike does not raise its own bar.
    previous = f"{kpi_series('abandonment', base)} offset {short}"
    baseline = f"{factor_of_queue}\n* on(queue) ({previous})"
    spike = f"{ratio_short}\n  > on(queue) group_left()\n{indent(_block(baseline))}"
    expr = _all_of(
        spike,
        compare(ratio_short, ">", threshold("abandonment", "spike_floor")),
        compare(
            volume_series("left_queue", short), ">=", threshold("abandonment", "spike_min_contacts")
        ),
    )
    factor = config.value("abandonment", "spike_factor")
    return Alert(
        name="CcmonAbandonmentSpike",
        expr=expr,
        for_=config.time("abandonment", "for"),
        severity="critical",
        summary="Abandonment spike on queue {{ $labels.queue }}",
        description=(
            "{{ $value | humanizePercentage }} of the contacts that left queue "
            f"{{{{ $labels.queue }}}} in the last {short} abandoned: over the spike factor "
            f"(default {factor:g}x) times its abandonment in the {base} before, above the spike "
            f"floor (default {_pct(config.value('abandonment', 'spike_floor'))}) and on at least "
            f"{number(config.value('abandonment', 'spike_min_contacts'))} contacts (defaults; "
            "per queue in deploy/kpi-targets.yaml)."
        ),
        labels={"kpi": "abandonment"},
    )


def service_level(config: KpiTargets, severity: Severity) -> Alert:
    """Service level under the queue's warning or critical floor, on enough volume."""
    window = config.time("service_level", "window")
    key = f"{severity}_floor"
    expr = _all_of(
        compare(kpi_series("service_level", window), "<", threshold("service_level", key)),
        compare(
            volume_series("left_queue", window), ">=", threshold("service_level", "min_contacts")
        ),
    )
    word = "Low" if severity == "warning" else "Critical"
    return Alert(
        name=f"CcmonServiceLevel{word}",
        expr=expr,
        for_=config.time("service_level", "for"),
        severity=severity,
        summary=f"Service level of queue {{{{ $labels.queue }}}} under its {severity} floor",
        description=(
            "{{ $value | humanizePercentage }} of the contacts that left queue "
            f"{{{{ $labels.queue }}}} in the last {window} were answered within the "
            f"service-level threshold, under its {severity} floor (default "
            f"{_pct(config.value('service_level', key))}, per queue in deploy/kpi-targets.yaml)."
        ),
        labels={"kpi": "service_level"},
    )


def survey_drop(config: KpiTargets, kpi: Literal["csat", "nps"]) -> Alert:
    """CSAT ratio or NPS score under the queue's floor, on enough survey answers."""
    window = config.time(kpi, "window")
    expr = _all_of(
        compare(kpi_series(kpi, window), "<", threshold(kpi, "floor")),
        compare(volume_series(f"{kpi}_responses", window), ">=", threshold(kpi, "min_responses")),
    )
    floor = config.value(kpi, "floor")
    if kpi == "csat":
        value, what, default = "{{ $value | humanizePercentage }}", "CSAT", _pct(floor)
        detail = "of the CSAT answers"
    else:
        value, what, default = '{{ $value | printf "%.0f" }}', "NPS", number(floor)
        detail = "is the NPS"
    return Alert(
        name=f"Ccmon{what.capitalize()}Drop",
        expr=expr,
        for_=config.time(kpi, "for"),
        severity="warning",
        summary=f"{what} of queue {{{{ $labels.queue }}}} under its floor",
        description=(
            f"{value} {detail} of queue {{{{ $labels.queue }}}} in the last {window}"
            f"{' were satisfied' if kpi == 'csat' else ''}, under its floor (default {default}, "
            "per queue in deploy/kpi-targets.yaml)."
        ),
        labels={"kpi": kpi},
    )


def worker_down(config: KpiTargets) -> Alert:
    """No ccmon worker scraped (absent) or a worker's scrape failing."""
    up = f'up{{job="{config.pipeline.job}"}}'
    return Alert(
        name="CcmonWorkerDown",
        expr=f"{up} == 0\nor\nabsent({up})",
        for_=config.pipeline.worker_down_for,
        severity="critical",
        summary="ccmon worker is not being scraped",
        description=(
            f"Prometheus has not scraped a ccmon worker (job {config.pipeline.job}) for "
            f"{config.pipeline.worker_down_for}, or none is configured; KPIs and alerts are blind."
        ),
        labels={"component": "pipeline"},
    )


def pipeline_stalled(config: KpiTargets) -> Alert:
    """A worker accepts valid events but its engine applies none."""
    w = config.pipeline.stalled_window
    accepted = sum_increase("ccmon_events_accepted_total", w, by=("instance",))
    applied = sum_increase("ccmon_events_applied_total", w, by=("instance",))
    duplicate = sum_increase("ccmon_events_duplicate_total", w, by=("instance",))
    return Alert(
        name="CcmonPipelineStalled",
        expr=f"{accepted} > 0\nunless on(instance)\n(\n  {applied} > 0\n  or\n  {duplicate} > 0\n)",
        for_=config.pipeline.stalled_for,
        severity="critical",
        summary="ccmon worker {{ $labels.instance }} applies no events",
        description=(
            "Worker {{ $labels.instance }} accepted {{ $value | humanize }} valid events in the "
            f"last {w} but applied none (and recognized no duplicate): its KPIs are frozen."
        ),
        labels={"component": "pipeline"},
    )


def dead_letter_rate(config: KpiTargets) -> Alert:
    """Too large a share of the input goes to the dead-letter topic."""
    p = config.pipeline
    rejected = f"sum(increase(ccmon_events_rejected_total[{p.dead_letter_window}]))"
    consumed = f"sum(increase(ccmon_events_consumed_total[{p.dead_letter_window}]))"
    return Alert(
        name="CcmonDeadLetterRate",
        expr=(
            f"{rejected}\n/ {consumed}\n> {number(p.dead_letter_ratio)}\n"
            f"and on()\n{rejected} >= {p.dead_letter_min_rejected}"
        ),
        for_=p.dead_letter_for,
        severity="warning",
        summary="Many input records go to the dead-letter topic",
        description=(
            "{{ $value | humanizePercentage }} of the records consumed in the last "
            f"{p.dead_letter_window} were rejected to the dead-letter topic (threshold "
            f"{_pct(p.dead_letter_ratio)}): a producer is breaking the event contract."
        ),
        labels={"component": "pipeline"},
    )


def processing_lag(config: KpiTargets) -> Alert:
    """A worker applies events long after they occurred."""
    p = config.pipeline
    lag = number(p.processing_lag_seconds)
    return Alert(
        name="CcmonProcessingLag",
        expr=f"max by (instance) (ccmon_processing_lag_seconds)\n> {lag}",
        for_=p.processing_lag_for,
        severity="warning",
        summary="ccmon worker {{ $labels.instance }} is behind",
        description=(
            "Worker {{ $labels.instance }} applied its last event {{ $value | humanizeDuration }} "
            f"after it occurred (threshold {lag} s): the wallboard "
            "and the KPI alerts are late."
        ),
        labels={"component": "pipeline"},
    )


def alert_groups(config: KpiTargets) -> tuple[AlertGroup, ...]:
    """The groups of ``deploy/prometheus/rules/ccmon-alerts.yml``, in file order."""
    kpi = (
        abandonment_spike(config),
        service_level(config, "warning"),
        service_level(config, "critical"),
        survey_drop(config, "csat"),
        survey_drop(config, "nps"),
    )
    pipeline = (
        worker_down(config),
        pipeline_stalled(config),
        processing_lag(config),
        dead_letter_rate(config),
    )
    return (AlertGroup("ccmon-kpi-alerts", kpi), AlertGroup("ccmon-pipeline-alerts", pipeline))


def all_alerts(config: KpiTargets) -> tuple[Alert, ...]:
    """Every alert, in file order."""
    return tuple(a for g in alert_groups(config) for a in g.rules)
