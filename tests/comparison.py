"""Compare the engine's window counters with the independent reference, row by row."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from tests.datagen import Dataset
from tests.reference.batch_kpis import batch_counters, crr, kpis_from_counters
from tests.workers import api_rows

REFERENCE_PARAMS: dict[str, Any] = {"short_abandon_threshold_s": 5.0, "fcr_lookback_s": 2 * 86400.0}
"""The reference's parameters for the generated dataset (tests.datagen)."""
ENGINE_ENV: dict[str, float] = {
    "short_abandon_threshold_s": 5.0,
    "fcr_lookback_days": 2.0,
    "horizon_hours": 30 * 24.0,
}
"""The same parameters as worker settings (its horizon keeps every window of the dataset)."""

Row = Mapping[str, float]


def reference_rows(
    reference: Mapping[tuple[str, str, str, str], Mapping[str, float]], kinds: tuple[str, ...]
) -> dict[tuple[str, int, str, str], dict[str, float]]:
    """Reference rows re-keyed by window start in epoch ms, for the given window kinds."""
    out: dict[tuple[str, int, str, str], dict[str, float]] = {}
    for (kind, start_iso, dim_kind, dim_value), counters in reference.items():
        if kind not in kinds:
            continue
        start_ms = int(datetime.fromisoformat(start_iso).timestamp() * 1000)
        out[(kind, start_ms, dim_kind, dim_value)] = {k: v for k, v in counters.items() if v}
    return out


def compare(expected: Mapping[Any, Row], actual: Mapping[Any, Row]) -> list[str]:
    """Differences, one line each: counts exactly, sums to 1e-6 s, KPI ratios to 1e-9."""
    problems: list[str] = []
    for key in sorted(set(expected) | set(actual), key=str):
        exp = {k: v for k, v in expected.get(key, {}).items() if v}
        act = {k: v for k, v in actual.get(key, {}).items() if v}
        for name in sorted(set(exp) | set(act)):
            e, a = exp.get(name, 0), act.get(name, 0)
            if name.endswith("_sum") and not name.startswith("csat"):
                same = math.isclose(e, a, abs_tol=1e-6)
            else:
                same = e == a
            if not same:
                problems.append(f"{key} {name}: expected {e}, engine {a}")
        for kpi, e_val in kpis_from_counters(exp).items():
            a_val = kpis_from_counters(act).get(kpi)
            if (e_val is None) != (a_val is None) or (
                e_val is not None
                and a_val is not None
                and not math.isclose(e_val, a_val, rel_tol=1e-9, abs_tol=1e-12)
            ):
                problems.append(f"{key} KPI {kpi}: expected {e_val}, engine {a_val}")
    return problems


def expected_rows(dataset: Dataset) -> dict[tuple[str, int, str, str], dict[str, float]]:
    """The reference's day and 15-minute rows for the dataset's on-time events."""
    on_time = [e for e in dataset.events if e["event_id"] not in dataset.late_event_ids]
    return reference_rows(batch_counters(on_time, **REFERENCE_PARAMS), ("day", "15m"))


def api_differences(
    base_url: str, dataset: Dataset, expected: Mapping[Any, Row], crr_month: str = "2026-10"
) -> list[str]:
    """Every way the worker's API differs from the reference: each day and 15-minute window
    with every dimension, and the month's CRR."""
    problems = compare(expected, api_rows(base_url, expected))
    body = httpx.get(
        f"{base_url}/api/kpis", params={"window": "month", "month": crr_month}, timeout=10
    ).json()
    start = int(datetime.fromisoformat(body["window"]["start"]).timestamp() * 1000)
    end = int(datetime.fromisoformat(body["window"]["end"]).timestamp() * 1000)
    active, retained = crr(dataset.events, start, end)
    got = (body["crr"]["active_at_start"], body["crr"]["retained"])
    if got != (active, retained):
        problems.append(f"CRR {crr_month}: expected {(active, retained)}, engine {got}")
    elif not math.isclose(body["crr"]["ratio"], retained / active, rel_tol=1e-12):
        problems.append(
            f"CRR {crr_month} ratio: expected {retained / active}, engine {body['crr']}"
        )
    return problems
