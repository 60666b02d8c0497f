"""Trends over days and weeks for all queues (uid ``ccmon-overview``), for analysts and managers.

Every KPI as a time series per queue plus one line over all selected queues, each point the
ratio of sums over ``$__rate_interval`` (at least 15 min: KPI-SPEC section 4's trend
intervals), with the KPI's target and industry benchmark as dashed lines; then wait-time
quantiles and volumes (offered, answered, abandoned, handled per hour).
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import units

from stream_app.alerting.config import KpiTargets
from stream_app.dashboards import promql
from stream_app.dashboards.common import (
    ALL_QUEUES_LEGEND,
    Grid,
    assemble,
    kpi_timeseries,
    kpis,
    link,
    new_dashboard,
    query,
    query_variable,
    timeseries_panel,
)

UID = "ccmon-overview"
TITLE = "ccmon overview"

TREND_MIN_INTERVAL = "15m"
"""Lower bound of each point's window: a ratio over fewer minutes is mostly noise."""
WINDOW = "$__rate_interval"
MATCHERS = 'queue=~"$queue", channel=~"$channel"'
DRILLDOWN_URL = (
    "/d/ccmon-drilldown?var-queue=${__field.labels.queue}&${channel:queryparam}&${__url_time_range}"
)

KPI_PANELS: tuple[tuple[str, Callable[[promql.Scope], str]], ...] = (
    ("service_level", promql.service_level),
    ("abandonment", promql.abandonment),
    ("asa", promql.asa),
    ("aht", promql.aht),
    ("fcr", promql.fcr),
    ("csat", promql.csat),
    ("nps", promql.nps),
)

VOLUMES: tuple[tuple[str, str], ...] = (
    ("Offered", "ccmon_offered_total"),
    ("Answered", "ccmon_answered_total"),
    ("Abandoned", "ccmon_abandoned_total"),
    ("Handled", "ccmon_handled_total"),
)


def build(config: KpiTargets) -> dashboard_model.Dashboard:
    """The overview dashboard model, drawn against the targets of ``config``."""
    by_key = kpis(config)
    scope = promql.Scope(MATCHERS, WINDOW, ("queue",))
    drill = [link("Drill down into ${__field.labels.queue}", DRILLDOWN_URL)]
    exprs = dict(KPI_PANELS)

    def kpi(key: str) -> timeseries.Panel:
        return kpi_timeseries(
            by_key[key],
            exprs[key](scope),
            exprs[key](scope.grouped()),
            legend="{{queue}}",
            min_interval=TREND_MIN_INTERVAL,
            links=drill,
        )

    grid = Grid()
    grid.row("Queue: service level, abandonment, speed of answer")
    for key in ("service_level", "abandonment", "asa"):
        grid.add(kpi(key), 12, 8)
    grid.add(_wait_p90(), 12, 8)
    grid.row("Handling: handle time, first-contact resolution")
    for key in ("aht", "fcr"):
        grid.add(kpi(key), 12, 8)
    grid.row("Customer: CSAT, NPS")
    grid.add(kpi("csat"), 8, 8)
    grid.add(_csat_mean(scope), 8, 8)
    grid.add(kpi("nps"), 8, 8)
    grid.row("Volume (contacts per hour)")
    for title, metric in VOLUMES:
        grid.add(_hourly(title, metric, scope).data_links(drill), 6, 8)
    return assemble(_dashboard(), grid)


def _wait_p90() -> timeseries.Panel:
    """The 90th percentile wait of answered and of abandoned contacts."""
    wait_scope = promql.Scope('queue=~"$queue"', WINDOW, ("queue",))
    return timeseries_panel(
        "Wait before answer or abandon, p90",
        [
            query(promql.wait_quantile(0.9, "answered", wait_scope), "{{queue}} answered", "A"),
            query(promql.wait_quantile(0.9, "abandoned", wait_scope), "{{queue}} abandoned", "B"),
        ],
        unit=units.Seconds,
        description="90th percentile of the wait of answered and of abandoned contacts "
        "(histogram ccmon_wait_seconds; no channel label, so the channel filter does not "
        "apply).",
        min_value=0,
        min_interval=TREND_MIN_INTERVAL,
    )


def _csat_mean(scope: promql.Scope) -> timeseries.Panel:
    """The mean CSAT score per queue and scale."""
    return timeseries_panel(
        "CSAT mean score",
        [query(promql.csat_mean(scope.grouped("queue", "scale")), "{{queue}} ({{scale}}-point)")],
        unit=units.NoUnit,
        description="Mean CSAT score per queue and scale (a 5-point and a 10-point mean "
        "are not comparable, so they are never pooled).",
        decimals=2,
        min_value=0,
        min_interval=TREND_MIN_INTERVAL,
    )


def _hourly(title: str, metric: str, scope: promql.Scope) -> timeseries.Panel:
    """Contacts per hour of one volume counter, per queue and over all of them."""
    return timeseries_panel(
        title,
        [
            query(promql.hourly(metric, scope), "{{queue}}", "A"),
            query(promql.hourly(metric, scope.grouped()), ALL_QUEUES_LEGEND, "B"),
        ],
        unit=units.Short,
        description=f"{title} contacts per hour ({metric}), per queue and in all.",
        min_value=0,
        min_interval=TREND_MIN_INTERVAL,
    )


def _dashboard() -> dashboard_builder.Dashboard:
    """The dashboard's settings and its queue and channel variables."""
    return (
        new_dashboard(
            UID,
            TITLE,
            "Trends of every KPI per queue over days and weeks, against target and industry "
            "benchmark; volumes.",
            time_from="now-7d",
            refresh="5m",
        )
        .with_variable(query_variable("queue", "Queue", "label_values(ccmon_offered_total, queue)"))
        .with_variable(
            query_variable(
                "channel", "Channel", 'label_values(ccmon_offered_total{queue=~"$queue"}, channel)'
            )
        )
    )
