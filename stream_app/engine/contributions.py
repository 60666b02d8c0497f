"""The one place an event becomes counts: what each contact and customer contributes.

The engine keeps one state per contact (keyed by ``contact_id``) and one per customer (keyed by
``customer_id``) in changelogged tables. The counters are never stored: they are the sum of the
contributions of every state, spread over windows and dimensions by ``windows.Expander``, so

- an event replayed after a crash changes nothing (its ``event_id`` is already in the state),
- arrival order does not matter (contributions are recomputed from the whole state, sorted by
  event time: a survey before its contact's resolution, a repeat contact before the first one),
- after a restart or rebalance the counters are rebuilt exactly from the recovered states.

The window view and the Prometheus counters are both fed from the difference of a state's
contributions before and after its events (``contribution_delta``), so they cannot disagree.
Durations are integer milliseconds in states and contributions (``*_seconds_sum`` counters hold
ms until the view or the metrics convert them), so adding and later subtracting one is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stream_app.engine.records import (
    ContactState,
    CustomerState,
    ResolvedRecord,
    StatusRecord,
    SurveyRecord,
)
from stream_app.engine.windows import UNKNOWN, Contribution
from stream_app.kpi.formulas import (
    KpiParams,
    ParamsBook,
    csat_satisfied,
    fcr_reason_matches,
    is_short_abandon,
    nps_class,
    within_fcr_lookback,
    within_service_level,
)

State = Any
"""A decoded state of either stage (``records.ContactState`` or ``records.CustomerState``), where
the engine handles both alike."""


@dataclass(frozen=True, slots=True)
class Dims:
    """Where an event belongs; ``agent``/``team`` None means no agent/team breakdown."""

    queue: str
    channel: str
    agent: str | None = None
    team: str | None = None


class FactSink:
    """Collects a state's contributions (``windows.Expander`` spreads them over windows)."""

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


def _first_resolved(resolved: list[ResolvedRecord]) -> ResolvedRecord | None:
    """A contact's first resolved event: earliest occurred_at, ties by arrival."""
    return min(resolved, key=lambda r: r["t"]) if resolved else None


def contact_contributions(state: ContactState, book: ParamsBook) -> list[Contribution]:
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


def survey_facts(
    sink: FactSink, surveys: Iterable[SurveyRecord], contact: ContactState | None
) -> None:
    """Surveys count at their own time; each dimension they lack comes from their contact."""
    for v in surveys:
        dims = survey_dims(v, contact)
        sink.add(v["t"], dims, survey_amounts(v, sink.book.for_queue(dims.queue)), True)


def survey_amounts(survey: SurveyRecord, params: KpiParams) -> dict[str, int]:
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


def fcr_issues(state: CustomerState, book: ParamsBook) -> dict[str, Issue]:
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


def customer_contributions(state: CustomerState, book: ParamsBook) -> list[Contribution]:
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


def survey_dims(survey: SurveyRecord, contact: ContactState | None) -> Dims:
    """A survey's dimensions: its own, else its contact's first resolution, else its start."""
    resolved = _first_resolved(contact.get("resolved", [])) if contact else None
    starts = contact.get("started") if contact else None
    started = starts[0] if starts else None
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


def status_at(state: CustomerState, at_ms: int) -> str | None:
    """A customer's status just before ``at_ms``: the latest status event strictly before it."""
    best: StatusRecord | None = None
    for s in state.get("status", ()):
        if s["t"] < at_ms and (best is None or s["t"] >= best["t"]):
            best = s
    return None if best is None else str(best["s"])


def crr_contribution(state: CustomerState, start_ms: int, end_ms: int) -> tuple[int, int]:
    """(active at the period's start, and still active at its end) for one customer: 0 or 1."""
    if status_at(state, start_ms) != "active":
        return 0, 0
    return 1, int(status_at(state, end_ms) == "active")
