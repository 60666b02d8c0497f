"""The KPI counter families a worker exports, by exposed name, for tests of the PromQL.

Built the way a worker builds them (:meth:`KpiCounters.create` on a fresh registry), so the
rule and dashboard tests check against the names that exist, ``_retracted_total`` companions
included, not against a list written by hand.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry

from stream_app.kpi.formulas import ParamsBook
from stream_app.metrics.kpi_counters import KpiCounters


def exported_counters() -> set[str]:
    """Every ``ccmon_*_total`` KPI counter a worker exports (agent families included)."""
    registry = CollectorRegistry()
    KpiCounters.create(registry, ParamsBook())
    return {f"{m.name}_total" for m in registry.collect() if m.type == "counter"}


def retracted_pairs() -> dict[str, str]:
    """``X_total`` -> ``X_retracted_total`` for every counter whose counts can be taken away."""
    names = exported_counters()
    return {
        name.removesuffix("_retracted_total") + "_total": name
        for name in names
        if name.endswith("_retracted_total")
    }


def missing_retractions(expr: str) -> list[str]:
    """The retractable counters ``expr`` reads without also reading their ``_retracted_total``
    (a net count is ``X_total - X_retracted_total``)."""
    used = set(re.findall(r"(?<![:\w])ccmon_[a-z_]+", expr))
    return sorted(t for t, r in retracted_pairs().items() if t in used and r not in used)
