"""The JSON API's logic: which windows a query means, this worker's part, and the merged answer.

Each worker holds the counters of the partitions it owns, so an answer is the sum of every
worker's part (ratios of sums, never sums of ratios). ``local_part`` is what one worker
contributes; ``merge_parts`` adds the parts and computes the KPIs with the shared arithmetic.
Kept free of faust and HTTP so it is tested directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from stream_app.engine.engine import Engine
from stream_app.engine.windows import (
    DIM_KINDS,
    FILTERS,
    BadQuery,
    WindowSpec,
    iso,
    resolve_window,
)
from stream_app.kpi.formulas import (
    COUNTER_NAMES,
    Counters,
    KpiParams,
    ParamsBook,
    compute_kpis,
    crr_ratio,
)

__all__ = ["BadQuery", "local_part", "merge_parts", "resolve_filter", "resolve_window"]


def resolve_filter(query: Mapping[str, str]) -> tuple[str, str] | None:
    """At most one of queue/team/agent/channel; None means all queues."""
    given = [(k, query[k]) for k in FILTERS if query.get(k)]
    if len(given) > 1:
        raise BadQuery(f"give one of {', '.join(FILTERS)}, not {len(given)}")
    return given[0] if given else None


def local_part(
    engine: Engine, query: Mapping[str, str], now_ms: int, crr_owned: Any = None
) -> dict[str, Any]:
    """This worker's counters for the query: rows per dimension value, live queue, CRR."""
    params = engine.params
    window = resolve_window(query, params, now_ms)
    wanted = resolve_filter(query)
    if wanted and wanted[0] == "queue":
        # A queue with its own timezone/day reset has its own "today".
        window = resolve_window(query, engine.book.for_queue(wanted[1]), now_ms)
    part: dict[str, Any] = {"clock_ms": engine.clock_ms, "rows": {}, "live": {}}
    if window.kind == "month":
        month_at = _month_instant(query.get("month"), params, now_ms)
        start, end, active, retained = engine.crr(month_at, crr_owned or (lambda key: True))
        part["crr"] = {"start_ms": start, "end_ms": end, "active": active, "retained": retained}
        return part
    breakdown = ("queue",) if query.get("breakdown") != "all" else DIM_KINDS[1:]
    dims = (
        [wanted]
        if wanted
        else [("all", "all")]
        + [(kind, v) for kind in breakdown for v in sorted(_values(engine, window, kind))]
    )
    for dim_kind, dim_value in dims:
        own = window
        if dim_kind == "queue" and dim_value in engine.book.queues:
            own = resolve_window(query, engine.book.queues[dim_value], now_ms)
        counters = engine.view.counters(own.kind, own.bucket_starts, dim_kind, dim_value)
        part["rows"][f"{dim_kind}\x1f{dim_value}"] = counters
    part["live"] = {q: list(v) for q, v in engine.live_queue(now_ms).items()}
    return part


def _values(engine: Engine, window: WindowSpec, dim_kind: str) -> set[str]:
    values: set[str] = set()
    for start in window.bucket_starts:
        values.update(engine.view.dim_values(window.kind, start, dim_kind))
    return values


def _month_instant(text: str | None, params: KpiParams, now_ms: int) -> int:
    if not text:
        return now_ms
    try:
        year, month = (int(x) for x in text.split("-"))
        return int(datetime(year, month, 15, tzinfo=ZoneInfo(params.timezone)).timestamp() * 1000)
    except ValueError:
        raise BadQuery(f"month: {text!r} is not YYYY-MM") from None


def _kpis(counters: Mapping[str, float]) -> dict[str, float | None]:
    values = compute_kpis(Counters.from_dict({k: counters.get(k, 0) for k in COUNTER_NAMES}))
    return values.to_dict()


@dataclass
class Sums:
    """Every worker's part summed: counters per row, live queue state, the month's CRR."""

    rows: dict[str, dict[str, float]] = field(default_factory=dict)
    live: dict[str, list[float]] = field(default_factory=dict)
    crr_active: int = 0
    crr_retained: int = 0
    crr_window: tuple[int, int] | None = None

    def add(self, part: Mapping[str, Any]) -> None:
        for key, counters in part.get("rows", {}).items():
            total = self.rows.setdefault(key, dict.fromkeys(COUNTER_NAMES, 0.0))
            for name, value in counters.items():
                total[name] = total.get(name, 0) + value
        for queue, (waiting, longest) in part.get("live", {}).items():
            current = self.live.setdefault(queue, [0, 0.0])
            current[0] += waiting
            current[1] = max(current[1], longest)
        if "crr" in part:
            self.crr_active += part["crr"]["active"]
            self.crr_retained += part["crr"]["retained"]
            self.crr_window = (part["crr"]["start_ms"], part["crr"]["end_ms"])

    def entry(self, key: str) -> dict[str, Any]:
        """One row's counters and the KPIs computed from them."""
        counters = self.rows.get(key, dict.fromkeys(COUNTER_NAMES, 0.0))
        return {"counters": counters, "kpis": _kpis(counters)}

    def live_of(self, queue: str) -> dict[str, float]:
        waiting, longest = self.live.get(queue, [0, 0.0])
        return {"waiting": waiting, "longest_wait_seconds": longest}


def merge_parts(
    parts: Iterable[Mapping[str, Any]], query: Mapping[str, str], book: ParamsBook, now_ms: int
) -> dict[str, Any]:
    """The API answer: every worker's counters summed, then KPIs from the sums."""
    wanted = resolve_filter(query)
    params = book.for_queue(wanted[1]) if wanted and wanted[0] == "queue" else book.default
    window = resolve_window(query, params, now_ms)
    parts = list(parts)
    sums = Sums()
    for part in parts:
        sums.add(part)
    answer: dict[str, Any] = {
        "window": {
            "name": window.name,
            "trailing": window.trailing,
            "timezone": params.timezone,
        },
        "workers": len(parts),
        "event_clock": iso(max((p.get("clock_ms", 0) for p in parts), default=0)),
    }
    if window.kind == "month":
        start, end = sums.crr_window or (0, 0)
        answer["window"] |= {"start": iso(start, params.timezone), "end": iso(end, params.timezone)}
        answer["crr"] = {
            "active_at_start": sums.crr_active,
            "retained": sums.crr_retained,
            "ratio": crr_ratio(sums.crr_active, sums.crr_retained),
        }
        return answer
    answer["window"] |= {
        "start": iso(window.start_ms, params.timezone),
        "end": iso(window.end_ms, params.timezone),
    }
    if wanted:
        answer["dimension"] = {"kind": wanted[0], "value": wanted[1]}
        answer |= sums.entry(f"{wanted[0]}\x1f{wanted[1]}")
        if wanted[0] == "queue":
            answer["live"] = sums.live_of(wanted[1])
        return answer
    return answer | _overview(sums, query)


def _overview(sums: Sums, query: Mapping[str, str]) -> dict[str, Any]:
    """All queues: the overall row, every queue with its live state, optionally every dim."""
    answer: dict[str, Any] = {"overall": sums.entry("all\x1fall")}
    if query.get("breakdown") == "all":
        answer["breakdown"] = {
            kind: {
                key.split("\x1f", 1)[1]: sums.entry(key)
                for key in sorted(sums.rows)
                if key.startswith(kind + "\x1f")
            }
            for kind in DIM_KINDS[1:]
        }
    queues = {k.split("\x1f", 1)[1] for k in sums.rows if k.startswith("queue\x1f")}
    answer["queues"] = [
        {"queue": q, **sums.entry(f"queue\x1f{q}"), "live": sums.live_of(q)}
        for q in sorted(queues | set(sums.live))
    ]
    return answer
