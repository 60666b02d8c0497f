"""Pure KPI arithmetic shared by the stream engine, the JSON API and the wallboard.

Nothing here imports Faust or Kafka and nothing reads a clock: every function takes explicit
values and explicit epoch-millisecond timestamps, so the same code computes a live window, a
replayed one and a unit-test example. The shape follows KPI-SPEC.md section 3:

* per-event rules decide how one event is classified (short abandon, within service level,
  satisfied CSAT answer, NPS class, FCR match); ``stream_app.engine.contributions``, the one
  place an event becomes counts, applies them;
* ``Counters`` holds only numerators and denominators, so counters of any two windows, queues or
  workers can be added (ratios of sums, never sums of ratios);
* the KPI functions turn counters into ratios (0..1, Prometheus base units), seconds or the NPS
  score, and return ``None`` ("no data") whenever the denominator is empty, never 0;
* the time helpers place a timestamp in "today" (with a per-queue reset time), a tumbling
  interval or a calendar month, in any IANA time zone and across DST changes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal, Self
from zoneinfo import ZoneInfo

NpsClass = Literal["promoter", "passive", "detractor"]
KpiName = Literal[
    "service_level", "abandonment", "asa_seconds", "aht_seconds", "csat", "nps", "fcr", "crr"
]
KPI_NAMES: tuple[KpiName, ...] = (
    "service_level",
    "abandonment",
    "asa_seconds",
    "aht_seconds",
    "csat",
    "nps",
    "fcr",
    "crr",
)
# A wallboard colours these green when at or *below* target; every other KPI when at or above.
LOWER_IS_BETTER: frozenset[KpiName] = frozenset({"abandonment", "asa_seconds", "aht_seconds"})

_CSAT_SCALES = (5, 10)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KpiParams:
    """The spec's KPI parameters (section 3), per deployment and overridable per queue.

    Override per queue with ``dataclasses.replace(params, service_level_threshold_s=30)``.
    Invalid values raise ``ValueError`` with a one-line message, so settings can report them.
    """

    service_level_threshold_s: float = 20.0
    """Answered with ``wait_seconds`` <= this counts within service level."""
    short_abandon_threshold_s: float = 0.0
    """Abandons with ``wait_seconds`` strictly below this leave both sides of abandonment and
    service level; 0 counts every abandon, as the seed examples do."""
    csat_satisfied_min_5: int = 4
    """Lowest satisfied score on the 5-point CSAT scale."""
    csat_satisfied_min_10: int = 9
    """Lowest satisfied score on the 10-point CSAT scale."""
    fcr_lookback_s: float = 7 * 86400
    """FCR look-back, inclusive: a handled contact exactly this long after another is a repeat."""
    timezone: str = "UTC"
    """IANA zone that decides where "today" and the CRR calendar month start."""
    day_reset: str = "00:00"
    """Local wall-clock time (HH:MM) at which "today" starts, e.g. "06:00" for a night shift."""

    # Targets: typical industry figures, used for colouring and target lines until a deployment
    # or a queue overrides them. Ratios are 0..1 like every other value in this module.
    target_service_level: float = 0.80
    """The classic 80/20: 80 % of contacts answered within 20 s."""
    target_abandonment: float = 0.05
    """At most 5 % of contacts abandoned."""
    target_asa_seconds: float = 30.0
    """Average speed of answer of 30 s or less."""
    target_aht_seconds: float = 600.0
    """Average handle time of 10 min or less (the seeds' AHT example)."""
    target_csat: float = 0.80
    """80 % satisfied answers."""
    target_nps: float = 30.0
    """An NPS of 30 or more."""
    target_fcr: float = 0.70
    """70 % of issues resolved at the first contact."""
    target_crr: float = 0.90
    """90 % of customers retained over the month."""

    def __post_init__(self) -> None:
        for name in ("service_level_threshold_s", "short_abandon_threshold_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not 1 <= self.csat_satisfied_min_5 <= 5:
            raise ValueError(f"csat_satisfied_min_5 must be 1..5, got {self.csat_satisfied_min_5}")
        if not 1 <= self.csat_satisfied_min_10 <= 10:
            raise ValueError(
                f"csat_satisfied_min_10 must be 1..10, got {self.csat_satisfied_min_10}"
            )
        if not (math.isfinite(self.fcr_lookback_s) and self.fcr_lookback_s > 0):
            raise ValueError(f"fcr_lookback_s must be > 0, got {self.fcr_lookback_s!r}")
        _zone(self.timezone)
        parse_reset(self.day_reset)

    def target(self, kpi: KpiName) -> float:
        """The target of one KPI, by its name in ``KPI_NAMES``."""
        value: float = getattr(self, f"target_{kpi}")
        return value


@dataclass(frozen=True)
class ParamsBook:
    """The deployment's KPI parameters and the queues that override them."""

    default: KpiParams = field(default_factory=KpiParams)
    queues: Mapping[str, KpiParams] = field(default_factory=dict)

    def for_queue(self, queue: str | None) -> KpiParams:
        """The parameters that apply to events of ``queue``."""
        return self.queues.get(queue, self.default) if queue else self.default


def meets_target(kpi: KpiName, value: float | None, params: KpiParams) -> bool | None:
    """Whether a KPI value meets its target; ``None`` when there is no data to judge."""
    if value is None:
        return None
    target = params.target(kpi)
    return value <= target if kpi in LOWER_IS_BETTER else value >= target


# --------------------------------------------------------------------------------------------
# Per-event classification
# --------------------------------------------------------------------------------------------


def is_short_abandon(wait_s: float, params: KpiParams) -> bool:
    """Spec: an abandon is short when its wait is *strictly* below the threshold."""
    return wait_s < params.short_abandon_threshold_s


def within_service_level(wait_s: float, params: KpiParams) -> bool:
    """Spec: service level counts waits *at or below* the threshold."""
    return wait_s <= params.service_level_threshold_s


def csat_satisfied(score: int, scale: int, params: KpiParams) -> bool:
    """Judge one CSAT answer on its own scale (4 of 5, 9 of 10 by default)."""
    if scale == 5:
        return score >= params.csat_satisfied_min_5
    if scale == 10:
        return score >= params.csat_satisfied_min_10
    raise ValueError(f"CSAT scale must be 5 or 10, got {scale!r}")


def nps_class(score: int) -> NpsClass:
    """Promoter (9-10), passive (7-8) or detractor (0-6); NPS accepts 0-10 only."""
    if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 10:
        raise ValueError(f"NPS score must be an integer 0..10, got {score!r}")
    if score >= 9:
        return "promoter"
    if score >= 7:
        return "passive"
    return "detractor"


def fcr_reason_matches(earlier_reason: str | None, reason: str | None) -> bool:
    """Whether a handled contact with ``reason`` can repeat an earlier one.

    A contact with a reason matches only earlier contacts with the same reason; a contact
    without a reason matches any earlier handled contact of the customer.
    """
    return reason is None or earlier_reason == reason


def within_fcr_lookback(earlier_ms: int, later_ms: int, params: KpiParams) -> bool:
    """Whether ``later_ms`` falls in the look-back after ``earlier_ms`` (inclusive both ends)."""
    return 0 <= later_ms - earlier_ms <= params.fcr_lookback_s * 1000


# --------------------------------------------------------------------------------------------
# Counters
# --------------------------------------------------------------------------------------------

_FLOAT_COUNTERS = frozenset({"answered_wait_seconds_sum", "handle_seconds_sum"})


@dataclass(slots=True)
class Counters:
    """Numerators and denominators of every KPI for one window and one dimension value.

    Only sums and counts, so any two ``Counters`` add up (windows, queues, workers). The field
    names are the Prometheus counter names. ``to_dict``/``from_dict`` give a plain dict that
    orjson serializes for a Faust table value.
    """

    offered: int = 0
    answered: int = 0
    answered_wait_seconds_sum: float = 0.0
    answered_within_sl: int = 0
    abandoned: int = 0
    """All abandons, short ones included."""
    abandoned_short: int = 0
    handled: int = 0
    handle_seconds_sum: float = 0.0
    csat_responses: int = 0
    """CSAT answers of both scales, pooled for the CSAT ratio."""
    csat_satisfied: int = 0
    csat_responses_5: int = 0
    csat_score_sum_5: int = 0
    csat_responses_10: int = 0
    csat_score_sum_10: int = 0
    nps_responses: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0
    fcr_issues: int = 0
    fcr_resolved_first: int = 0
    """Issues whose first handled contact resolved them."""
    fcr_withdrawn: int = 0
    """Credited issues that later saw a repeat in the look-back (each withdrawn once)."""

    # -- combining and serializing ------------------------------------------------------------

    def add(self, other: Counters) -> Self:
        """Add ``other`` into ``self`` in place (and return ``self`` for chaining)."""
        for name in COUNTER_NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def merged(self, other: Counters) -> Counters:
        """A new ``Counters`` holding the sum of both; neither input changes."""
        return Counters.from_dict(self.to_dict()).add(other)

    def is_empty(self) -> bool:
        """True when nothing has been counted (a table row that can be dropped)."""
        return all(getattr(self, name) == 0 for name in COUNTER_NAMES)

    def to_dict(self) -> dict[str, int | float]:
        """Every counter by name; plain ints and floats, ready for orjson."""
        return {name: getattr(self, name) for name in COUNTER_NAMES}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Counters:
        """Rebuild from ``to_dict`` output; missing counters are 0, unknown names are an error.

        Missing names read as 0 so a sparse dict (or one written before a counter was added)
        loads; an unknown name means the data belongs to another definition, which must not be
        mixed in silently.
        """
        unknown = set(data) - set(COUNTER_NAMES)
        if unknown:
            raise ValueError(f"unknown counter name(s): {', '.join(sorted(unknown))}")
        counters = cls()
        for name, value in data.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"counter {name} must be a number, got {value!r}")
            if name in _FLOAT_COUNTERS:
                setattr(counters, name, float(value))
            elif isinstance(value, int):
                setattr(counters, name, value)
            elif value.is_integer():
                setattr(counters, name, int(value))
            else:
                raise ValueError(f"counter {name} must be an integer, got {value!r}")
        return counters


COUNTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Counters))


# --------------------------------------------------------------------------------------------
# KPIs from counters
# --------------------------------------------------------------------------------------------


def _ratio(numerator: float, denominator: float) -> float | None:
    # "No data" is None, never 0: an empty quarter-hour must not look like 0 % service level.
    if denominator <= 0:
        return None
    return numerator / denominator


def _left_queue(c: Counters) -> int:
    """Contacts that left the queue, short abandons excluded: the abandonment/SL denominator."""
    return c.answered + c.abandoned - c.abandoned_short


def abandonment_ratio(c: Counters) -> float | None:
    """(abandoned - short) / (answered + abandoned - short), 0..1."""
    return _ratio(c.abandoned - c.abandoned_short, _left_queue(c))


def service_level_ratio(c: Counters) -> float | None:
    """Answered within the threshold / (answered + abandoned - short), 0..1."""
    return _ratio(c.answered_within_sl, _left_queue(c))


def asa_seconds(c: Counters) -> float | None:
    """Average speed of answer: answered wait seconds / answered."""
    return _ratio(c.answered_wait_seconds_sum, c.answered)


def aht_seconds(c: Counters) -> float | None:
    """Average handle time: (talk + hold + wrap) seconds / handled contacts."""
    return _ratio(c.handle_seconds_sum, c.handled)


def csat_ratio(c: Counters) -> float | None:
    """Satisfied CSAT answers / CSAT answers, both scales pooled, 0..1."""
    return _ratio(c.csat_satisfied, c.csat_responses)


def csat_mean(c: Counters, scale: int) -> float | None:
    """Mean CSAT score on one scale (5 or 10); means of different scales never mix."""
    if scale == 5:
        return _ratio(c.csat_score_sum_5, c.csat_responses_5)
    if scale == 10:
        return _ratio(c.csat_score_sum_10, c.csat_responses_10)
    raise ValueError(f"CSAT scale must be 5 or 10, got {scale!r}")


def nps_score(c: Counters) -> float | None:
    """% promoters - % detractors among NPS answers, -100..100 (a score, not a ratio)."""
    return _ratio(100 * (c.nps_promoters - c.nps_detractors), c.nps_responses)


def fcr_ratio(c: Counters) -> float | None:
    """(Issues resolved at the first contact - credits withdrawn by repeats) / issues, 0..1."""
    return _ratio(c.fcr_resolved_first - c.fcr_withdrawn, c.fcr_issues)


def crr_ratio(active_at_start: int, retained: int) -> float | None:
    """Customers active at the period's start and still at its end / active at its start."""
    if not 0 <= retained <= max(active_at_start, 0):
        raise ValueError(
            f"retained must be 0..active_at_start, got {retained} of {active_at_start}"
        )
    return _ratio(retained, active_at_start)


@dataclass(frozen=True, slots=True)
class KpiValues:
    """Every KPI computable from one ``Counters``; ``None`` means no data."""

    service_level: float | None
    abandonment: float | None
    asa_seconds: float | None
    aht_seconds: float | None
    csat: float | None
    csat_mean_5: float | None
    csat_mean_10: float | None
    nps: float | None
    fcr: float | None

    def to_dict(self) -> dict[str, float | None]:
        """Values by name, ``None`` for no data (JSON ``null``)."""
        return asdict(self)


def compute_kpis(counters: Counters, params: KpiParams | None = None) -> KpiValues:
    """All counter-based KPIs of one window and dimension value.

    ``params`` is accepted so callers hand over the queue's parameters in one place; every
    parameter has already been applied when the events were recorded, so none is read here.
    """
    del params  # classification happened per event, in stream_app.engine.contributions
    return KpiValues(
        service_level=service_level_ratio(counters),
        abandonment=abandonment_ratio(counters),
        asa_seconds=asa_seconds(counters),
        aht_seconds=aht_seconds(counters),
        csat=csat_ratio(counters),
        csat_mean_5=csat_mean(counters, 5),
        csat_mean_10=csat_mean(counters, 10),
        nps=nps_score(counters),
        fcr=fcr_ratio(counters),
    )


# --------------------------------------------------------------------------------------------
# Windows and time
# --------------------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def _zone(tz: str | tzinfo) -> tzinfo:
    if isinstance(tz, tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    # ZoneInfoNotFoundError is a KeyError; malformed keys raise ValueError or OSError.
    except (KeyError, ValueError, OSError) as exc:
        raise ValueError(f"unknown time zone {tz!r}") from exc


def _to_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS


def _local(ts_ms: int, zone: tzinfo) -> datetime:
    return (_EPOCH + timedelta(milliseconds=ts_ms)).astimezone(zone)


def _wall(ts_ms: int, zone: tzinfo) -> datetime:
    """The local wall-clock reading at an instant, as a naive datetime."""
    return _local(ts_ms, zone).replace(tzinfo=None)


def parse_reset(reset: str | time) -> time:
    """Parse a day reset time "HH:MM" (or "HH:MM:SS"); ``ValueError`` when malformed."""
    if isinstance(reset, time):
        return reset.replace(tzinfo=None)
    parts = reset.split(":")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) == 2 for p in parts):
        raise ValueError(f"day reset must look like HH:MM, got {reset!r}")
    try:
        hour, minute, second = (int(p) for p in [*parts, "00"][:3])
        return time(hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"day reset must look like HH:MM, got {reset!r}") from exc


def local_instant_ms(day: date, at: time, tz: str | tzinfo) -> int:
    """The first instant at which the local clock in ``tz`` reads ``day`` ``at`` or later.

    For an ordinary time that is simply that wall-clock time. When the clocks go back and the
    time happens twice, it is the first occurrence. When the clocks go forward over it (a DST
    gap), no instant reads exactly that time, so it is the instant of the change, when the
    clock jumps past it.
    """
    zone = _zone(tz)
    wanted = datetime.combine(day, at)
    first = _to_ms(wanted.replace(tzinfo=zone, fold=0))
    if _wall(first, zone) == wanted:
        return first
    # In a gap, fold=0 and fold=1 map the missing time with the offsets before and after the
    # change: one instant before the change, one after. Bisect between them for the change.
    other = _to_ms(wanted.replace(tzinfo=zone, fold=1))
    lo, hi = min(first, other), max(first, other)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(mid, zone) >= wanted:
            hi = mid
        else:
            lo = mid
    return hi


def _business_day(ts_ms: int, zone: tzinfo, at: time) -> tuple[date, int]:
    """The local date whose reset starts the business day containing ``ts_ms``, and its start."""
    day = _local(ts_ms, zone).date()
    start = local_instant_ms(day, at, zone)
    if start > ts_ms:
        day -= timedelta(days=1)
        start = local_instant_ms(day, at, zone)
    return day, start


def day_start_ms(ts_ms: int, tz: str | tzinfo = "UTC", reset: str | time = "00:00") -> int:
    """Start of the local "today" that holds ``ts_ms``: the latest reset at or before it.

    With ``reset="06:00"`` an event at 05:59 local belongs to the previous day. A day is 23 or
    25 hours long on DST change days; see ``local_instant_ms`` for a reset inside a DST gap.
    """
    return _business_day(ts_ms, _zone(tz), parse_reset(reset))[1]


def next_day_start_ms(ts_ms: int, tz: str | tzinfo = "UTC", reset: str | time = "00:00") -> int:
    """End (exclusive) of the local "today" that holds ``ts_ms``: the next reset after it."""
    zone = _zone(tz)
    at = parse_reset(reset)
    day, _ = _business_day(ts_ms, zone, at)
    return local_instant_ms(day + timedelta(days=1), at, zone)


def tumbling_start_ms(ts_ms: int, size_s: float) -> int:
    """Start of the tumbling interval of ``size_s`` seconds holding ``ts_ms`` (epoch-aligned).

    Aligned to the Unix epoch, so 15-minute intervals start on UTC quarter hours, which are
    also local quarter hours in every zone in use today.
    """
    size_ms = round(size_s * 1000)
    if size_ms <= 0:
        raise ValueError(f"window size must be positive, got {size_s!r} s")
    return ts_ms - ts_ms % size_ms


def month_start_ms(ts_ms: int, tz: str | tzinfo = "UTC") -> int:
    """Start of the calendar month (in ``tz``) holding ``ts_ms``: the CRR retention period."""
    zone = _zone(tz)
    local = _local(ts_ms, zone)
    return local_instant_ms(date(local.year, local.month, 1), time(0, 0), zone)


def next_month_start_ms(ts_ms: int, tz: str | tzinfo = "UTC") -> int:
    """End (exclusive) of the calendar month (in ``tz``) holding ``ts_ms``."""
    zone = _zone(tz)
    local = _local(ts_ms, zone)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return local_instant_ms(date(year, month, 1), time(0, 0), zone)
