"""Panel defaults shared by every ccmon dashboard: datasource, targets, benchmarks, layout, JSON.

Each dashboard module builds its panels with these helpers so that they all query the same
provisioned Prometheus datasource, colour a KPI the same way everywhere, and serialize to the
same stable JSON (sorted keys, indent 2, trailing newline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields

from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_model
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import prometheus as prometheus_model
from grafana_foundation_sdk.models import units

from stream_app.alerting.config import KpiTargets
from stream_app.alerting.promql import number

# -- the datasource ------------------------------------------------------------------------------

DATASOURCE_UID = "ccmon-prometheus"
"""Uid of the Prometheus datasource in grafana/provisioning/datasources/ccmon.yaml."""
DATASOURCE = dashboard_model.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
TAGS = ["ccmon"]
"""Every ccmon dashboard carries this tag; the dashboards link to each other through it."""
TIMEZONE = "utc"
"""KPI-SPEC section 3: `timezone` = UTC decides where "today" starts. Change it here (and
regenerate) when CCMON_TIMEZONE is another zone, so the wallboard's "today" matches the engine's."""

# -- KPI targets ---------------------------------------------------------------------------------
# Targets and warning levels are not written here: every dashboard is built from the targets
# file the alert rules are rendered from (deploy/kpi-targets.yaml, `kpis.<kpi>.target` and
# `pipeline.*`), see kpis() and the pipeline dashboard. Per-queue overrides in that file
# (billing's service level 0.90) cannot be drawn by static Grafana thresholds: the dashboards
# show the deployment default.

SERVICE_LEVEL_THRESHOLD_S = 20.0
"""KPI-SPEC section 3 default `service_level_threshold_s`: a contact waiting longer is already
a service-level miss, so the wallboard's longest-wait tile turns red past it."""

# -- industry benchmarks -------------------------------------------------------------------------
# Typical contact-center industry figures, drawn as a dashed reference line beside the target
# so a manager sees both "our goal" and "what the industry usually reaches". They are published
# rules of thumb, not measurements of this deployment:
#   service level 80/20 (80 % answered within 20 s), abandonment 5-8 %, CSAT ~78 %,
#   FCR ~70 %, NPS ~30, AHT ~6 min. No benchmark is drawn for ASA (none is cited here).
BENCHMARK_SERVICE_LEVEL: tuple[float, ...] = (0.80,)
BENCHMARK_ABANDONMENT: tuple[float, ...] = (0.05, 0.08)  # a range: both ends are drawn
BENCHMARK_CSAT: tuple[float, ...] = (0.78,)
BENCHMARK_FCR: tuple[float, ...] = (0.70,)
BENCHMARK_NPS: tuple[float, ...] = (30.0,)
BENCHMARK_AHT: tuple[float, ...] = (360.0,)

# -- colours -------------------------------------------------------------------------------------
GOOD = "green"
BAD = "red"
NEUTRAL = "blue"
TARGET_COLOR = "green"
BENCHMARK_COLOR = "purple"
TARGET_LEGEND = "target"
BENCHMARK_LEGEND = "industry benchmark"
ALL_QUEUES_LEGEND = "all queues"


@dataclass(frozen=True)
class KpiStyle:
    """How one KPI is displayed, the same on every dashboard: title, unit, direction, benchmarks.

    ``key`` is the KPI's name in the targets file (``kpis.<key>``) and everywhere else in the
    monitoring code (``asa``, ``aht``...: the unit is in :attr:`unit`, not in the name).
    """

    key: str
    title: str
    unit: str
    higher_is_better: bool
    benchmarks: tuple[float, ...] = ()
    min: float | None = None
    max: float | None = None
    decimals: int = 1
    description: str = ""


@dataclass(frozen=True)
class Kpi(KpiStyle):
    """A KPI with the target it is drawn against (``kpis.<key>.target`` of the targets file)."""

    target: float = field(kw_only=True)

    def format(self, value: float) -> str:
        """A value as a person reads it: ``80 %``, ``600 s``, ``30``."""
        if self.unit == units.PercentUnit:
            return f"{number(round(value * 100, 6))} %"
        if self.unit == SECONDS_SUFFIX:
            return f"{number(value)} s"
        return number(value)

    def threshold_steps(self) -> list[dashboard_model.Threshold]:
        """Red below the target and green at it (or the reverse when lower is better)."""
        below, at = (BAD, GOOD) if self.higher_is_better else (GOOD, BAD)
        return [
            dashboard_model.Threshold(value=None, color=below),
            dashboard_model.Threshold(value=self.target, color=at),
        ]


SECONDS_SUFFIX = "suffix: s"
"""Durations as plain seconds ("612 s"): short enough for a wallboard tile, in base units."""

KPI_STYLES: tuple[KpiStyle, ...] = (
    KpiStyle(
        "service_level",
        "Service level",
        units.PercentUnit,
        True,
        BENCHMARK_SERVICE_LEVEL,
        0,
        1,
        description="Answered within the service-level threshold (20 s) / contacts that "
        "left the queue (answered + abandoned, short abandons excluded).",
    ),
    KpiStyle(
        "abandonment",
        "Abandonment",
        units.PercentUnit,
        False,
        BENCHMARK_ABANDONMENT,
        0,
        1,
        description="Abandoned / contacts that left the queue (short abandons excluded from both).",
    ),
    KpiStyle(
        "asa",
        "ASA",
        SECONDS_SUFFIX,
        False,
        min=0,
        decimals=0,
        description="Average speed of answer: answered wait seconds / answered contacts.",
    ),
    KpiStyle(
        "aht",
        "AHT",
        SECONDS_SUFFIX,
        False,
        BENCHMARK_AHT,
        0,
        decimals=0,
        description="Average handle time: talk + hold + wrap seconds / handled contacts.",
    ),
    KpiStyle(
        "csat",
        "CSAT",
        units.PercentUnit,
        True,
        BENCHMARK_CSAT,
        0,
        1,
        description="Satisfied CSAT answers (4-5 of 5, 9-10 of 10) / CSAT answers.",
    ),
    KpiStyle(
        "nps",
        "NPS",
        units.NoUnit,
        True,
        BENCHMARK_NPS,
        -100,
        100,
        decimals=0,
        description="% promoters (9-10) - % detractors (0-6) among NPS answers.",
    ),
    KpiStyle(
        "fcr",
        "FCR",
        units.PercentUnit,
        True,
        BENCHMARK_FCR,
        0,
        1,
        description="Issues resolved at the first contact with no repeat within the "
        "look-back / issues.",
    ),
)
"""Every KPI's display, in the order the dashboards list them."""


def kpis(config: KpiTargets) -> dict[str, Kpi]:
    """Every KPI by key, drawn against the default target of the targets file ``config``."""
    return {
        style.key: Kpi(
            **{f.name: getattr(style, f.name) for f in fields(style)},
            target=config.value(style.key, "target"),
        )
        for style in KPI_STYLES
    }


# -- queries and panels --------------------------------------------------------------------------


def query(
    expr: str,
    legend: str,
    ref_id: str = "A",
    *,
    instant: bool = False,
    as_table: bool = False,
) -> prometheus.Dataquery:
    """A Prometheus target on the ccmon datasource (range unless ``instant``)."""
    target = (
        prometheus.Dataquery()
        .expr(expr)
        .legend_format(legend)
        .ref_id(ref_id)
        .datasource(DATASOURCE)
        .editor_mode(prometheus_model.QueryEditorMode.CODE)
    )
    target = target.instant() if instant else target.range()
    if as_table:
        target = target.format(prometheus_model.PromQueryFormat.TABLE)
    return target


def reference_lines(kpi: Kpi, first_ref: str) -> list[prometheus.Dataquery]:
    """Constant series for the KPI's target and industry benchmark(s), from ``first_ref`` on."""
    refs = iter(chr(ord(first_ref) + i) for i in range(1 + len(kpi.benchmarks)))
    lines = [query(f"vector({number(kpi.target)})", TARGET_LEGEND, next(refs))]
    for value in kpi.benchmarks:
        lines.append(query(f"vector({number(value)})", BENCHMARK_LEGEND, next(refs)))
    return lines


def _dashed(color: str) -> list[dashboard_model.DynamicConfigValue]:
    """Field overrides drawing a reference line: fixed colour, dashed, no fill."""
    return [
        dashboard_model.DynamicConfigValue("color", {"mode": "fixed", "fixedColor": color}),
        dashboard_model.DynamicConfigValue("custom.lineStyle", {"fill": "dash", "dash": [10, 10]}),
        dashboard_model.DynamicConfigValue("custom.lineWidth", 2),
        dashboard_model.DynamicConfigValue("custom.fillOpacity", 0),
    ]


def thresholds(steps: list[dashboard_model.Threshold]) -> dashboard_builder.ThresholdsConfig:
    """Absolute thresholds; the first step (value None) is the colour below all others."""
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard_model.ThresholdsMode.ABSOLUTE)
        .steps(steps)
    )


def stat_panel(
    title: str,
    targets: list[prometheus.Dataquery],
    *,
    unit: str,
    steps: list[dashboard_model.Threshold],
    description: str = "",
    decimals: int | None = None,
    value_size: int | None = None,
    name_size: int | None = None,
    text_mode: common_model.BigValueTextMode = common_model.BigValueTextMode.AUTO,
) -> stat.Panel:
    """A stat tile: last value of each target, coloured by ``steps``."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets))
        .unit(unit)
        .thresholds(thresholds(steps))
        .color_scheme(
            dashboard_builder.FieldColor().mode(dashboard_model.FieldColorModeId.THRESHOLDS)
        )
        .color_mode(common_model.BigValueColorMode.BACKGROUND)
        .graph_mode(common_model.BigValueGraphMode.NONE)
        .text_mode(text_mode)
        .justify_mode(common_model.BigValueJustifyMode.CENTER)
        .orientation(common_model.VizOrientation.HORIZONTAL)
        .reduce_options(
            common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False).fields("")
        )
        .no_value("-")
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    if value_size is not None or name_size is not None:
        text = common_builder.VizTextDisplayOptions()
        if value_size is not None:
            text = text.value_size(value_size)
        if name_size is not None:
            text = text.title_size(name_size)
        panel = panel.text(text)
    return panel


def timeseries_panel(
    title: str,
    targets: list[prometheus.Dataquery],
    *,
    unit: str,
    description: str = "",
    min_value: float | None = None,
    max_value: float | None = None,
    decimals: int | None = None,
    min_interval: str | None = None,
) -> timeseries.Panel:
    """A time series; the target and benchmark series (if any) are drawn dashed."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(list(targets))
        .unit(unit)
        .line_width(1)
        .fill_opacity(10)
        .show_points(common_model.VisibilityMode.NEVER)
        .span_nulls(False)
        .draw_style(common_model.GraphDrawStyle.LINE)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common_model.LegendDisplayMode.TABLE)
            .placement(common_model.LegendPlacement.RIGHT)
            .show_legend(True)
            .calcs(["mean", "lastNotNull"])
        )
        .tooltip(
            common_builder.VizTooltipOptions()
            .mode(common_model.TooltipDisplayMode.MULTI)
            .sort(common_model.SortOrder.DESCENDING)
        )
        .override_by_name(TARGET_LEGEND, _dashed(TARGET_COLOR))
        .override_by_name(BENCHMARK_LEGEND, _dashed(BENCHMARK_COLOR))
        .override_by_name(
            ALL_QUEUES_LEGEND, [dashboard_model.DynamicConfigValue("custom.lineWidth", 3)]
        )
    )
    if min_value is not None:
        panel = panel.min(min_value)
    if max_value is not None:
        panel = panel.max(max_value)
    if decimals is not None:
        panel = panel.decimals(decimals)
    if min_interval is not None:
        panel = panel.interval(min_interval)
    return panel


def kpi_timeseries(
    kpi: Kpi,
    per_group: str,
    overall: str | None,
    *,
    legend: str,
    min_interval: str | None = None,
    links: list[cogbuilder.Builder[dashboard_model.DashboardLink]] | None = None,
) -> timeseries.Panel:
    """A KPI per group (and over all groups), with its target and benchmark lines."""
    targets = [query(per_group, legend, "A")]
    if overall is not None:
        targets.append(query(overall, ALL_QUEUES_LEGEND, "B"))
    targets += reference_lines(kpi, chr(ord("A") + len(targets)))
    panel = timeseries_panel(
        kpi.title,
        targets,
        unit=kpi.unit,
        description=kpi.description
        + f" Dashed: target {kpi.format(kpi.target)}"
        + (
            f", industry benchmark {' - '.join(kpi.format(b) for b in kpi.benchmarks)}."
            if kpi.benchmarks
            else "."
        ),
        min_value=kpi.min,
        max_value=kpi.max,
        decimals=kpi.decimals if kpi.unit != units.PercentUnit else None,
        min_interval=min_interval,
    )
    if links:
        panel = panel.data_links(list(links))
    return panel


@dataclass(frozen=True)
class Column:
    """One value column of a KPI table: header, instant expression, unit, optional colouring."""

    header: str
    expr: str
    unit: str
    kpi: Kpi | None = None
    decimals: int | None = None


def link(title: str, url: str) -> cogbuilder.Builder[dashboard_model.DashboardLink]:
    """A data or panel link (opens in the same tab)."""
    return (
        dashboard_builder.DashboardLink(title).url(url).type(dashboard_model.DashboardLinkType.LINK)
    )


def _column_properties(column: Column) -> list[dashboard_model.DynamicConfigValue]:
    """A table column's unit, decimals and, for a KPI, its colours against the target."""
    properties = [dashboard_model.DynamicConfigValue("unit", column.unit)]
    decimals = (
        column.decimals
        if column.decimals is not None
        else (column.kpi.decimals if column.kpi and column.kpi.unit != units.PercentUnit else None)
    )
    if decimals is not None:
        properties.append(dashboard_model.DynamicConfigValue("decimals", decimals))
    if column.kpi is not None:
        steps = [{"color": s.color, "value": s.value} for s in column.kpi.threshold_steps()]
        properties += [
            dashboard_model.DynamicConfigValue("thresholds", {"mode": "absolute", "steps": steps}),
            dashboard_model.DynamicConfigValue("custom.cellOptions", {"type": "color-text"}),
        ]
    return properties


def kpi_table(
    title: str,
    columns: list[Column],
    labels: list[str],
    *,
    description: str = "",
    label_links: dict[str, tuple[str, str]] | None = None,
    sort_by: str | None = None,
) -> table.Panel:
    """One row per label set, one column per instant query, merged; ``label_links`` makes a
    label's cells links: ``{label: (title, url)}``."""
    refs = [chr(ord("A") + i) for i in range(len(columns))]
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(
            [
                query(column.expr, "", ref, instant=True, as_table=True)
                for column, ref in zip(columns, refs, strict=True)
            ]
        )
        .with_transformation(dashboard_model.DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            dashboard_model.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True},
                    "indexByName": {
                        **{label: i for i, label in enumerate(labels)},
                        **{f"Value #{ref}": len(labels) + i for i, ref in enumerate(refs)},
                    },
                    "renameByName": {
                        f"Value #{ref}": column.header
                        for column, ref in zip(columns, refs, strict=True)
                    },
                },
            )
        )
        .show_header(True)
        .cell_height(common_model.TableCellHeight.SM)
        .no_value("-")
    )
    for column in columns:
        panel = panel.override_by_name(column.header, _column_properties(column))
    for label, (link_title, url) in (label_links or {}).items():
        panel = panel.override_by_name(
            label,
            [dashboard_model.DynamicConfigValue("links", [{"title": link_title, "url": url}])],
        )
    if sort_by is not None:
        panel = panel.sort_by(
            [common_builder.TableSortByFieldState().display_name(sort_by).desc(True)]
        )
    return panel


# -- variables -----------------------------------------------------------------------------------


def query_variable(name: str, label: str, query_text: str) -> dashboard_builder.QueryVariable:
    """A multi-value label variable with "All" (``.*``) selected, refreshed with the time range."""
    return (
        dashboard_builder.QueryVariable(name)
        .label(label)
        .query(query_text)
        .datasource(DATASOURCE)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(dashboard_model.VariableOption(selected=True, text=["All"], value=["$__all"]))
        .refresh(dashboard_model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_model.VariableSort.ALPHABETICAL_ASC)
    )


# -- layout --------------------------------------------------------------------------------------

GRID_COLUMNS = 24


@dataclass
class Grid:
    """Places rows and panels left to right, top to bottom on Grafana's 24-column grid.

    Rows are expanded (their panels follow them at the top level, as Grafana stores an open
    row); panel ids are numbered in reading order so the JSON is stable.
    """

    panels: list[dashboard_model.Panel | dashboard_model.RowPanel] = field(default_factory=list)
    y: int = 0
    x: int = 0
    line_height: int = 0

    def _newline(self) -> None:
        self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def row(self, title: str, *, repeat: str | None = None) -> Grid:
        """Start a row (repeated per value of the variable ``repeat`` if given)."""
        if self.x:
            self._newline()
        row = dashboard_builder.Row(title).collapsed(False)
        if repeat is not None:
            row = row.repeat(repeat)
        model = row.build()
        model.grid_pos = dashboard_model.GridPos(h=1, w=GRID_COLUMNS, x=0, y=self.y)
        model.id_val = len(self.panels) + 1
        self.panels.append(model)
        self.y += 1
        return self

    def add(self, panel: cogbuilder.Builder[dashboard_model.Panel], w: int, h: int) -> Grid:
        """Place a panel ``w`` columns wide and ``h`` grid units high after the previous one."""
        if self.x + w > GRID_COLUMNS:
            self._newline()
        model = panel.build()
        model.grid_pos = dashboard_model.GridPos(h=h, w=w, x=self.x, y=self.y)
        model.id_val = len(self.panels) + 1
        self.panels.append(model)
        self.x += w
        self.line_height = max(self.line_height, h)
        if self.x == GRID_COLUMNS:
            self._newline()
        return self


# -- dashboards ----------------------------------------------------------------------------------


def new_dashboard(
    uid: str, title: str, description: str, *, time_from: str, refresh: str
) -> dashboard_builder.Dashboard:
    """A read-only (provisioned) ccmon dashboard with links to its siblings."""
    return (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(list(TAGS))
        .timezone(TIMEZONE)
        .time(time_from, "now")
        .refresh(refresh)
        .readonly()
        .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
        .timepicker(
            dashboard_builder.TimePicker().refresh_intervals(
                ["5s", "10s", "30s", "1m", "5m", "15m", "1h"]
            )
        )
        .link(
            dashboard_builder.DashboardLink("ccmon dashboards")
            .type(dashboard_model.DashboardLinkType.DASHBOARDS)
            .tags(list(TAGS))
            .as_dropdown(True)
            .keep_time(True)
            .include_vars(True)
        )
    )


def assemble(builder: dashboard_builder.Dashboard, grid: Grid) -> dashboard_model.Dashboard:
    """The dashboard model with the grid's panels."""
    model = builder.build()
    model.panels = list(grid.panels)
    return model


def to_json(model: dashboard_model.Dashboard) -> str:
    """Stable JSON text: sorted keys, indent 2, trailing newline."""
    return json.dumps(model, cls=JSONEncoder, sort_keys=True, indent=2) + "\n"
