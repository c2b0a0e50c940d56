"""What the four boards share: the board wrapper, panel helpers, filters and SQL fragments.

Every panel query is declared as a :class:`PanelQuery`: its SQL (with Grafana and plugin
macros), its format and the columns it returns. The tests run each one on embedded
ClickHouse and check the columns, so a declaration cannot drift from what the SQL does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from grafana_foundation_sdk.builders import barchart, dashboard, piechart, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import piechart as piechart_models

from grafana.query import ClickHouseQueryBuilder, Format, datasource_ref, variable_query
from schemas.errors import ConfigError

#: Time zone of day buckets and of the boards' clocks: the customers' and CX team's day.
TIMEZONE = "Asia/Ho_Chi_Minh"

#: Open alerts are those whose latest revision is open and was written at most this long ago
#: (event time); an incident nobody updated for a day is not shown as live.
OPEN_ALERT_LOOKBACK = "INTERVAL 1 DAY"

SENTIMENT_COLORS = {"negative": "red", "neutral": "yellow", "positive": "green"}
SEVERITY_COLORS = {"critical": "red", "warning": "orange", "info": "blue"}

# -- SQL fragments ---------------------------------------------------------------------------


def when_selected(condition: str, variable: str) -> str:
    """``condition`` unless ``$variable`` is All (plugin macro ``$__conditionalAll``)."""
    return f"$__conditionalAll({condition}, ${variable})"


# How a selected value reaches the SQL. Grafana replaces ``${var:format}`` in the browser,
# with the formats of its format registry (grafana/scenes,
# packages/scenes/src/variables/interpolation/formatRegistry.ts); the ClickHouse plugin
# passes its own format function, which joins several values as 'a','b' without escaping
# anything (grafana/clickhouse-datasource, src/data/CHDatasource.ts: applyTemplateVariables,
# format). None of them escapes for a ClickHouse string literal: ``singlequote`` turns ' into
# \' but leaves \ alone, so a value ending in a backslash ("ACME\") swallows the closing
# quote and the rest of the query is read as data ("x\') OR 1=1 --" widens it to every
# row); ``sqlstring`` doubles ' but leaves \ too; ``queryparam`` uses the URL state when the
# variable has one, and that encoding keeps ' and $ as they are (grafana-data
# src/utils/url.ts, encodeURIComponentAsAngularJS).
#
# ``percentencode`` is encodeURIComponentStrict: everything but A-Z a-z 0-9 - _ . ~ becomes
# %XX (UTF-8), always, so the text that reaches the query has no quote, backslash, bracket,
# comma, dollar sign (no backend macro can appear either) or line break, whatever the value.
# Several values are encoded as one "{a,b}"; ClickHouse decodes it (decodeURLComponent),
# strips the braces and splits at commas. A value holding a comma or a brace would be read as
# several values: the variable queries below do not offer such values (and a typed or linked
# one still only selects the values it spells out, exactly).
_SELECTED = "splitByChar(',', trim(BOTH '{}' FROM decodeURLComponent('${%s:percentencode}')))"

#: What a value offered by a variable may not contain (it would read as several values).
UNSELECTABLE = "[,{}]"


def selected(variable: str) -> str:
    """The values selected in ``$variable``: a ClickHouse ``Array(String)`` expression."""
    return _SELECTED % variable


def selectable(column: str) -> str:
    """The condition a value of ``column`` must meet to be offered by a variable."""
    return f"NOT match({column}, '{UNSELECTABLE}')"


def in_variable(column: str, variable: str | None = None) -> str:
    """``column IN (selected values)``, or nothing when All is selected."""
    name = variable or column
    return when_selected(f"{column} IN {selected(name)}", name)


def has_any_variable(array_column: str, variable: str) -> str:
    """An array column holding any selected value, or nothing when All is selected."""
    return when_selected(f"hasAny({array_column}, {selected(variable)})", variable)


def all_of(*conditions: str) -> str:
    """Conditions joined with AND, one per line."""
    return "\n  AND ".join(conditions)


#: The key of an alert as one readable string: "delivery / shopee", "payment / "lỗi momo"".
ALERT_KEY_SQL = (
    "arrayStringConcat(arrayFilter(part -> part != '', "
    "[topic, channel, brand, product, if(phrase = '', '', concat('\"', phrase, '\"'))]), ' / ')"
)

#: Most severe first.
SEVERITY_RANK_SQL = "multiIf(severity = 'critical', 0, severity = 'warning', 1, 2)"


def open_alerts_where(*extra: str) -> str:
    """The latest revision is open and recent (as of the end of the board's time range)."""
    return all_of(
        "status = 'open'",
        f"updated_at > $__toTime_ms - {OPEN_ALERT_LOOKBACK}",
        "updated_at <= $__toTime_ms",
        *extra,
    )


# -- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    """One query of a panel: SQL, format, and the columns it returns (checked by tests)."""

    sql: str
    format: Format
    columns: tuple[str, ...]

    def target(self, ref_id: str) -> ClickHouseQueryBuilder:
        """The SDK target for this query."""
        return ClickHouseQueryBuilder(self.sql, self.format, ref_id)


def table_query(sql: str, *columns: str) -> PanelQuery:
    """A table-format query returning ``columns``."""
    return PanelQuery(sql.strip(), Format.TABLE, columns)


def series_query(sql: str, *columns: str) -> PanelQuery:
    """A time-series query returning ``columns`` (the first one is the time)."""
    return PanelQuery(sql.strip(), Format.TIME_SERIES, columns)


@dataclass(frozen=True)
class VariableSpec:
    """A dashboard variable: a SQL query variable, or a custom list when ``options`` is set."""

    name: str
    label: str
    description: str
    sql: str = ""
    options: tuple[str, ...] = ()


@dataclass
class Board:
    """A board being built: the SDK builder plus the declared queries, by panel id and refId."""

    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    time_from: str = "now-6h"
    refresh: str = "1m"
    queries: dict[tuple[int, str], tuple[str, PanelQuery]] = field(default_factory=dict)
    variables: list[VariableSpec] = field(default_factory=list)
    _next_id: int = field(default=1, init=False, repr=False)
    _builder: dashboard.Dashboard = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._builder = (
            dashboard.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags(["voc-stream", *self.tags])
            .timezone(TIMEZONE)
            .week_start("monday")
            .time(self.time_from, "now")
            .refresh(self.refresh)
            .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
            .editable()
            .link(
                dashboard.DashboardLink("VoC boards")
                .type(dashboard_models.DashboardLinkType.DASHBOARDS)
                .tags(["voc-stream"])
                .as_dropdown(True)
                .include_vars(False)
                .keep_time(True)
            )
        )

    def _take_id(self) -> int:
        panel_id = self._next_id
        self._next_id += 1
        return panel_id

    def row(self, title: str) -> None:
        """Start a new row of panels."""
        self._builder.with_row(dashboard.Row(title).id(self._take_id()))

    def add(self, panel: Any, *queries: PanelQuery) -> int:
        """Add a panel with its queries (refIds A, B, ...); returns its id."""
        panel_id = self._take_id()
        title = panel.build().title
        panel.id(panel_id).datasource(datasource_ref())
        for index, query in enumerate(queries):
            ref_id = chr(ord("A") + index)
            panel.with_target(query.target(ref_id))
            self.queries[(panel_id, ref_id)] = (title, query)
        self._builder.with_panel(panel)
        return panel_id

    def panel_id(self, title: str) -> int:
        """The id of the panel called ``title`` (alert rules link to panels by id)."""
        ids = {panel_id for (panel_id, _), (name, _) in self.queries.items() if name == title}
        if len(ids) != 1:
            msg = f"board {self.uid}: expected one panel titled {title!r}, found {len(ids)}"
            raise ConfigError(msg)
        return ids.pop()

    def variable(self, spec: VariableSpec) -> None:
        """Add a multi-value variable with All (a query variable, or a custom list)."""
        all_option = dashboard_models.VariableOption(selected=True, text=["All"], value=["$__all"])
        if spec.options:
            variable: Any = (
                dashboard.CustomVariable(spec.name)
                .values(",".join(spec.options))
                .options(
                    [
                        dashboard_models.VariableOption(selected=False, text=o, value=o)
                        for o in spec.options
                    ]
                )
                .current(all_option)
            )
        else:
            variable = (
                dashboard.QueryVariable(spec.name)
                .datasource(datasource_ref())
                .query(variable_query(spec.sql, spec.name))
                .definition(spec.sql.strip())
                .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(dashboard_models.VariableSort.DISABLED)
                .current(all_option)
                .allow_custom_value(False)
            )
        self._builder.with_variable(
            variable.label(spec.label).description(spec.description).multi(True).include_all(True)
        )
        self.variables.append(spec)

    def to_json(self) -> dict[str, Any]:
        """The dashboard as Grafana stores it."""
        data: dict[str, Any] = json.loads(json.dumps(self._builder.build(), cls=JSONEncoder))
        for link in data.get("links", []):
            # The SDK puts links in Grafana 12's controls menu; keep them in the top bar.
            link.pop("placement", None)
        return data


# -- panels ----------------------------------------------------------------------------------


def _thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(dashboard_models.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_models.Threshold(value=v, color=c) for v, c in steps])
    )


def _legend(
    *, right: bool = False, calcs: tuple[str, ...] = ()
) -> common_builders.VizLegendOptions:
    legend = (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(
            common_models.LegendDisplayMode.TABLE if calcs else common_models.LegendDisplayMode.LIST
        )
        .placement(
            common_models.LegendPlacement.RIGHT if right else common_models.LegendPlacement.BOTTOM
        )
    )
    if calcs:
        legend = legend.calcs(list(calcs))
    return legend


def _tooltip() -> common_builders.VizTooltipOptions:
    return (
        common_builders.VizTooltipOptions()
        .mode(common_models.TooltipDisplayMode.MULTI)
        .sort(common_models.SortOrder.DESCENDING)
    )


def _fixed_color(color: str) -> list[dashboard_models.DynamicConfigValue]:
    return [
        dashboard_models.DynamicConfigValue(
            id_val="color", value={"mode": "fixed", "fixedColor": color}
        )
    ]


#: Negative shares (0..1): orange from 35%, red from 50%.
NEGATIVE_SHARE_THRESHOLDS = ((None, "green"), (0.35, "orange"), (0.5, "red"))


def stat_panel(
    title: str,
    description: str,
    *,
    unit: str = "short",
    thresholds: tuple[tuple[float | None, str], ...] = ((None, "blue"),),
    span: int = 6,
    height: int = 4,
    decimals: float | None = None,
    colors: dict[str, str] | None = None,
) -> stat.Panel:
    """A big number (or a few, one per column) for the question in ``title``.

    ``thresholds`` colour the values; ``colors`` fixes the colour of some columns instead.
    """
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .span(span)
        .height(height)
        .thresholds(_thresholds(*thresholds))
        .color_mode(common_models.BigValueColorMode.VALUE)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(common_builders.ReduceDataOptions().values(False).calcs(["lastNotNull"]))
        .no_value("0")
    )
    if decimals is not None:
        panel = panel.decimals(decimals)
    for name, color in (colors or {}).items():
        panel = panel.override_by_name(name, _fixed_color(color))
    return panel


def series_panel(
    title: str,
    description: str,
    *,
    unit: str = "short",
    stacked: bool = False,
    bars: bool = False,
    span: int = 12,
    height: int = 8,
    label: str | None = None,
    min_interval: str | None = None,
    colors: dict[str, str] | None = None,
    legend_calcs: tuple[str, ...] = (),
    max_value: float | None = None,
) -> timeseries.Panel:
    """A time series; ``label`` names the string column whose values name the series."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .unit(unit)
        .span(span)
        .height(height)
        .min(0)
        .legend(_legend(calcs=legend_calcs))
        .tooltip(_tooltip())
        .fill_opacity(60 if bars or stacked else 10)
        .line_width(1)
        .show_points(common_models.VisibilityMode.NEVER)
        .span_nulls(False)
    )
    if max_value is not None:
        panel = panel.max(max_value)
    if bars:
        panel = panel.draw_style(common_models.GraphDrawStyle.BARS)
    if stacked:
        panel = panel.stacking(
            common_builders.StackingConfig().mode(common_models.StackingMode.NORMAL).group("A")
        )
    if label:
        panel = panel.display_name(f"${{__field.labels.{label}}}")
    if min_interval:
        panel = panel.interval(min_interval)
    for name, color in (colors or {}).items():
        panel = panel.override_by_name(name, _fixed_color(color))
    return panel


def table_panel(
    title: str,
    description: str,
    *,
    span: int = 24,
    height: int = 9,
    shares: tuple[str, ...] = (),
    units: dict[str, str] | None = None,
    widths: dict[str, int] | None = None,
    colors: dict[str, dict[str, str]] | None = None,
    links: dict[str, tuple[str, str]] | None = None,
) -> table.Panel:
    """A table.

    ``shares`` are 0..1 fractions shown as percentages, the negative ones (name starting with
    ``negative``) coloured green, orange, red as they grow; ``colors`` maps a column to
    value-to-colour mappings; ``links`` maps a column to (title, url) data links.
    """
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .span(span)
        .height(height)
        .cell_height(common_models.TableCellHeight.SM)
        .show_header(True)
        .filterable(True)
    )
    for name in shares:
        properties = [
            dashboard_models.DynamicConfigValue(id_val="unit", value="percentunit"),
            dashboard_models.DynamicConfigValue(id_val="decimals", value=1),
        ]
        if name.startswith("negative"):
            properties += [
                dashboard_models.DynamicConfigValue(
                    id_val="thresholds",
                    value=_thresholds(*NEGATIVE_SHARE_THRESHOLDS).build().to_json(),
                ),
                dashboard_models.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-text"}
                ),
            ]
        panel = panel.override_by_name(name, properties)
    for name, unit in (units or {}).items():
        panel = panel.override_by_name(
            name, [dashboard_models.DynamicConfigValue(id_val="unit", value=unit)]
        )
    for name, width in (widths or {}).items():
        panel = panel.override_by_name(
            name, [dashboard_models.DynamicConfigValue(id_val="custom.width", value=width)]
        )
    for name, mapping in (colors or {}).items():
        panel = panel.override_by_name(
            name,
            [
                dashboard_models.DynamicConfigValue(
                    id_val="mappings",
                    value=[
                        {
                            "type": "value",
                            "options": {
                                value: {"color": color, "index": i}
                                for i, (value, color) in enumerate(mapping.items())
                            },
                        }
                    ],
                ),
                dashboard_models.DynamicConfigValue(
                    id_val="custom.cellOptions", value={"type": "color-text"}
                ),
            ],
        )
    for name, (link_title, url) in (links or {}).items():
        panel = panel.override_by_name(
            name,
            [
                dashboard_models.DynamicConfigValue(
                    id_val="links", value=[{"title": link_title, "url": url}]
                )
            ],
        )
    return panel


def bar_panel(
    title: str,
    description: str,
    *,
    x_field: str,
    stacked: bool = False,
    horizontal: bool = False,
    unit: str = "short",
    span: int = 12,
    height: int = 8,
    colors: dict[str, str] | None = None,
) -> barchart.Panel:
    """Bars per category (``x_field``, a string column), one bar per numeric column."""
    panel = (
        barchart.Panel()
        .title(title)
        .description(description)
        .x_field(x_field)
        .unit(unit)
        .span(span)
        .height(height)
        .legend(_legend())
        .tooltip(_tooltip())
        .show_value(common_models.VisibilityMode.NEVER)
        .orientation(
            common_models.VizOrientation.HORIZONTAL
            if horizontal
            else common_models.VizOrientation.AUTO
        )
        .stacking(common_models.StackingMode.NORMAL if stacked else common_models.StackingMode.NONE)
        .fill_opacity(80)
    )
    for name, color in (colors or {}).items():
        panel = panel.override_by_name(name, _fixed_color(color))
    return panel


def pie_panel(title: str, description: str, *, span: int = 6, height: int = 8) -> piechart.Panel:
    """A donut of one number per row, named by the row's string column."""
    return (
        piechart.Panel()
        .title(title)
        .description(description)
        .span(span)
        .height(height)
        .reduce_options(common_builders.ReduceDataOptions().values(True).calcs([]))
        .pie_type(piechart_models.PieChartType.DONUT)
        .legend(
            piechart.PieChartLegendOptions()
            .show_legend(True)
            .display_mode(common_models.LegendDisplayMode.TABLE)
            .placement(common_models.LegendPlacement.RIGHT)
            .values(
                [
                    piechart_models.PieChartLegendValues.VALUE,
                    piechart_models.PieChartLegendValues.PERCENT,
                ]
            )
        )
        .tooltip(_tooltip())
    )


# -- variables --------------------------------------------------------------------------------

SOURCE = VariableSpec(
    "source",
    "Source",
    "Where feedback comes from: review, chat or social.",
    """
SELECT DISTINCT source
FROM volume_1m
WHERE $__timeFilter(minute)
ORDER BY source
""",
)

CHANNEL = VariableSpec(
    "channel",
    "Channel",
    "Marketplace, app store, chat or social channel (only those of the selected sources).",
    f"""
SELECT DISTINCT channel
FROM volume_1m
WHERE {all_of("$__timeFilter(minute)", in_variable("source"))}
ORDER BY channel
""",
)

_BRAND_WHERE = all_of(
    "$__timeFilter(minute)",
    "brand != ''",
    selectable("brand"),
    in_variable("source"),
    in_variable("channel"),
)

BRAND = VariableSpec(
    "brand",
    "Brand",
    "Brand named in the message (only those of the selected sources and channels).",
    f"""
SELECT DISTINCT brand
FROM volume_1m
WHERE {_BRAND_WHERE}
ORDER BY brand
""",
)

_PRODUCT_WHERE = all_of(
    "$__timeFilter(created_at)",
    "product != ''",
    selectable("product"),
    in_variable("source"),
    in_variable("channel"),
    in_variable("brand"),
)

PRODUCT = VariableSpec(
    "product",
    "Product",
    "Product named in the message (of the selected sources, channels and brands).",
    f"""
SELECT DISTINCT product
FROM messages
WHERE {_PRODUCT_WHERE}
ORDER BY product
LIMIT 1000
""",
)

_TOPIC_WHERE = all_of(
    "$__timeFilter(minute)",
    selectable("topic"),
    in_variable("source"),
    in_variable("channel"),
    in_variable("brand"),
)

TOPIC = VariableSpec(
    "topic",
    "Topic",
    "Customer-experience topic from the taxonomy (delivery, payment, ...).",
    f"""
SELECT DISTINCT topic
FROM topics_1m
WHERE {_TOPIC_WHERE}
ORDER BY topic
""",
)
