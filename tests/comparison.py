"""Compare the engine's window counters with the independent reference, row by row."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tests.reference.batch_kpis import kpis_from_counters

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
