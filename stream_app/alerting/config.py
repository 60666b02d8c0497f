"""Load and validate ``deploy/kpi-targets.yaml``, the one file of KPI targets and thresholds.

The file has per-queue values (targets, floors, factors, minimum volumes), which a queue may
override, and timing values (windows, ``for``), which shape the PromQL and so are the same for
every queue. :data:`PER_QUEUE` is the schema of the first kind: each entry becomes a threshold
series that alert expressions look up per queue. Any mistake stops with one line naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stream_app.errors import UserError

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
"""The source checkout (``deploy/``, ``grafana/`` and ``docs/`` live here)."""

CONFIG_PATH = REPO_ROOT / "deploy" / "kpi-targets.yaml"
"""The default configuration file."""

_DURATION = re.compile(r"^([0-9]+)(s|m|h|d)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.:/ -]{1,128}$")


class ConfigError(UserError):
    """``deploy/kpi-targets.yaml`` is missing, malformed or out of range (one line)."""


@dataclass(frozen=True)
class Threshold:
    """One per-queue value of the configuration and the series it becomes.

    ``unit`` is the last part of the series name (``ratio``, ``factor``, ``count``, ``score``,
    ``seconds``); ``low``/``high`` bound the value; ``integer`` demands a whole number.
    """

    kpi: str
    key: str
    unit: str
    low: float
    high: float
    integer: bool = False

    def metric(self, level: str) -> str:
        """The recording rule name at ``level`` (``default`` or ``queue``)."""
        return f"{level}:ccmon_{self.kpi}_{self.key}:{self.unit}"

    @property
    def default_metric(self) -> str:
        """The series holding the default (no labels)."""
        return self.metric("default")

    @property
    def queue_metric(self) -> str:
        """The series holding the per-queue overrides (label ``queue``)."""
        return self.metric("queue")


_RATIO = (0.0, 1.0)
_COUNT = (0.0, 1e9)

PER_QUEUE: tuple[Threshold, ...] = (
    Threshold("service_level", "target", "ratio", *_RATIO),
    Threshold("service_level", "warning_floor", "ratio", *_RATIO),
    Threshold("service_level", "critical_floor", "ratio", *_RATIO),
    Threshold("service_level", "min_contacts", "count", *_COUNT, integer=True),
    Threshold("abandonment", "target", "ratio", *_RATIO),
    Threshold("abandonment", "spike_factor", "factor", 1.0, 100.0),
    Threshold("abandonment", "spike_floor", "ratio", *_RATIO),
    Threshold("abandonment", "spike_min_contacts", "count", *_COUNT, integer=True),
    Threshold("csat", "target", "ratio", *_RATIO),
    Threshold("csat", "floor", "ratio", *_RATIO),
    Threshold("csat", "min_responses", "count", *_COUNT, integer=True),
    Threshold("nps", "target", "score", -100.0, 100.0),
    Threshold("nps", "floor", "score", -100.0, 100.0),
    Threshold("nps", "min_responses", "count", *_COUNT, integer=True),
    Threshold("asa", "target", "seconds", 0.0, 86400.0),
    Threshold("aht", "target", "seconds", 0.0, 86400.0),
    Threshold("fcr", "target", "ratio", *_RATIO),
)
"""Every per-queue value, in the order the threshold series are rendered."""

TIMING: dict[str, tuple[str, ...]] = {
    "service_level": ("window", "for"),
    "abandonment": ("short_window", "baseline_window", "for"),
    "csat": ("window", "for"),
    "nps": ("window", "for"),
    "asa": (),
    "aht": (),
    "fcr": (),
}
"""Timing keys per KPI: the same for every queue (they are part of the PromQL)."""

_WINDOW_KEYS = ("window", "short_window", "baseline_window")

PIPELINE_KEYS: dict[str, tuple[str, ...]] = {
    "worker_down": ("for",),
    "stalled": ("window", "for"),
    "dead_letter": ("ratio", "min_rejected", "window", "for"),
    "processing_lag": ("seconds", "for"),
}


def threshold(kpi: str, key: str) -> Threshold:
    """The schema entry of ``kpis.<kpi>.<key>``."""
    for entry in PER_QUEUE:
        if entry.kpi == kpi and entry.key == key:
            return entry
    raise KeyError(f"{kpi}.{key}")


def duration_seconds(value: str) -> int:
    """Seconds of a Prometheus duration such as ``5m`` (only s, m, h and d are accepted)."""
    match = _DURATION.match(value)
    if not match:
        raise ValueError(value)
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True)
class PipelineConfig:
    """Worker-level thresholds (``pipeline:``)."""

    job: str
    worker_down_for: str
    stalled_window: str
    stalled_for: str
    dead_letter_ratio: float
    dead_letter_min_rejected: int
    dead_letter_window: str
    dead_letter_for: str
    processing_lag_seconds: float
    processing_lag_for: str


@dataclass(frozen=True)
class KpiTargets:
    """The validated configuration."""

    windows: tuple[str, ...]
    defaults: Mapping[Threshold, float]
    overrides: Mapping[str, Mapping[Threshold, float]]
    timing: Mapping[tuple[str, str], str]
    pipeline: PipelineConfig

    def value(self, kpi: str, key: str, queue: str | None = None) -> float:
        """The value of ``kpis.<kpi>.<key>`` for ``queue`` (its override, else the default)."""
        entry = threshold(kpi, key)
        if queue is not None and entry in self.overrides.get(queue, {}):
            return self.overrides[queue][entry]
        return self.defaults[entry]

    def time(self, kpi: str, key: str) -> str:
        """A timing value (``window``, ``for``...) of ``kpis.<kpi>``."""
        return self.timing[(kpi, key)]


def _fail(where: str, problem: str) -> ConfigError:
    return ConfigError(f"{where}: {problem}")


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"must be a mapping, got {type(value).__name__}")
    return value


def _only(section: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(section) - set(allowed))
    if unknown:
        raise _fail(where, f"unknown key(s) {', '.join(map(str, unknown))}; allowed: {allowed}")


def _duration(value: object, where: str) -> str:
    if not isinstance(value, str) or not _DURATION.match(value) or duration_seconds(value) == 0:
        raise _fail(where, f"must be a duration such as 5m or 1h, got {value!r}")
    return value


def _number(entry: Threshold, value: object, where: str) -> float:
    # bool is an int subclass: `true` is a typo, never a threshold.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"must be a number, got {value!r}")
    if entry.integer and not float(value).is_integer():
        raise _fail(where, f"must be a whole number, got {value!r}")
    if not entry.low <= value <= entry.high:
        raise _fail(where, f"must be between {entry.low:g} and {entry.high:g}, got {value!r}")
    return float(value)


def _check_order(config: KpiTargets, queue: str | None) -> None:
    """Floors below targets, for the defaults and for every overridden queue."""
    where = f"queues.{queue}" if queue else "kpis"
    sl = [config.value("service_level", k, queue) for k in ("critical_floor", "warning_floor")]
    sl.append(config.value("service_level", "target", queue))
    if not sl[0] <= sl[1] <= sl[2]:
        raise _fail(
            f"{where}.service_level",
            f"needs critical_floor <= warning_floor <= target, got {sl[0]:g}, {sl[1]:g}, {sl[2]:g}",
        )
    for kpi in ("csat", "nps"):
        floor, target = (config.value(kpi, k, queue) for k in ("floor", "target"))
        if floor > target:
            raise _fail(f"{where}.{kpi}", f"floor {floor:g} is above target {target:g}")


def parse(document: object) -> KpiTargets:
    """Validate a loaded YAML document; raises :class:`ConfigError` on the first problem."""
    top = _mapping(document, "top level")
    _only(top, ("windows", "kpis", "queues", "pipeline"), "top level")
    windows = _parse_windows(top.get("windows"))
    defaults, timing = _parse_kpis(_mapping(top.get("kpis"), "kpis"), windows)
    overrides = _parse_queues(_mapping(top.get("queues") or {}, "queues"))
    config = KpiTargets(
        windows=windows,
        defaults=defaults,
        overrides=overrides,
        timing=timing,
        pipeline=_parse_pipeline(_mapping(top.get("pipeline"), "pipeline")),
    )
    _check_order(config, None)
    for queue in overrides:
        _check_order(config, queue)
    return config


def _parse_windows(raw_windows: object) -> tuple[str, ...]:
    if not isinstance(raw_windows, list) or not raw_windows:
        raise _fail("windows", "must be a non-empty list of durations")
    windows = tuple(_duration(w, f"windows[{i}]") for i, w in enumerate(raw_windows))
    if len(set(windows)) != len(windows):
        raise _fail("windows", f"repeats a window: {list(windows)}")
    return windows


def _parse_kpis(
    kpis: Mapping[str, Any], windows: tuple[str, ...]
) -> tuple[dict[Threshold, float], dict[tuple[str, str], str]]:
    """The default thresholds and the alert timing (windows, ``for``) of every KPI."""
    _only(kpis, tuple(TIMING), "kpis")
    defaults: dict[Threshold, float] = {}
    timing: dict[tuple[str, str], str] = {}
    for kpi, timing_keys in TIMING.items():
        section = _mapping(kpis.get(kpi), f"kpis.{kpi}")
        keys = tuple(e.key for e in PER_QUEUE if e.kpi == kpi)
        _only(section, keys + timing_keys, f"kpis.{kpi}")
        for key in keys + timing_keys:
            if key not in section:
                raise _fail(f"kpis.{kpi}", f"missing key {key}")
        for entry in (e for e in PER_QUEUE if e.kpi == kpi):
            defaults[entry] = _number(entry, section[entry.key], f"kpis.{kpi}.{entry.key}")
        for key in timing_keys:
            value = _duration(section[key], f"kpis.{kpi}.{key}")
            if key in _WINDOW_KEYS and value not in windows:
                raise _fail(f"kpis.{kpi}.{key}", f"{value} is not one of windows {list(windows)}")
            timing[(kpi, key)] = value
    short, base = (
        timing[("abandonment", "short_window")],
        timing[("abandonment", "baseline_window")],
    )
    if duration_seconds(short) >= duration_seconds(base):
        raise _fail("kpis.abandonment", f"short_window {short} must be shorter than {base}")
    return defaults, timing


def _parse_queues(queues: Mapping[str, Any]) -> dict[str, dict[Threshold, float]]:
    """Per-queue threshold overrides (windows and ``for`` are not per queue)."""
    overrides: dict[str, dict[Threshold, float]] = {}
    for queue, raw in sorted(queues.items()):
        if not isinstance(queue, str) or not _LABEL_VALUE.match(queue):
            raise _fail("queues", f"{queue!r} is not a queue name")
        section = _mapping(raw, f"queues.{queue}")
        _only(section, tuple(TIMING), f"queues.{queue}")
        values: dict[Threshold, float] = {}
        for kpi, sub in sorted(section.items()):
            sub_map = _mapping(sub, f"queues.{queue}.{kpi}")
            keys = tuple(e.key for e in PER_QUEUE if e.kpi == kpi)
            _only(sub_map, keys, f"queues.{queue}.{kpi} (windows and `for` are not per queue)")
            for key, value in sub_map.items():
                entry = threshold(kpi, key)
                values[entry] = _number(entry, value, f"queues.{queue}.{kpi}.{key}")
        overrides[queue] = values
    return overrides


def _parse_pipeline(pipeline_raw: Mapping[str, Any]) -> PipelineConfig:
    """The pipeline alerts' job name, levels and timing."""
    _only(pipeline_raw, ("job", *PIPELINE_KEYS), "pipeline")
    job = pipeline_raw.get("job")
    if not isinstance(job, str) or not _LABEL_VALUE.match(job):
        raise _fail("pipeline.job", f"must be a Prometheus job name, got {job!r}")
    parts: dict[str, dict[str, Any]] = {}
    for name, keys in PIPELINE_KEYS.items():
        section = _mapping(pipeline_raw.get(name), f"pipeline.{name}")
        _only(section, keys, f"pipeline.{name}")
        for key in keys:
            if key not in section:
                raise _fail(f"pipeline.{name}", f"missing key {key}")
        parts[name] = dict(section)
    dl, lag = parts["dead_letter"], parts["processing_lag"]
    return PipelineConfig(
        job=job,
        worker_down_for=_duration(parts["worker_down"]["for"], "pipeline.worker_down.for"),
        stalled_window=_duration(parts["stalled"]["window"], "pipeline.stalled.window"),
        stalled_for=_duration(parts["stalled"]["for"], "pipeline.stalled.for"),
        dead_letter_ratio=_number(
            Threshold("pipeline", "ratio", "ratio", *_RATIO),
            dl["ratio"],
            "pipeline.dead_letter.ratio",
        ),
        dead_letter_min_rejected=int(
            _number(
                Threshold("pipeline", "min_rejected", "count", *_COUNT, integer=True),
                dl["min_rejected"],
                "pipeline.dead_letter.min_rejected",
            )
        ),
        dead_letter_window=_duration(dl["window"], "pipeline.dead_letter.window"),
        dead_letter_for=_duration(dl["for"], "pipeline.dead_letter.for"),
        processing_lag_seconds=_number(
            Threshold("pipeline", "seconds", "seconds", 0.0, 86400.0),
            lag["seconds"],
            "pipeline.processing_lag.seconds",
        ),
        processing_lag_for=_duration(lag["for"], "pipeline.processing_lag.for"),
    )


def load(path: Path = CONFIG_PATH) -> KpiTargets:
    """Read and validate the configuration file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from exc
    try:
        return parse(document)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
