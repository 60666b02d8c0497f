"""What each contact and each customer contributes to the KPI counters, as a pure function.

The engine keeps one state per contact (keyed by ``contact_id``) and one per customer (keyed by
``customer_id``) in changelogged tables. The counters are never stored: they are the sum of
``facts(state)`` over all states, so

- an event replayed after a crash changes nothing (its ``event_id`` is already in the state),
- arrival order does not matter (facts are recomputed from the whole state, sorted by event
  time: a survey before its contact's resolution, a repeat contact before the first one),
- after a restart or rebalance the counters are rebuilt exactly from the recovered states.

A fact is ``(window_kind, window_start_ms, dim_kind, dim_value) -> {counter: amount}``. Durations
are integer milliseconds in states and facts (``*_seconds_sum`` counters hold ms until the view
converts them), so adding and later subtracting a contribution is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from stream_app.kpi.formulas import (
    KpiParams,
    csat_satisfied,
    day_start_ms,
    fcr_reason_matches,
    is_short_abandon,
    next_day_start_ms,
    nps_class,
    within_fcr_lookback,
    within_service_level,
)

UNKNOWN = "(unknown)"
"""Dimension value of a missing team, or an agent not known (yet)."""

WINDOW_KINDS = ("day", "15m", "1m")
"""Kept windows: local day (``timezone``/``day_reset``), 15-min tumbling, 1-min buckets (for the
trailing 15 min and 1 h)."""

WindowKey = tuple[str, int, str, str]
"""(window_kind, window_start_ms, dim_kind, dim_value)."""
Facts = dict[WindowKey, dict[str, int]]
State = dict[str, Any]
"""A contact's or customer's state: plain JSON-able dicts and lists (stored with orjson)."""


@dataclass(frozen=True, slots=True)
class Dims:
    """Where an event belongs; ``agent``/``team`` None means no agent/team breakdown."""

    queue: str
    channel: str
    agent: str | None = None
    team: str | None = None

    def pairs(self, with_agent: bool) -> Iterator[tuple[str, str]]:
        yield "all", "all"
        yield "queue", self.queue
        yield "channel", self.channel
        if with_agent and self.agent is not None:
            yield "agent", self.agent
            yield "team", self.team or UNKNOWN


@dataclass(frozen=True)
class ParamsBook:
    """The deployment's KPI parameters and the queues that override them."""

    default: KpiParams = field(default_factory=KpiParams)
    queues: Mapping[str, KpiParams] = field(default_factory=dict)

    def for_queue(self, queue: str | None) -> KpiParams:
        """The parameters that apply to events of ``queue``."""
        return self.queues.get(queue, self.default) if queue else self.default


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


Amounts = tuple[tuple[str, int], ...]
Contribution = tuple[int, tuple[str, str, str | None, str | None], Amounts, bool]
"""One contribution before it is spread over windows and dimensions:
``(ts_ms, (queue, channel, agent, team), ((counter, amount), ...), with_agent)``.

A state's facts are the expansion of its contributions, and expanding is linear, so when an
event changes a state only the contributions that differ need to touch the counters."""


class FactSink:
    """Collects contributions; ``facts`` expands them to every window and dimension."""

    def __init__(self, book: ParamsBook) -> None:
        self.book = book
        self.items: list[Contribution] = []

    def add(self, ts_ms: int, dims: Dims, amounts: Mapping[str, int], with_agent: bool) -> None:
        self.items.append(
            (
                ts_ms,
                (dims.queue, dims.channel, dims.agent, dims.team),
                tuple(amounts.items()),
                with_agent,
            )
        )

    @property
    def facts(self) -> Facts:
        return Expander(self.book).expand(self.items)


class Expander:
    """Spreads contributions over every window kind and dimension (with cached day starts)."""

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
            if with_agent and agent is not None:
                pairs: tuple[tuple[str, str], ...] = (
                    ("all", "all"),
                    ("queue", queue),
                    ("channel", channel),
                    ("agent", agent),
                    ("team", team or UNKNOWN),
                )
            else:
                pairs = (("all", "all"), ("queue", queue), ("channel", channel))
            # A queue with its own timezone/reset has its own "today", for the queue pair only:
            # channel, agent, team and "all" span queues, so their day is the deployment's.
            for kind, start in (
                ("day", day),
                ("15m", ts_ms - ts_ms % 900_000),
                ("1m", ts_ms - ts_ms % 60_000),
            ):
                for dim_kind, dim_value in pairs:
                    bucket_start = queue_start if kind == "day" and dim_kind == "queue" else start
                    key = (kind, bucket_start, dim_kind, dim_value)
                    bucket = facts.get(key)
                    if bucket is None:
                        facts[key] = dict(amounts)
                    else:
                        for name, amount in amounts:
                            bucket[name] = bucket.get(name, 0) + amount
        return facts


def contribution_delta(
    before: list[Contribution], after: list[Contribution]
) -> tuple[list[Contribution], list[Contribution]]:
    """(removed, added): the multiset difference; what both have needs no counter update."""
    if not before:
        return [], after
    left = Counter(before)
    right = Counter(after)
    removed = list((left - right).elements())
    added = list((right - left).elements())
    return removed, added


def _first_resolved(resolved: list[State]) -> State | None:
    """A contact's first resolved event: earliest occurred_at, ties by arrival."""
    return min(resolved, key=lambda r: r["t"]) if resolved else None


def contact_facts(state: State, book: ParamsBook) -> Facts:
    """Every counter contribution of one contact, spread over windows and dimensions."""
    return Expander(book).expand(contact_contributions(state, book))


def contact_contributions(state: State, book: ParamsBook) -> list[Contribution]:
    """Every counter contribution of one contact (started/answered/abandoned/resolved/surveys)."""
    sink = FactSink(book)
    for s in state.get("started", ()):
        sink.add(s["t"], Dims(s["q"], s["ch"]), {"offered": 1}, with_agent=False)
    for a in state.get("answered", ()):
        dims = Dims(a["q"], a["ch"], a["a"], a.get("tm"))
        wait_ms = a["w"]
        sink.add(a["t"], dims, {"answered": 1, "answered_wait_seconds_sum": wait_ms}, True)
        if within_service_level(wait_ms / 1000, book.for_queue(a["q"])):
            sink.add(a["t"], dims, {"answered_within_sl": 1}, with_agent=False)
    for b in state.get("abandoned", ()):
        amounts = {"abandoned": 1}
        if is_short_abandon(b["w"] / 1000, book.for_queue(b["q"])):
            amounts["abandoned_short"] = 1
        sink.add(b["t"], Dims(b["q"], b["ch"]), amounts, with_agent=False)
    resolved = state.get("resolved", [])
    for r in resolved:
        dims = Dims(r["q"], r["ch"], r["a"], r.get("tm"))
        handle_ms = r["talk"] + r["hold"] + r["wrap"]
        sink.add(r["t"], dims, {"handled": 1, "handle_seconds_sum": handle_ms}, with_agent=True)
    survey_facts(sink, state.get("surveys", ()), state)
    return sink.items


def survey_facts(sink: FactSink, surveys: Iterable[State], contact: State | None) -> None:
    """Surveys count at their own time; each dimension they lack comes from their contact."""
    for v in surveys:
        dims = survey_dims(v, contact)
        sink.add(v["t"], dims, survey_amounts(v, sink.book.for_queue(dims.queue)), True)


def survey_amounts(survey: State, params: KpiParams) -> dict[str, int]:
    score = survey["s"]
    if survey["m"] == "nps":
        kind = nps_class(score)
        return {
            "nps_responses": 1,
            "nps_promoters": int(kind == "promoter"),
            "nps_detractors": int(kind == "detractor"),
        }
    scale = survey.get("sc") or 5
    return {
        "csat_responses": 1,
        "csat_satisfied": int(csat_satisfied(score, scale, params)),
        f"csat_responses_{scale}": 1,
        f"csat_score_sum_{scale}": score,
    }


@dataclass(frozen=True, slots=True)
class Issue:
    """One FCR issue: its first handled contact's time and dimensions, credit and withdrawal."""

    t: int
    dims: Dims
    resolved_first: bool
    withdrawn: bool


def fcr_issues(state: State, book: ParamsBook) -> dict[str, Issue]:
    """A customer's FCR issues by the contact_id of their first handled contact.

    Recomputed from all handled contacts sorted by event time, so a repeat that arrives before
    the first contact's resolution still lands on the right issue.
    """
    handled = sorted(state.get("handled", {}).items(), key=lambda kv: (kv[1]["t"], kv[1]["n"]))
    issue_of: list[int] = []  # index in `handled` of the issue's first contact, per contact
    withdrawn: set[int] = set()
    for i, (_, h) in enumerate(handled):
        match = next(
            (
                j
                for j in range(i - 1, -1, -1)
                if fcr_reason_matches(handled[j][1].get("r"), h.get("r"))
                and within_fcr_lookback(handled[j][1]["t"], h["t"], book.for_queue(h["q"]))
            ),
            None,
        )
        if match is None:
            issue_of.append(i)
            continue
        first = issue_of[match]
        issue_of.append(first)
        first_contact = handled[first][1]
        lookback = book.for_queue(first_contact["q"])
        if first_contact["res"] and within_fcr_lookback(first_contact["t"], h["t"], lookback):
            withdrawn.add(first)
    return {
        contact_id: Issue(
            t=h["t"],
            dims=Dims(h["q"], h["ch"], h["a"], h.get("tm")),
            resolved_first=bool(h["res"]),
            withdrawn=i in withdrawn,
        )
        for i, (contact_id, h) in enumerate(handled)
        if issue_of[i] == i
    }


def customer_facts(state: State, book: ParamsBook) -> Facts:
    """A customer's contributions, spread over windows and dimensions."""
    return Expander(book).expand(customer_contributions(state, book))


def customer_contributions(state: State, book: ParamsBook) -> list[Contribution]:
    """FCR issues, credits and withdrawals of one customer, plus surveys without a contact."""
    sink = FactSink(book)
    for issue in fcr_issues(state, book).values():
        amounts = {
            "fcr_issues": 1,
            "fcr_resolved_first": int(issue.resolved_first),
            "fcr_withdrawn": int(issue.withdrawn),
        }
        sink.add(issue.t, issue.dims, amounts, with_agent=True)
    survey_facts(sink, state.get("surveys", ()), None)
    return sink.items


def survey_dims(survey: State, contact: State | None) -> Dims:
    """A survey's dimensions: its own, else its contact's first resolution, else its start."""
    resolved = _first_resolved(contact.get("resolved", [])) if contact else None
    started = (contact.get("started") or [None])[0] if contact else None
    if resolved is not None:
        queue, channel = resolved["q"], resolved["ch"]
        agent, team = resolved["a"], resolved.get("tm")
    elif started is not None:
        queue, channel, agent, team = started["q"], started["ch"], UNKNOWN, UNKNOWN
    else:
        queue, channel, agent, team = UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN
    return Dims(
        survey.get("q") or queue,
        survey.get("ch") or channel,
        survey.get("a") or agent,
        survey.get("tm") or team,
    )


def status_at(state: State, at_ms: int) -> str | None:
    """A customer's status just before ``at_ms``: the latest status event strictly before it."""
    best: State | None = None
    for s in state.get("status", ()):
        if s["t"] < at_ms and (best is None or s["t"] >= best["t"]):
            best = s
    return None if best is None else str(best["s"])


def crr_contribution(state: State, start_ms: int, end_ms: int) -> tuple[int, int]:
    """(active at the period's start, and still active at its end) for one customer: 0 or 1."""
    if status_at(state, start_ms) != "active":
        return 0, 0
    return 1, int(status_at(state, end_ms) == "active")
