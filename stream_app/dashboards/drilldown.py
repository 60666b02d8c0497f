"""Drill-down from all queues to a queue, a team, an agent, a channel (uid ``ccmon-drilldown``).

Template variables ``queue``, ``team``, ``agent`` and ``channel`` filter every panel. Tables give
each KPI over the dashboard's range (``$__range``) per queue, per team, per agent and per
channel; clicking a queue opens this dashboard filtered by that queue, a team its agents, an
agent that agent, a channel that channel. Offered, abandons, service level and abandonment
have no team or agent breakdown (KPI-SPEC section 3), so the team and agent tables come from
the ``ccmon_agent_*`` families (absent when ``CCMON_AGENT_METRICS=false``).
"""

from __future__ import annotations

from collections.abc import Callable

from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import units

from stream_app.alerting.config import KpiTargets
from stream_app.dashboards import promql
from stream_app.dashboards.common import (
    Column,
    Grid,
    Kpi,
    assemble,
    kpi_table,
    kpi_timeseries,
    kpis,
    new_dashboard,
    query_variable,
)

UID = "ccmon-drilldown"
TITLE = "ccmon drill-down"

QUEUE_MATCHERS = 'queue=~"$queue", channel=~"$channel"'
AGENT_MATCHERS = 'queue=~"$queue", channel=~"$channel", team=~"$team", agent=~"$agent"'
RANGE = "$__range"
TREND = "$__rate_interval"
TREND_MIN_INTERVAL = "15m"

VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("queue", "Queue", "label_values(ccmon_offered_total, queue)"),
    ("team", "Team", 'label_values(ccmon_agent_handled_total{queue=~"$queue"}, team)'),
    (
        "agent",
        "Agent",
        'label_values(ccmon_agent_handled_total{queue=~"$queue", team=~"$team"}, agent)',
    ),
    ("channel", "Channel", 'label_values(ccmon_offered_total{queue=~"$queue"}, channel)'),
)

_SELF = f"/d/{UID}?"
_TIME = "&${__url_time_range}"
QUEUE_LINK = (
    _SELF + "var-queue=${__data.fields.queue}&${channel:queryparam}"
    "&var-team=$__all&var-agent=$__all" + _TIME
)
TEAM_LINK = (
    _SELF + "${queue:queryparam}&${channel:queryparam}"
    "&var-team=${__data.fields.team}&var-agent=$__all" + _TIME
)
AGENT_LINK = (
    _SELF + "${queue:queryparam}&${channel:queryparam}"
    "&var-team=${__data.fields.team}&var-agent=${__data.fields.agent}" + _TIME
)
CHANNEL_LINK = (
    _SELF + "${queue:queryparam}&var-channel=${__data.fields.channel}"
    "&${team:queryparam}&${agent:queryparam}" + _TIME
)


def queue_columns(scope: promql.Scope, by_key: dict[str, Kpi]) -> list[Column]:
    """Volumes and every queue-level KPI (for a table grouped by queue or by channel)."""
    kpi_exprs: tuple[tuple[str, Callable[[promql.Scope], str]], ...] = (
        ("service_level", promql.service_level),
        ("abandonment", promql.abandonment),
        ("asa", promql.asa),
        ("aht", promql.aht),
        ("csat", promql.csat),
        ("nps", promql.nps),
        ("fcr", promql.fcr),
    )
    return [
        Column("Offered", promql.volume("ccmon_offered_total", scope), units.Short, decimals=0),
        Column("Answered", promql.volume("ccmon_answered_total", scope), units.Short, decimals=0),
        Column("Abandoned", promql.volume("ccmon_abandoned_total", scope), units.Short, decimals=0),
        *(
            Column(by_key[key].title, expr(scope), by_key[key].unit, by_key[key])
            for key, expr in kpi_exprs
        ),
    ]


def agent_columns(scope: promql.Scope, by_key: dict[str, Kpi]) -> list[Column]:
    """Volumes and the KPIs that have a team and agent breakdown (``ccmon_agent_*``)."""
    prefix = promql.AGENT_PREFIX
    kpi_exprs: tuple[tuple[str, Callable[[promql.Scope, str], str]], ...] = (
        ("asa", promql.asa),
        ("aht", promql.aht),
        ("csat", promql.csat),
        ("nps", promql.nps),
        ("fcr", promql.fcr),
    )
    return [
        Column(
            "Answered", promql.volume(f"{prefix}answered_total", scope), units.Short, decimals=0
        ),
        Column("Handled", promql.volume(f"{prefix}handled_total", scope), units.Short, decimals=0),
        *(
            Column(by_key[key].title, expr(scope, prefix), by_key[key].unit, by_key[key])
            for key, expr in kpi_exprs
        ),
    ]


def build(config: KpiTargets) -> dashboard_model.Dashboard:
    """The drill-down dashboard model, coloured against the targets of ``config``."""
    by_key = kpis(config)
    grid = Grid()
    _queue_rows(grid, promql.Scope(QUEUE_MATCHERS, RANGE, ("queue",)), by_key)
    _agent_rows(grid, promql.Scope(AGENT_MATCHERS, RANGE, ("team", "agent")), by_key)
    grid.row("Channels")
    grid.add(
        kpi_table(
            "Channels",
            queue_columns(promql.Scope(QUEUE_MATCHERS, RANGE, ("channel",)), by_key),
            ["channel"],
            description="Every KPI per channel of the selected queues over the range. Click a "
            "channel to filter by it.",
            label_links={"channel": ("Only ${__data.fields.channel}", CHANNEL_LINK)},
            sort_by="Offered",
        ),
        24,
        6,
    )
    builder = new_dashboard(
        UID,
        TITLE,
        "From all queues to a queue, a team, an agent, a channel: every KPI against its target.",
        time_from="now-7d",
        refresh="1m",
    )
    for name, label, query_text in VARIABLES:
        builder = builder.with_variable(query_variable(name, label, query_text))
    return assemble(builder, grid)


def _queue_rows(grid: Grid, queues: promql.Scope, by_key: dict[str, Kpi]) -> None:
    """The queue table, then service level and abandonment per queue over time."""
    grid.row("Queues")
    grid.add(
        kpi_table(
            "Queues",
            queue_columns(queues, by_key),
            ["queue"],
            description="Every KPI per queue over the dashboard's time range. Click a queue "
            "to drill down into it.",
            label_links={"queue": ("Drill down into ${__data.fields.queue}", QUEUE_LINK)},
            sort_by="Offered",
        ),
        24,
        8,
    )
    trend = queues.over(TREND)
    for key, expr in (("service_level", promql.service_level), ("abandonment", promql.abandonment)):
        grid.add(
            kpi_timeseries(
                by_key[key], expr(trend), None, legend="{{queue}}", min_interval=TREND_MIN_INTERVAL
            ),
            12,
            8,
        )


def _agent_rows(grid: Grid, agents: promql.Scope, by_key: dict[str, Kpi]) -> None:
    """The team and agent tables, then AHT, CSAT and FCR per agent over time."""
    grid.row("Teams")
    grid.add(
        kpi_table(
            "Teams",
            agent_columns(agents.grouped("team"), by_key),
            ["team"],
            description="KPIs per team (agents without a team: (unknown)) over the range. "
            "Click a team to see its agents.",
            label_links={"team": ("Agents of ${__data.fields.team}", TEAM_LINK)},
            sort_by="Handled",
        ),
        24,
        7,
    )
    grid.row("Agents")
    grid.add(
        kpi_table(
            "Agents",
            agent_columns(agents, by_key),
            ["team", "agent"],
            description="KPIs per agent over the range. Click an agent to focus on them.",
            label_links={
                "agent": ("Only ${__data.fields.agent}", AGENT_LINK),
                "team": ("Agents of ${__data.fields.team}", TEAM_LINK),
            },
            sort_by="Handled",
        ),
        24,
        10,
    )
    agent_trend = agents.over(TREND)
    for key, expr in (("aht", promql.aht), ("csat", promql.csat), ("fcr", promql.fcr)):
        grid.add(
            kpi_timeseries(
                by_key[key],
                expr(agent_trend, promql.AGENT_PREFIX),
                None,
                legend="{{agent}} ({{team}})",
                min_interval=TREND_MIN_INTERVAL,
            ),
            8,
            8,
        )
