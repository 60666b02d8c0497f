"""Grafana dashboards as code (grafana-foundation-sdk), one module per dashboard.

``python -m stream_app.dashboards`` writes each dashboard to ``grafana/dashboards/<uid>.json``
(sorted keys, so diffs stay small) and ``--check`` fails while a committed file is stale.
Grafana loads them through ``grafana/provisioning/dashboards/ccmon.yaml``; every query runs
directly on the raw ``ccmon_*`` metrics of docs/metrics.md, so no recording rule is needed.
Targets and warning levels come from the targets file the alert rules are rendered from
(``deploy/kpi-targets.yaml``, :mod:`stream_app.alerting.config`): ``generate(config)``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from grafana_foundation_sdk.models.dashboard import Dashboard

from stream_app.alerting.config import REPO_ROOT as REPO_ROOT
from stream_app.alerting.config import KpiTargets
from stream_app.dashboards import drilldown, overview, pipeline, wallboard
from stream_app.dashboards.common import to_json

OUTPUT_DIR = Path("grafana") / "dashboards"
"""Where the JSON files go, relative to the repository root."""

BUILDERS: dict[str, Callable[[KpiTargets], Dashboard]] = {
    wallboard.UID: wallboard.build,
    overview.UID: overview.build,
    drilldown.UID: drilldown.build,
    pipeline.UID: pipeline.build,
}
"""Every dashboard by its fixed uid."""


def generate(config: KpiTargets) -> dict[Path, str]:
    """Each dashboard's JSON text, targets from ``config``, by its path under the repo root."""
    return {OUTPUT_DIR / f"{uid}.json": to_json(build(config)) for uid, build in BUILDERS.items()}
