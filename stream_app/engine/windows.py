"""Windows and dimensions: what the engine keeps, and which kept windows a query means.

The one place that names them. The engine keeps, for every dimension a contribution belongs to,
its local day (``timezone``/``day_reset``, per queue), the tumbling intervals of
``INTERVAL_MS`` and 1-minute buckets (summed into the trailing windows of ``TRAILING_MINUTES``).
Adding, say, a 30-minute interval is one entry in ``INTERVAL_MS``: the engine then keeps it,
prunes it at the horizon and the API answers ``window=30m&start=...``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from stream_app.kpi.formulas import (
    KpiParams,
    ParamsBook,
    day_start_ms,
    local_instant_ms,
    next_day_start_ms,
    parse_reset,
    tumbling_start_ms,
)

DAY = "day"
"""The local day (24 h, or 23/25 across DST), starting at the queue's ``day_reset``."""
BUCKET = "1m"
BUCKET_MS = 60_000
"""Minute buckets: the trailing windows are sums of them."""
INTERVAL_MS: Mapping[str, int] = {"15m": 900_000}
"""Tumbling intervals kept per dimension, addressable with ``start=`` (the interval report)."""
TRAILING_MINUTES: Mapping[str, int] = {"15m": 15, "1h": 60}
"""Trailing windows up to now, from minute buckets (the wallboard's "last 15 min")."""
SPAN_MS: Mapping[str, int] = {DAY: 25 * 3_600_000, **INTERVAL_MS, BUCKET: BUCKET_MS}
"""The longest possible length of each kept kind (a local day is up to 25 h across DST)."""
TUMBLING_MS: tuple[tuple[str, int], ...] = (*INTERVAL_MS.items(), (BUCKET, BUCKET_MS))
"""Every kept kind but the day, with its length: where ``Expander`` puts a contribution."""

QUERY_WINDOWS: tuple[str, ...] = ("today", *dict.fromkeys([*TRAILING_MINUTES, *INTERVAL_MS]))
QUERY_WINDOWS += (DAY, "month")
"""``window=`` values of the API: today, trailing/interval ones, a given day, a CRR month."""

UNKNOWN = "(unknown)"
"""Dimension value of a missing team, or an agent not known (yet)."""
DIM_KINDS = ("all", "queue", "channel", "agent", "team")
FILTERS = ("queue", "team", "agent", "channel")
"""Dimensions a query may filter on (one at a time)."""

WindowKey = tuple[str, int, str, str]
"""(window_kind, window_start_ms, dim_kind, dim_value)."""
Facts = dict[WindowKey, dict[str, int]]
Amounts = tuple[tuple[str, int], ...]
Contribution = tuple[int, tuple[str, str, str | None, str | None], Amounts, bool]
"""One contribution before it is spread over windows and dimensions:
``(ts_ms, (queue, channel, agent, team), ((counter, amount), ...), with_agent)``.

A state's facts are the expansion of its contributions, and expanding is linear, so when an
event changes a state only the contributions that differ need to touch the counters."""


def dimension_pairs(
    queue: str, channel: str, agent: str | None, team: str | None, with_agent: bool
) -> tuple[tuple[str, str], ...]:
    """The (dim_kind, dim_value) a contribution counts under; agents and teams only when the
    counter has that breakdown (the spec gives offered, abandons and service level none)."""
    if with_agent and agent is not None:
        return (
            ("all", "all"),
            ("queue", queue),
            ("channel", channel),
            ("agent", agent),
            ("team", team or UNKNOWN),
        )
    return (("all", "all"), ("queue", queue), ("channel", channel))


class DayStarts:
    """``day_start_ms`` for one timezone and reset, remembering the days it has seen.

    Exact, not approximate: every instant from a day's start (inclusive) to the next day's start
    (exclusive) has that start, so a hit is the very value ``day_start_ms`` would compute. Days
    are indexed by the UTC day numbers they overlap (a local day of 23 to 25 hours overlaps at
    most three).
    """

    __slots__ = ("_days", "reset", "timezone")

    def __init__(self, timezone: str, reset: str) -> None:
        self.timezone = timezone
        self.reset = reset
        self._days: dict[int, list[tuple[int, int]]] = {}

    def __call__(self, ts_ms: int) -> int:
        for start, end in self._days.get(ts_ms // 86_400_000, ()):
            if start <= ts_ms < end:
                return start
        start = day_start_ms(ts_ms, self.timezone, self.reset)
        end = next_day_start_ms(ts_ms, self.timezone, self.reset)
        if len(self._days) > 4096:  # years of days: a bound, never reached in practice
            self._days.clear()
        for utc_day in range(start // 86_400_000, (end - 1) // 86_400_000 + 1):
            self._days.setdefault(utc_day, []).append((start, end))
        return start


class Expander:
    """Spreads contributions over every kept window kind and dimension (cached day starts)."""

    def __init__(self, book: ParamsBook) -> None:
        self.book = book
        self._default_day = DayStarts(book.default.timezone, book.default.day_reset)
        self._queue_day: dict[str, DayStarts] = {}
        for queue, params in book.queues.items():
            same = (params.timezone, params.day_reset) == (
                book.default.timezone,
                book.default.day_reset,
            )
            self._queue_day[queue] = (
                self._default_day if same else DayStarts(params.timezone, params.day_reset)
            )

    def expand(self, contributions: Iterable[Contribution], into: Facts | None = None) -> Facts:
        """The facts of ``contributions`` (added to ``into`` when given)."""
        facts: Facts = {} if into is None else into
        default_day = self._default_day
        queue_day = self._queue_day
        for ts_ms, (queue, channel, agent, team), amounts, with_agent in contributions:
            day = default_day(ts_ms)
            own = queue_day.get(queue)
            queue_start = day if own is None or own is default_day else own(ts_ms)
            pairs = dimension_pairs(queue, channel, agent, team, with_agent)
            starts = [(DAY, day)]
            for kind, size in TUMBLING_MS:
                starts.append((kind, ts_ms - ts_ms % size))
            for kind, start in starts:
                for dim_kind, dim_value in pairs:
                    # A queue with its own timezone/reset has its own "today", for the queue
                    # pair only: channel, agent, team and "all" span queues (the deployment's).
                    at = queue_start if kind == DAY and dim_kind == "queue" else start
                    key = (kind, at, dim_kind, dim_value)
                    bucket = facts.get(key)
                    if bucket is None:
                        facts[key] = dict(amounts)
                    else:
                        for name, amount in amounts:
                            bucket[name] = bucket.get(name, 0) + amount
        return facts


def kept_from(oldest_clock_ms: int, horizon_ms: int) -> dict[str, int]:
    """Per kept kind, the earliest window start still inside the horizon behind the clock."""
    cutoff = oldest_clock_ms - horizon_ms
    return {kind: cutoff - span for kind, span in SPAN_MS.items()}


# -- queries ---------------------------------------------------------------------------------


class BadQuery(ValueError):
    """A query the API cannot answer; the message is returned with HTTP 400."""


@dataclass(frozen=True)
class WindowSpec:
    """The window a query asked for, resolved to kept windows."""

    name: str
    kind: str
    """Kept kind holding it: ``DAY``, an ``INTERVAL_MS`` key, ``BUCKET``, or ``month``."""
    start_ms: int
    end_ms: int
    bucket_starts: tuple[int, ...]
    trailing: bool


def iso(ms: int, tz: str = "UTC") -> str:
    """An instant as RFC 3339 in ``tz`` (UTC as ``Z``)."""
    text = datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).isoformat()
    return text.replace("+00:00", "Z")


def _parse_instant(text: str) -> int:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"start: {text!r} is not an RFC 3339 time") from None
    if parsed.tzinfo is None:
        raise BadQuery(f"start: {text!r} needs an offset, e.g. Z")
    return int(parsed.timestamp() * 1000)


def resolve_window(query: Mapping[str, str], params: KpiParams, now_ms: int) -> WindowSpec:
    """Turn ``window=...`` (+ ``start``/``date``) into kept windows."""
    name = query.get("window", "today")
    if name not in QUERY_WINDOWS:
        raise BadQuery(f"window: {name!r} is not one of {', '.join(QUERY_WINDOWS)}")
    if name == "today":
        start = day_start_ms(now_ms, params.timezone, params.day_reset)
        end = next_day_start_ms(now_ms, params.timezone, params.day_reset)
        return WindowSpec(name, DAY, start, end, (start,), trailing=False)
    if name == DAY:
        start = _day_start(query.get("date"), params)
        end = next_day_start_ms(start, params.timezone, params.day_reset)
        return WindowSpec(name, DAY, start, end, (start,), trailing=False)
    if name == "month":
        return WindowSpec(name, "month", 0, 0, (), trailing=False)
    if "start" in query or name not in TRAILING_MINUTES:
        return _interval(name, query.get("start"))
    # Trailing: the last N whole-or-running minutes up to now, from minute buckets.
    current = tumbling_start_ms(now_ms, BUCKET_MS / 1000)
    minutes = TRAILING_MINUTES[name]
    starts = tuple(current - i * BUCKET_MS for i in range(minutes - 1, -1, -1))
    return WindowSpec(name, BUCKET, starts[0], current + BUCKET_MS, starts, trailing=True)


def _day_start(text: str | None, params: KpiParams) -> int:
    if not text:
        raise BadQuery("window=day needs date=YYYY-MM-DD")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"date: {text!r} is not YYYY-MM-DD") from None
    return local_instant_ms(day, parse_reset(params.day_reset), params.timezone)


def _interval(name: str, start_text: str | None) -> WindowSpec:
    """One kept tumbling interval, addressed by its start."""
    if name not in INTERVAL_MS:
        kinds = " or ".join(f"window={kind}" for kind in INTERVAL_MS)
        raise BadQuery(f"start= addresses the kept intervals: use {kinds}")
    size = INTERVAL_MS[name]
    if start_text is None:
        raise BadQuery(f"window={name} needs start= (an interval's start, RFC 3339)")
    start = _parse_instant(start_text)
    if start != tumbling_start_ms(start, size / 1000):
        raise BadQuery(f"start: {start_text} is not on a {size // 60_000}-minute boundary")
    return WindowSpec(name, name, start, start + size, (start,), trailing=False)
