"""PromQL of every KPI over the raw ``ccmon_*`` counters of docs/metrics.md, for the dashboards.

No recording rule is needed: each KPI is a ratio of sums over workers (``sum by (...)`` of
``increase``), never a sum of ratios. A labelled counter appears only once it has been
incremented (no short abandon yet, no answer within the service level yet, no retraction
yet), and a PromQL ``-`` or ``/`` with a missing side silently drops the group; so every term
that may be missing is zero-filled for the groups the denominator knows. An empty denominator
gives no sample ("no data", never 0), as KPI-SPEC section 3 asks. The building blocks are the
shared helpers of :mod:`stream_app.alerting.promql`, the ones the recording rules use.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from stream_app.alerting import promql as shared
from stream_app.alerting.promql import divide, zero_fill

AGENT_PREFIX = "ccmon_agent_"
QUEUE_PREFIX = "ccmon_"


@dataclass(frozen=True)
class Scope:
    """Which series (label matchers), over which window, grouped by which labels."""

    matchers: str = ""
    window: str = "15m"
    by: tuple[str, ...] = ("queue",)

    def over(self, window: str) -> Scope:
        """The same scope over another window."""
        return replace(self, window=window)

    def grouped(self, *by: str) -> Scope:
        """The same scope grouped by other labels (none: one total)."""
        return replace(self, by=by)

    @property
    def selector(self) -> str:
        return shared.selector(self.matchers)

    @property
    def sum(self) -> str:
        """``sum by (a, b)`` or, without grouping, ``sum``."""
        return shared.sum_by(self.by)

    @property
    def on(self) -> str:
        return shared.on(self.by)


def increase(metric: str, scope: Scope) -> str:
    """One counter's increase over the window, summed over workers per group."""
    return shared.sum_increase(metric, scope.window, scope.by, scope.matchers)


def rate(metric: str, scope: Scope) -> str:
    """One counter's per-second rate over the window, summed over workers per group."""
    return shared.sum_rate(metric, scope.window, scope.by, scope.matchers)


def _left_queue(scope: Scope) -> tuple[str, str, str, str]:
    """Zero-filled (answered, abandoned, short abandons) and their union of groups."""
    answered = increase("ccmon_answered_total", scope)
    abandoned = increase("ccmon_abandoned_total", scope)
    short = increase("ccmon_abandoned_short_total", scope)
    union = f"({answered} or {scope.on} {abandoned})"
    return (
        union,
        zero_fill(answered, union, scope.by),
        zero_fill(abandoned, union, scope.by),
        zero_fill(short, union, scope.by),
    )


def service_level(scope: Scope) -> str:
    """Answered within the threshold / (answered + abandoned - short abandons), 0-1."""
    union, answered, abandoned, short = _left_queue(scope)
    within = zero_fill(increase("ccmon_answered_within_sl_total", scope), union, scope.by)
    return divide(within, f"{answered} + {abandoned} - {short}")


def abandonment(scope: Scope) -> str:
    """(Abandoned - short abandons) / (answered + abandoned - short abandons), 0-1."""
    _, answered, abandoned, short = _left_queue(scope)
    return divide(f"{abandoned} - {short}", f"{answered} + {abandoned} - {short}")


def asa(scope: Scope, prefix: str = QUEUE_PREFIX) -> str:
    """Average speed of answer: answered wait seconds / answered, seconds."""
    return divide(
        increase(f"{prefix}answered_wait_seconds_total", scope),
        increase(f"{prefix}answered_total", scope),
    )


def aht(scope: Scope, prefix: str = QUEUE_PREFIX) -> str:
    """Average handle time: talk + hold + wrap seconds / handled contacts, seconds."""
    return divide(
        increase(f"{prefix}handle_seconds_total", scope),
        increase(f"{prefix}handled_total", scope),
    )


def net(family: str, scope: Scope, like: str) -> str:
    """``(<family>_total - <family>_retracted_total)`` in the scope, 0 for groups ``like`` has."""
    return shared.net_increase(family, scope.window, like, scope.by, scope.matchers)


def net_count(family: str, scope: Scope) -> str:
    """A denominator with retractions: ``<family>_total`` minus what was taken away (0 when
    nothing was); no sample for a group without ``<family>_total``."""
    total = increase(f"{family}_total", scope)
    return f"{total} - {shared.retracted(family, scope.window, total, scope.by, scope.matchers)}"


def csat(scope: Scope, prefix: str = QUEUE_PREFIX) -> str:
    """Satisfied CSAT answers / CSAT answers (both scales pooled), net of retractions, 0-1.

    A survey is moved to its contact's agent (and queue) when the resolution arrives: taken
    away from where it was first counted, added where it belongs (docs/metrics.md).
    """
    responses = increase(f"{prefix}csat_responses_total", scope)
    return divide(
        net(f"{prefix}csat_satisfied", scope, responses),
        net_count(f"{prefix}csat_responses", scope),
    )


def csat_mean(scope: Scope) -> str:
    """Mean CSAT score, net of retractions (group by ``scale``: a 5-point and a 10-point mean
    are not comparable)."""
    responses = increase("ccmon_csat_responses_total", scope)
    return divide(
        net("ccmon_csat_score", scope, responses), net_count("ccmon_csat_responses", scope)
    )


def nps(scope: Scope, prefix: str = QUEUE_PREFIX) -> str:
    """% promoters - % detractors among NPS answers, net of retractions, -100..100."""
    responses = increase(f"{prefix}nps_responses_total", scope)
    promoters = net(f"{prefix}nps_promoters", scope, responses)
    detractors = net(f"{prefix}nps_detractors", scope, responses)
    return (
        f"100 * {divide(f'{promoters} - {detractors}', net_count(f'{prefix}nps_responses', scope))}"
    )


def fcr(scope: Scope, prefix: str = QUEUE_PREFIX) -> str:
    """Issues resolved at first contact and not withdrawn / issues, with retractions, 0-1.

    ``X_total - X_retracted_total`` is exact (docs/metrics.md): late contacts can turn an
    earlier issue into a repeat.
    """
    issues = increase(f"{prefix}fcr_issues_total", scope)

    def total(name: str) -> str:
        return zero_fill(increase(f"{prefix}fcr_{name}_total", scope), issues, scope.by)

    def taken(name: str) -> str:
        return shared.retracted(
            f"{prefix}fcr_{name}", scope.window, issues, scope.by, scope.matchers
        )

    credited = (
        f"{total('resolved_first')} - {taken('resolved_first')}"
        f" - {total('withdrawn')} + {taken('withdrawn')}"
    )
    return divide(credited, net_count(f"{prefix}fcr_issues", scope))


def volume(metric: str, scope: Scope) -> str:
    """Contacts counted by ``metric`` in the window."""
    return increase(metric, scope)


def hourly(metric: str, scope: Scope) -> str:
    """Contacts counted by ``metric`` per hour, averaged over the window."""
    return f"3600 * {rate(metric, scope)}"


def waiting_now(scope: Scope) -> str:
    """Contacts waiting now; 0 for a queue that has contacts but nobody waiting.

    The live gauges have a series only for queues with someone waiting, so the queues known
    from ``ccmon_offered_total`` are zero-filled (a blank tile would read as "worker down").
    """
    known = f"{scope.sum} (ccmon_offered_total{scope.selector})"
    return zero_fill(f"{scope.sum} (ccmon_queue_waiting_contacts{scope.selector})", known, scope.by)


def longest_wait_now(scope: Scope) -> str:
    """Longest current wait in seconds (the longest over workers); 0 when nobody waits."""
    known = f"{scope.sum} (ccmon_offered_total{scope.selector})"
    agg = f"max by ({', '.join(scope.by)})" if scope.by else "max"
    return zero_fill(f"{agg} (ccmon_queue_longest_wait_seconds{scope.selector})", known, scope.by)


def wait_quantile(q: float, outcome: str, scope: Scope) -> str:
    """The ``q`` quantile of the waits ending in ``outcome`` (answered, abandoned)."""
    matchers = ", ".join(m for m in (scope.matchers, f'outcome="{outcome}"') if m)
    by = ", ".join((*scope.by, "le"))
    return (
        f"histogram_quantile({q}, sum by ({by}) "
        f"(rate(ccmon_wait_seconds_bucket{{{matchers}}}[{scope.window}])))"
    )
