"""Pipeline health for the on-call engineer (uid ``ccmon-pipeline``).

Are the workers up and keeping up? Records consumed per topic, accepted, applied, rejected by
reason (dead-letter topic), duplicates and late events per type, the processing lag and the
event-time clock against the wall clock, and ``up{job="ccmon"}`` per worker.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import stat
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import units

from stream_app.alerting.config import KpiTargets, PipelineConfig
from stream_app.alerting.promql import divide, number, zero_fill
from stream_app.dashboards import promql
from stream_app.dashboards.common import (
    BAD,
    GOOD,
    NEUTRAL,
    Grid,
    assemble,
    new_dashboard,
    query,
    stat_panel,
    timeseries_panel,
)

UID = "ccmon-pipeline"
TITLE = "ccmon pipeline health"

WINDOW = "$__rate_interval"

FLOWS: tuple[tuple[str, str, str, str], ...] = (
    (
        "Consumed per topic",
        "ccmon_events_consumed_total",
        "topic",
        "Records read from input topics.",
    ),
    ("Accepted per type", "ccmon_events_accepted_total", "type", "Valid records."),
    (
        "Applied per type",
        "ccmon_events_applied_total",
        "type",
        "Events applied to a contact or customer state.",
    ),
    (
        "Rejected per reason",
        "ccmon_events_rejected_total",
        "reason",
        "Records sent to the dead-letter topic, by reason.",
    ),
    (
        "Duplicates per type",
        "ccmon_events_duplicate_total",
        "type",
        "Repeated event_ids (counted once).",
    ),
    (
        "Late per type",
        "ccmon_events_late_total",
        "type",
        "Valid events older than the kept horizon behind their partition's clock.",
    ),
)


def build(config: KpiTargets) -> dashboard_model.Dashboard:
    """The pipeline-health dashboard model: job and warning levels from ``config.pipeline``."""
    grid = Grid()
    grid.row("Workers")
    _worker_tiles(grid, config.pipeline)
    grid.add(_dead_letter_tile(config.pipeline), 5, 4)
    grid.row("Flow (records per second)")
    for title, metric, label, description in FLOWS:
        scope = promql.Scope(window=WINDOW, by=(label,))
        grid.add(
            timeseries_panel(
                title,
                [query(promql.rate(metric, scope), f"{{{{{label}}}}}")],
                unit=units.EventsPerSecond,
                description=f"{description} ({metric})",
                min_value=0,
            ),
            12,
            8,
        )
    grid.row("Clocks and workers")
    _clock_and_worker_trends(grid, config.pipeline.job)
    builder = new_dashboard(
        UID,
        TITLE,
        "Is the pipeline up and keeping up? Consumption, rejects, duplicates, late events, "
        "lag and clocks.",
        time_from="now-6h",
        refresh="10s",
    )
    return assemble(builder, grid)


def _warn_above(level: float) -> list[dashboard_model.Threshold]:
    """Green, and red from ``level`` on (the alert's threshold)."""
    return [
        dashboard_model.Threshold(value=None, color=GOOD),
        dashboard_model.Threshold(value=level, color=BAD),
    ]


def _worker_tiles(grid: Grid, pipeline: PipelineConfig) -> None:
    """Workers up, the processing lag and the event-time clock, now."""
    job, lag = pipeline.job, pipeline.processing_lag_seconds
    grid.add(
        stat_panel(
            "Workers up",
            [query(f'sum(up{{job="{job}"}})', "up", instant=True)],
            unit=units.NoUnit,
            steps=[
                dashboard_model.Threshold(value=None, color=BAD),
                dashboard_model.Threshold(value=1, color=GOOD),
            ],
            description=f'Workers Prometheus scrapes successfully (up{{job="{job}"}}).',
            decimals=0,
        ),
        4,
        4,
    )
    grid.add(
        stat_panel(
            "Processing lag",
            [query("max(ccmon_processing_lag_seconds)", "lag", instant=True)],
            unit=units.Seconds,
            steps=_warn_above(lag),
            description="Wall clock minus occurred_at of the last applied event, worst worker. "
            f"Large while replaying history; over {number(lag)} s live, the wallboard is behind.",
        ),
        5,
        4,
    )
    grid.add(
        stat_panel(
            "Event clock",
            [query("max(ccmon_event_clock_seconds) * 1000", "event clock", instant=True)],
            unit=units.DatetimeISO,
            steps=[dashboard_model.Threshold(value=None, color=NEUTRAL)],
            description="Newest occurred_at applied (the stream's event-time clock).",
        ),
        5,
        4,
    )
    grid.add(
        stat_panel(
            "Event clock behind now",
            [query("time() - max(ccmon_event_clock_seconds)", "behind", instant=True)],
            unit=units.Seconds,
            steps=_warn_above(lag),
            description="Wall clock minus the event-time clock: how far the newest event "
            "applied is behind now (grows when no events arrive).",
        ),
        5,
        4,
    )


def _dead_letter_tile(pipeline: PipelineConfig) -> stat.Panel:
    """Rejected / consumed over the dashboard's range, red from the alert's ratio on."""
    total = promql.Scope(window="$__range", by=())
    consumed = promql.increase("ccmon_events_consumed_total", total)
    rejected = zero_fill(promql.increase("ccmon_events_rejected_total", total), consumed, total.by)
    return stat_panel(
        "Dead-letter ratio",
        [query(divide(rejected, consumed), "rejected", instant=True)],
        unit=units.PercentUnit,
        steps=_warn_above(pipeline.dead_letter_ratio),
        description="Records rejected to the dead-letter topic / records consumed over "
        "the dashboard's range.",
        decimals=2,
    )


def _clock_and_worker_trends(grid: Grid, job: str) -> None:
    """Processing lag and event clock per worker, and each worker's scrape, over time."""
    grid.add(
        timeseries_panel(
            "Processing lag per worker",
            [query("max by (instance) (ccmon_processing_lag_seconds)", "{{instance}}")],
            unit=units.Seconds,
            description="Wall clock minus occurred_at of the last event each worker applied.",
            min_value=0,
        ),
        8,
        8,
    )
    grid.add(
        timeseries_panel(
            "Event clock behind now per worker",
            [query("time() - max by (instance) (ccmon_event_clock_seconds)", "{{instance}}")],
            unit=units.Seconds,
            description="Wall clock minus each worker's event-time clock.",
        ),
        8,
        8,
    )
    grid.add(
        timeseries_panel(
            "Workers up",
            [query(f'up{{job="{job}"}}', "{{instance}}")],
            unit=units.NoUnit,
            description="1 while Prometheus scrapes the worker, 0 when the scrape fails.",
            min_value=0,
            max_value=1,
            decimals=0,
        ),
        8,
        8,
    )
