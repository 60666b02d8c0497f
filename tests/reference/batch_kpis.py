"""Independent batch reference for the KPI counters, re-derived from KPI-SPEC.md alone.

Tests hold the streaming engine to this module, so it shares no code with ``stream_app``: its own
time parsing, its own windows, its own FCR and attribution rules, written as plain loops over a
list that is fully in memory. It trades speed for being easy to check against the spec text.

Input: already-valid events (spec section 2) as dicts, in arrival order, which may differ from
``occurred_at`` order and may repeat an ``event_id`` (the first occurrence in arrival order wins).
The batch sees every event at once, so it models a stream with no lateness cut-off: every event
counts in its own window, and a survey is attributed through its contact whether it arrived
before or after the contact's events.

Output of ``batch_counters``: ``{(window_kind, window_start_iso, dim_kind, dim_value): counters}``
with ``window_kind`` one of ``"all"`` (start ``"all"``), ``"day"`` (local days in ``timezone``)
and ``"15m"`` (UTC quarter hours), ``dim_kind`` one of ``"all"`` (value ``"all"``), ``"queue"``,
``"channel"``, ``"agent"`` and ``"team"``. A row holds only the counters that apply to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

UNKNOWN = "(unknown)"
ALL = "all"

Key = tuple[str, str, str, str]
Row = dict[str, int | float]
Table = dict[Key, Row]
Event = Mapping[str, Any]

# --------------------------------------------------------------------------------------------
# Time
# --------------------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUARTER_MS = 15 * 60 * 1000


def to_ms(occurred_at: object) -> int:
    """Epoch milliseconds of an ``occurred_at`` (RFC 3339 with offset, or integer epoch ms)."""
    if isinstance(occurred_at, bool):
        raise ValueError("occurred_at must not be a boolean")
    if isinstance(occurred_at, int):
        return occurred_at
    if not isinstance(occurred_at, str):
        raise ValueError(f"occurred_at must be a string or an integer: {occurred_at!r}")
    match = _RFC3339.match(occurred_at)
    if match is None:
        raise ValueError(f"not an RFC 3339 time with an offset: {occurred_at!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if offset in ("Z", "z"):
        offset_minutes = 0
    else:
        sign = -1 if offset[0] == "-" else 1
        offset_minutes = sign * (int(offset[1:3]) * 60 + int(offset[4:6]))
    wall = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    # Fractions below a millisecond are cut off, not rounded: the ms the event happened in.
    millis = int((fraction or "0")[:3].ljust(3, "0"))
    utc_wall = wall - timedelta(minutes=offset_minutes)
    seconds = (utc_wall - datetime(1970, 1, 1)) // timedelta(seconds=1)
    return seconds * 1000 + millis


def _utc(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


def quarter_start_iso(ms: int) -> str:
    """ISO start (UTC) of the 15-minute interval holding ``ms``."""
    start = ms - ms % QUARTER_MS
    return _utc(start).isoformat()


def _local_midnight_ms(day: date, zone: ZoneInfo) -> int:
    """First instant whose local date is ``day`` (midnight, or the end of a DST gap over it)."""
    naive = datetime(day.year, day.month, day.day)
    for fold in (0, 1):
        candidate = naive.replace(tzinfo=zone, fold=fold)
        ms = (candidate - _EPOCH) // timedelta(milliseconds=1)
        if _utc(ms).astimezone(zone).replace(tzinfo=None) == naive:
            return ms
    # Midnight does not exist that day: walk a minute at a time from the last instant of the
    # day before until the local date changes (clock changes happen on whole minutes).
    ms = min(
        (naive.replace(tzinfo=zone, fold=f) - _EPOCH) // timedelta(milliseconds=1) for f in (0, 1)
    )
    ms -= ms % 60000
    while _utc(ms).astimezone(zone).date() < day:
        ms += 60000
    return ms


def day_start_iso(ms: int, timezone: str) -> str:
    """ISO start (in ``timezone``) of the local calendar day holding ``ms``."""
    zone = ZoneInfo(timezone)
    day = _utc(ms).astimezone(zone).date()
    return _utc(_local_midnight_ms(day, zone)).astimezone(zone).isoformat()


# --------------------------------------------------------------------------------------------
# Counting
# --------------------------------------------------------------------------------------------


def dedupe(events: Iterable[Event]) -> list[tuple[int, Event]]:
    """Keep the first occurrence of every ``event_id`` in arrival order, with its arrival index."""
    seen: set[str] = set()
    kept: list[tuple[int, Event]] = []
    for index, event in enumerate(events):
        if event["event_id"] in seen:
            continue
        seen.add(event["event_id"])
        kept.append((index, event))
    return kept


def _bump(table: Table, key: Key, counts: Mapping[str, int | float]) -> None:
    row = table.setdefault(key, {})
    for name, amount in counts.items():
        row[name] = row.get(name, 0) + amount


def _bump_everywhere(
    table: Table,
    ms: int,
    timezone: str,
    dims: list[tuple[str, str]],
    counts: Mapping[str, int | float],
) -> None:
    """Add ``counts`` to every window holding ``ms`` under each of ``dims``."""
    windows = [(ALL, ALL), ("day", day_start_iso(ms, timezone)), ("15m", quarter_start_iso(ms))]
    for window_kind, window_start in windows:
        for dim_kind, dim_value in dims:
            _bump(table, (window_kind, window_start, dim_kind, dim_value), counts)


def _earliest(candidates: list[tuple[int, int, Event]]) -> tuple[int, int, Event]:
    """The candidate with the earliest occurred_at; equal times go by arrival order."""
    best = candidates[0]
    for candidate in candidates:
        if (candidate[0], candidate[1]) < (best[0], best[1]):
            best = candidate
    return best


def batch_counters(
    events: Iterable[Event],
    *,
    service_level_threshold_s: float = 20.0,
    short_abandon_threshold_s: float = 0.0,
    csat_satisfied_min_5: int = 4,
    csat_satisfied_min_10: int = 9,
    fcr_lookback_s: float = 7 * 86400,
    timezone: str = "UTC",
) -> Table:
    """Every counter of every window and dimension value, from a batch of events."""
    kept = dedupe(events)
    table: Table = {}

    # Each contact's started events and resolved events, for survey attribution and FCR.
    started_of: dict[str, list[tuple[int, int, Event]]] = {}
    resolved_of: dict[str, list[tuple[int, int, Event]]] = {}
    for index, event in kept:
        ms = to_ms(event["occurred_at"])
        if event["type"] == "contact.started":
            started_of.setdefault(event["contact_id"], []).append((ms, index, event))
        elif event["type"] == "contact.resolved":
            resolved_of.setdefault(event["contact_id"], []).append((ms, index, event))
    # "First" means earliest occurred_at; equal times go by arrival order.
    first_started = {cid: _earliest(found)[2] for cid, found in started_of.items()}
    first_resolved = {cid: _earliest(found)[2] for cid, found in resolved_of.items()}
    first_resolved_at = [_earliest(found) for found in resolved_of.values()]

    for _index, event in kept:
        ms = to_ms(event["occurred_at"])
        kind = event["type"]
        if kind == "contact.started":
            dims = [(ALL, ALL), ("queue", event["queue"]), ("channel", event["channel"])]
            _bump_everywhere(table, ms, timezone, dims, {"offered": 1})
        elif kind == "contact.answered":
            wait = float(event["wait_seconds"])
            queue_dims = [(ALL, ALL), ("queue", event["queue"]), ("channel", event["channel"])]
            in_sl = 1 if wait <= service_level_threshold_s else 0
            _bump_everywhere(
                table,
                ms,
                timezone,
                queue_dims,
                {"answered": 1, "answered_wait_seconds_sum": wait, "answered_within_sl": in_sl},
            )
            # Service level has no agent/team breakdown; answered (and its wait sum) has.
            team = event.get("team") or UNKNOWN
            people_dims = [("agent", event["agent_id"]), ("team", team)]
            _bump_everywhere(
                table,
                ms,
                timezone,
                people_dims,
                {"answered": 1, "answered_wait_seconds_sum": wait},
            )
        elif kind == "contact.abandoned":
            wait = float(event["wait_seconds"])
            short = 1 if wait < short_abandon_threshold_s else 0
            dims = [(ALL, ALL), ("queue", event["queue"]), ("channel", event["channel"])]
            _bump_everywhere(table, ms, timezone, dims, {"abandoned": 1, "abandoned_short": short})
        elif kind == "contact.resolved":
            seconds = (
                float(event["talk_seconds"])
                + float(event["hold_seconds"])
                + float(event["wrap_seconds"])
            )
            _bump_everywhere(
                table,
                ms,
                timezone,
                _contact_dims(event),
                {"handled": 1, "handle_seconds_sum": seconds},
            )
        elif kind == "survey.submitted":
            dims = _survey_dims(event, first_started, first_resolved)
            score = event["score"]
            if event["metric"] == "csat":
                scale = event.get("scale") or 5
                minimum = csat_satisfied_min_5 if scale == 5 else csat_satisfied_min_10
                counts: dict[str, int | float] = {
                    "csat_responses": 1,
                    "csat_satisfied": 1 if score >= minimum else 0,
                    f"csat_responses_{scale}": 1,
                    f"csat_score_sum_{scale}": score,
                }
            else:
                counts = {
                    "nps_responses": 1,
                    "nps_promoters": 1 if score >= 9 else 0,
                    "nps_detractors": 1 if score <= 6 else 0,
                }
            _bump_everywhere(table, ms, timezone, dims, counts)
        # customer.status feeds CRR only (see ``crr``).

    _count_fcr(table, first_resolved_at, fcr_lookback_s, timezone)
    return table


def _contact_dims(resolved: Event) -> list[tuple[str, str]]:
    return [
        (ALL, ALL),
        ("queue", resolved["queue"]),
        ("channel", resolved["channel"]),
        ("agent", resolved["agent_id"]),
        ("team", resolved.get("team") or UNKNOWN),
    ]


def _survey_dims(
    survey: Event, first_started: dict[str, Event], first_resolved: dict[str, Event]
) -> list[tuple[str, str]]:
    """Each dimension the survey lacks, from its contact's resolved event, else started event."""
    contact_id = survey.get("contact_id")
    resolved = first_resolved.get(contact_id) if contact_id else None
    started = first_started.get(contact_id) if contact_id else None

    def pick(field: str, started_has_it: bool) -> str:
        if survey.get(field):
            return str(survey[field])
        if resolved is not None and resolved.get(field):
            return str(resolved[field])
        if resolved is None and started_has_it and started is not None:
            return str(started[field])
        return UNKNOWN

    return [
        (ALL, ALL),
        ("queue", pick("queue", True)),
        ("channel", pick("channel", True)),
        ("agent", pick("agent_id", False)),
        ("team", pick("team", False)),
    ]


def _count_fcr(
    table: Table, first_resolved_at: list[tuple[int, int, Event]], lookback_s: float, timezone: str
) -> None:
    """Count FCR issues, credits and withdrawals in the window and dimensions of each issue's
    first contact."""
    lookback_ms = lookback_s * 1000
    # Every contact once (its first resolved event), in occurred_at order, then arrival order.
    contacts = sorted(first_resolved_at, key=lambda item: (item[0], item[1]))

    # Per customer, the handled contacts seen so far: [ms, reason, issue].
    history: dict[str, list[list[Any]]] = {}
    for ms, _index, contact in contacts:
        customer = contact["customer_id"]
        reason = contact.get("reason")
        earlier = history.setdefault(customer, [])

        match = None
        for previous in reversed(earlier):  # most recent first
            if ms - previous[0] > lookback_ms:
                break
            if reason is None or previous[1] == reason:
                match = previous
                break

        if match is None:
            credited = bool(contact["resolved"])
            issue = {"first_ms": ms, "contact": contact, "credited": credited, "withdrawn": False}
            _bump_everywhere(
                table,
                ms,
                timezone,
                _contact_dims(contact),
                {"fcr_issues": 1, "fcr_resolved_first": 1 if credited else 0, "fcr_withdrawn": 0},
            )
        else:
            issue = match[2]
            if (
                issue["credited"]
                and not issue["withdrawn"]
                and ms - issue["first_ms"] <= lookback_ms
            ):
                issue["withdrawn"] = True
                first = issue["contact"]
                _bump_everywhere(
                    table,
                    issue["first_ms"],
                    timezone,
                    _contact_dims(first),
                    {"fcr_withdrawn": 1},
                )
        earlier.append([ms, reason, issue])


# --------------------------------------------------------------------------------------------
# CRR
# --------------------------------------------------------------------------------------------


def crr(
    events: Iterable[Event], month_start_iso: str | int, month_end_iso: str | int
) -> tuple[int, int]:
    """(customers active at the period's start, of those, active at its end).

    A customer's state at an instant is their latest ``customer.status`` that occurred *before*
    it, so the period is ``[start, end)`` like every other window: a status change at exactly
    the end belongs to the next period.
    """
    start = to_ms(month_start_iso)
    end = to_ms(month_end_iso)
    statuses: dict[str, list[tuple[int, int, str]]] = {}
    for index, event in dedupe(events):
        if event["type"] == "customer.status":
            ms = to_ms(event["occurred_at"])
            statuses.setdefault(event["customer_id"], []).append((ms, index, event["status"]))

    def state_at(changes: list[tuple[int, int, str]], instant: int) -> str | None:
        latest: tuple[int, int, str] | None = None
        for change in changes:
            if change[0] < instant and (latest is None or change[:2] > latest[:2]):
                latest = change
        return None if latest is None else latest[2]

    active_at_start = 0
    retained = 0
    for changes in statuses.values():
        if state_at(changes, start) == "active":
            active_at_start += 1
            if state_at(changes, end) == "active":
                retained += 1
    return active_at_start, retained


# --------------------------------------------------------------------------------------------
# KPIs
# --------------------------------------------------------------------------------------------


def kpis_from_counters(row: Mapping[str, int | float]) -> dict[str, float | None]:
    """KPI values of one row, computed here from the spec's definitions; None is "no data"."""

    def get(name: str) -> float:
        return row.get(name, 0)

    def divide(numerator: float, denominator: float) -> float | None:
        if denominator == 0:
            return None
        return numerator / denominator

    left_queue = get("answered") + get("abandoned") - get("abandoned_short")
    return {
        "service_level": divide(get("answered_within_sl"), left_queue),
        "abandonment": divide(get("abandoned") - get("abandoned_short"), left_queue),
        "asa_seconds": divide(get("answered_wait_seconds_sum"), get("answered")),
        "aht_seconds": divide(get("handle_seconds_sum"), get("handled")),
        "csat": divide(get("csat_satisfied"), get("csat_responses")),
        "csat_mean_5": divide(get("csat_score_sum_5"), get("csat_responses_5")),
        "csat_mean_10": divide(get("csat_score_sum_10"), get("csat_responses_10")),
        "nps": divide(
            get("nps_promoters") * 100 - get("nps_detractors") * 100, get("nps_responses")
        ),
        "fcr": divide(get("fcr_resolved_first") - get("fcr_withdrawn"), get("fcr_issues")),
    }
