"""The floor's TV wallboard (uid ``ccmon-wallboard``): one block of tiles per queue.

KPI-SPEC section 1: per queue, contacts waiting, longest wait, service level, abandonment, AHT,
CSAT, NPS and FCR for *today* and the *last 15 min*, coloured against the targets and refreshed
every 5 s. A row repeated per value of ``$queue`` holds eight tiles of 3 columns; four queues
(4 x (1 + 5) = 24 grid units) fit a 1920x1080 screen in kiosk mode without scrolling.
"Today" is ``increase(...[$__range])`` over the dashboard's fixed range, today so far (UTC).
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import units

from stream_app.alerting.config import KpiTargets
from stream_app.dashboards import promql
from stream_app.dashboards.common import (
    BAD,
    GOOD,
    NEUTRAL,
    SECONDS_SUFFIX,
    SERVICE_LEVEL_THRESHOLD_S,
    Grid,
    Kpi,
    assemble,
    kpis,
    link,
    new_dashboard,
    query,
    query_variable,
    stat_panel,
)

UID = "ccmon-wallboard"
TITLE = "ccmon wallboard"

TILE_W = 3
"""8 tiles x 3 columns = the 24-column grid."""
TILE_H = 5
"""Grid units (30 px + 8 px margin each): 182 px, room for two stacked values."""
ROW_H = 1
QUEUES_ON_SCREEN = 4
SCREEN_GRID_UNITS = 27
"""Grid units that fit 1080 px in kiosk mode: (1080 - 2 x 16 px padding + 8) // 38."""

LIVE_VALUE_SIZE = 64
KPI_VALUE_SIZE = 40
KPI_NAME_SIZE = 16

WINDOWS: tuple[tuple[str, str], ...] = (("today", "$__range"), ("15 min", "15m"))
"""(label, PromQL range) of the two windows each KPI tile shows, top to bottom."""

KPI_TILES: tuple[tuple[str, Callable[[promql.Scope], str]], ...] = (
    ("service_level", promql.service_level),
    ("abandonment", promql.abandonment),
    ("aht", promql.aht),
    ("csat", promql.csat),
    ("nps", promql.nps),
    ("fcr", promql.fcr),
)

WINDOW_NOTE = (
    " Today: since 00:00 UTC (the dashboard's range). 15 min: the trailing 15 minutes."
    " Prometheus counts an event when the worker applies it."
)
DRILLDOWN_URL = "/d/ccmon-drilldown?${queue:queryparam}&${__url_time_range}"


def build(config: KpiTargets) -> dashboard_model.Dashboard:
    """The wallboard dashboard model, coloured against the targets of ``config``."""
    scope = promql.Scope('queue=~"$queue"', by=("queue",))
    drill = [link("Drill down into $queue", DRILLDOWN_URL)]
    grid = Grid().row("$queue", repeat="queue")
    _live_tiles(grid, scope, drill)
    _kpi_tiles(grid, scope, drill, kpis(config))
    builder = (
        new_dashboard(
            UID,
            TITLE,
            "TV wallboard for the floor: per queue, the live queue and today's and the last "
            "15 minutes' KPIs against their targets. Open /d/ccmon-wallboard?kiosk.",
            time_from="now/d",
            refresh="5s",
        )
        .timepicker(_fixed_range())
        .with_variable(query_variable("queue", "Queue", "label_values(ccmon_offered_total, queue)"))
    )
    return assemble(builder, grid)


Links = list[cogbuilder.Builder[dashboard_model.DashboardLink]]


def _live_tiles(grid: Grid, scope: promql.Scope, drill: Links) -> None:
    """Contacts waiting and the longest wait, now."""
    grid.add(
        stat_panel(
            "Contacts waiting",
            [query(promql.waiting_now(scope), "waiting", instant=True)],
            unit=units.NoUnit,
            steps=[dashboard_model.Threshold(value=None, color=NEUTRAL)],
            description="Contacts started and neither answered nor abandoned, now.",
            decimals=0,
            value_size=LIVE_VALUE_SIZE,
            text_mode=common_model.BigValueTextMode.VALUE,
        ).links(drill),
        TILE_W,
        TILE_H,
    )
    grid.add(
        stat_panel(
            "Longest wait",
            [query(promql.longest_wait_now(scope), "longest wait", instant=True)],
            unit=SECONDS_SUFFIX,
            steps=[
                dashboard_model.Threshold(value=None, color=GOOD),
                dashboard_model.Threshold(value=SERVICE_LEVEL_THRESHOLD_S, color=BAD),
            ],
            description="Longest current wait; red past the service-level threshold (20 s).",
            decimals=0,
            value_size=LIVE_VALUE_SIZE,
            text_mode=common_model.BigValueTextMode.VALUE,
        ).links(drill),
        TILE_W,
        TILE_H,
    )


def _kpi_tiles(grid: Grid, scope: promql.Scope, drill: Links, by_key: dict[str, Kpi]) -> None:
    """One tile per KPI: today and the last 15 minutes, coloured against the target."""
    for key, expr in KPI_TILES:
        kpi = by_key[key]
        targets = [
            query(expr(scope.over(window)), label, chr(ord("A") + i), instant=True)
            for i, (label, window) in enumerate(WINDOWS)
        ]
        grid.add(
            stat_panel(
                kpi.title,
                targets,
                unit=kpi.unit,
                steps=kpi.threshold_steps(),
                description=kpi.description + WINDOW_NOTE,
                decimals=kpi.decimals,
                value_size=KPI_VALUE_SIZE,
                name_size=KPI_NAME_SIZE,
                text_mode=common_model.BigValueTextMode.VALUE_AND_NAME,
            ).links(drill),
            TILE_W,
            TILE_H,
        )


def _fixed_range() -> dashboard_builder.TimePicker:
    """Hidden time picker: "today" tiles mean today only while the range is now/d to now."""
    return dashboard_builder.TimePicker().hidden(True).refresh_intervals(["5s", "10s", "30s"])
