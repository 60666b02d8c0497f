"""What the wallboard shows: per-queue tiles built from two JSON API answers, with colours.

Pure functions of the API's answers (``today`` and trailing ``15m``) and each queue's targets,
so the page, its tests and the JSON API cannot disagree about a number: the tile carries the
very values ``/api/kpis`` returns, and the browser only formats them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from stream_app.kpi.formulas import KpiParams, ParamsBook

Status = Literal["ok", "warn", "bad", "none"]
NO_CLOCK = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class TileKpi:
    """One KPI row of a tile: where its value is, its target and how far off is "warn"."""

    key: str
    """Key in the API's ``kpis`` object."""
    target_field: str
    """The KpiParams field holding the queue's target."""
    higher_is_better: bool
    tolerance: float
    """Within this distance of the target (in the KPI's unit) the tile is amber, not red."""


TILE_KPIS: tuple[TileKpi, ...] = (
    TileKpi("service_level", "target_service_level", True, 0.10),
    TileKpi("abandonment", "target_abandonment", False, 0.05),
    TileKpi("asa_seconds", "target_asa_seconds", False, 15.0),
    TileKpi("aht_seconds", "target_aht_seconds", False, 120.0),
    TileKpi("csat", "target_csat", True, 0.10),
    TileKpi("nps", "target_nps", True, 20.0),
    TileKpi("fcr", "target_fcr", True, 0.10),
)
"""The rows of a tile, in display order. Tolerances: 10 points of a ratio, 5 points of
abandonment, 15 s of ASA, 2 min of AHT, 20 NPS points (see docs/wallboard.md)."""


def kpi_status(
    value: float | None, target: float, higher_is_better: bool, tolerance: float
) -> Status:
    """ok at or past the target, warn within ``tolerance`` of it, bad beyond; none: no data."""
    if value is None:
        return "none"
    shortfall = target - value if higher_is_better else value - target
    if shortfall <= 1e-12:
        return "ok"
    return "warn" if shortfall <= tolerance + 1e-9 else "bad"


def _section(entry: Mapping[str, Any] | None, params: KpiParams) -> dict[str, Any]:
    """KPI values and statuses of one window, plus the volume behind them."""
    kpis: Mapping[str, float | None] = (entry or {}).get("kpis", {})
    counters: Mapping[str, float] = (entry or {}).get("counters", {})
    out: dict[str, Any] = {
        "offered": int(counters.get("offered", 0)),
        "answered": int(counters.get("answered", 0)),
        "abandoned": int(counters.get("abandoned", 0)),
        "kpis": {},
    }
    for row in TILE_KPIS:
        value = kpis.get(row.key)
        target = float(getattr(params, row.target_field))
        out["kpis"][row.key] = {
            "value": value,
            "target": target,
            "status": kpi_status(value, target, row.higher_is_better, row.tolerance),
        }
    return out


def _worst(statuses: list[Status]) -> Status:
    for status in ("bad", "warn", "ok"):
        if status in statuses:
            return status
    return "none"


def build_board(
    today: Mapping[str, Any], last_15m: Mapping[str, Any], book: ParamsBook, now_ms: int
) -> dict[str, Any]:
    """The wallboard's whole state: one tile per queue seen today or waiting now, and overall.

    ``today`` and ``last_15m`` are ``/api/kpis`` answers without a filter (overall + queues).
    A tile's colour is its worst KPI over the last 15 minutes (what the floor can still act on).
    """
    by_queue_today = {q["queue"]: q for q in today.get("queues", [])}
    by_queue_15m = {q["queue"]: q for q in last_15m.get("queues", [])}
    tiles = []
    for queue in sorted(set(by_queue_today) | set(by_queue_15m)):
        params = book.for_queue(queue)
        live = (by_queue_15m.get(queue) or by_queue_today[queue]).get("live", {})
        recent = _section(by_queue_15m.get(queue), params)
        tiles.append(
            {
                "queue": queue,
                "waiting": int(live.get("waiting", 0)),
                "longest_wait_seconds": float(live.get("longest_wait_seconds", 0.0)),
                "today": _section(by_queue_today.get(queue), params),
                "last_15m": recent,
                "status": _worst([k["status"] for k in recent["kpis"].values()]),
            }
        )
    return {
        "at_ms": now_ms,
        # The API's clock is the epoch until the first event; the page shows nothing then.
        "event_clock": clock if (clock := today.get("event_clock")) != NO_CLOCK else None,
        "timezone": book.default.timezone,
        "window": {"today": today.get("window"), "last_15m": last_15m.get("window")},
        "overall": {
            "waiting": sum(t["waiting"] for t in tiles),
            "today": _section(today.get("overall"), book.default),
            "last_15m": _section(last_15m.get("overall"), book.default),
        },
        "tiles": tiles,
    }


def board_signature(board: Mapping[str, Any]) -> tuple[Any, ...]:
    """What decides whether a new push is needed: everything but the evaluation instant."""
    return (board["event_clock"], repr(board["overall"]), repr(board["tiles"]))
