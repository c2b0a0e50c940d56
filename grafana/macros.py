"""Expand a panel, variable or alert query the way Grafana and the ClickHouse plugin do.

No Grafana server runs on the development machines, so the tests expand every query of the
boards and alert rules here and run the result on embedded ClickHouse. Each step mirrors the
source it names (grafana-clickhouse-datasource 4.x, grafana-plugin-sdk-go ``sqlutil``):

1. **Frontend** (dashboards only; alert rules are evaluated in the backend and skip it):

   a. ``$__conditionalAll(condition, $var)``, ``CHDatasource.applyConditionalAll``: from the
      last occurrence backwards, replaced by ``1=1`` when ``$var`` selects All (or an empty
      value), else by ``condition``;
   b. template variables, ``templateSrv.replace`` with the datasource's format function:
      ``$var``, ``${var}``, ``${var:format}`` and ``[[var]]``; All means every option's value
      (or the variable's custom all value, unformatted). The formats are those of Grafana's
      format registry (grafana/scenes, ``packages/scenes/src/variables/interpolation/
      formatRegistry.ts``): ``percentencode`` (``encodeURIComponentStrict``, several values
      as ``{a,b}`` first), ``singlequote``, ``sqlstring``, ``csv``, ``raw``.

2. **Backend**, ``pkg/macros/macros.go`` through ``sqlutil.Interpolate``: the macros are
   applied longest name first; ``$__name`` matches on a word boundary and takes arguments only
   from a bracket directly after the name (nested brackets kept, arguments trimmed):

   ======================== ===========================================================
   ``$__timeFilter(c)``     ``c >= toDateTime(FROM_S) AND c <= toDateTime(TO_S)``
   ``$__timeFilter_ms(c)``  ``c >= fromUnixTimestamp64Milli(FROM_MS) AND c <= ...(TO_MS)``
   ``$__dateFilter(c)``     ``c >= toDate('YYYY-MM-DD') AND c <= toDate('YYYY-MM-DD')``
   ``$__dateTimeFilter``    ``(d >= toDate(..) AND d <= toDate(..)) AND (t >= toDateTime(..)
                            AND t <= toDateTime(..))`` (alias ``$__dt``)
   ``$__fromTime``          ``toDateTime(FROM_S)``; ``$__toTime``: ``toDateTime(TO_S)``
   ``$__fromTime_ms``       ``fromUnixTimestamp64Milli(FROM_MS)``; ``$__toTime_ms`` alike
   ``$__timeInterval(c)``   ``toStartOfInterval(toDateTime(c), INTERVAL N second)``
   ``$__timeInterval_ms(c)`` ``toStartOfInterval(toDateTime64(c, 3), INTERVAL N millisecond)``
   ``$__interval_s``        ``N`` (the panel interval in whole seconds, at least 1)
   ``$__interval_ms``       the panel interval in milliseconds (sqlutil default macro)
   ======================== ===========================================================

   Times are Unix seconds (floored) or milliseconds, so ``$__timeFilter`` has second
   precision and ``$__timeInterval`` buckets align to the Unix epoch (UTC), not to a local
   day. Any other ``$__`` macro left after expansion is an error: a query may only use what
   is implemented (and tested) here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from schemas.errors import ConfigError

#: The value Grafana stores for a variable set to All.
ALL = "$__all"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Variable:
    """A dashboard variable as the frontend sees it when a query runs.

    ``current`` is what is selected: a tuple of values for a multi-value variable (``(ALL,)``
    for All), a single string otherwise. ``options`` are the values the variable offers (All
    expands to them). ``all_value`` is the variable's custom all value, if any.
    """

    name: str
    current: str | tuple[str, ...]
    options: tuple[str, ...] = ()
    all_value: str | None = None

    @classmethod
    def all(cls, name: str, options: Sequence[str], all_value: str | None = None) -> Variable:
        """A multi-value variable with All selected."""
        return cls(name, (ALL,), tuple(options), all_value)

    @classmethod
    def multi(cls, name: str, *values: str, options: Sequence[str] = ()) -> Variable:
        """A multi-value variable with these values selected."""
        return cls(name, tuple(values), tuple(options) or tuple(values))

    @classmethod
    def single(cls, name: str, value: str, options: Sequence[str] = ()) -> Variable:
        """A single-value variable."""
        return cls(name, value, tuple(options) or (value,))

    @property
    def is_all(self) -> bool:
        """Whether All is selected (Grafana's ``isAllValue``)."""
        if isinstance(self.current, tuple):
            return bool(self.current) and self.current[0] == ALL
        return self.current == ALL

    def as_js_string(self) -> str:
        """``current.value.toString()``: arrays join with commas."""
        if isinstance(self.current, tuple):
            return ",".join(self.current)
        return self.current


@dataclass(frozen=True)
class QueryContext:
    """What a query runs with: the time range, the panel interval and the variables."""

    time_from: datetime
    time_to: datetime
    interval: timedelta = timedelta(minutes=1)
    variables: Mapping[str, Variable] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for moment in (self.time_from, self.time_to):
            if moment.tzinfo is None:
                msg = f"query time range must be timezone-aware, got naive {moment.isoformat()}"
                raise ConfigError(msg)
        if self.time_to < self.time_from:
            msg = f"query time range ends before it starts: {self.time_from} > {self.time_to}"
            raise ConfigError(msg)

    def with_variables(self, *variables: Variable) -> QueryContext:
        """A copy with these variables set (others kept)."""
        merged = {**self.variables, **{v.name: v for v in variables}}
        return QueryContext(self.time_from, self.time_to, self.interval, merged)


# -- frontend ---------------------------------------------------------------------------------

_CONDITIONAL_ALL = "$__conditionalAll("
_CONDITIONAL_VAR = re.compile(r"(?<=\$\{)\w+(?=\})|(?<=\$)\w+", re.ASCII)
_ARG_TOKEN = re.compile(r"\(|\)|,")
# templateSrv's variable pattern: $var | [[var(:fmt)]] | ${var(.path)(:fmt)}
_TEMPLATE_VAR = re.compile(
    r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}", re.ASCII
)


def _macro_args(query: str, args_index: int) -> list[str]:
    """``CHDatasource.getMacroArgs``: split ``(a, b(c, d))`` at top-level commas."""
    args: list[str] = []
    depth = 0
    last_end = 1
    rest = query[args_index:]
    for match in _ARG_TOKEN.finditer(rest):
        mark, end = match.group(0), match.end()
        if mark == "(":
            depth += 1
        elif mark == ")":
            depth -= 1
        if mark == "," and depth == 1:
            args.append(rest[last_end : end - 1])
            last_end = end
        if depth == 0:
            args.append(rest[last_end : end - 1])
            return args
    return []


def _js_replace_first(text: str, pattern: str, replacement: str) -> str:
    """``String.prototype.replace`` with a string pattern, including ``$$ $& $` $'``."""
    at = text.find(pattern)
    if at < 0:
        return text
    before, after = text[:at], text[at + len(pattern) :]
    special = {"$": "$", "&": pattern, "`": before, "'": after}
    out: list[str] = []
    i = 0
    while i < len(replacement):
        char = replacement[i]
        if char == "$" and i + 1 < len(replacement) and replacement[i + 1] in special:
            out.append(special[replacement[i + 1]])
            i += 2
            continue
        out.append(char)
        i += 1
    return before + "".join(out) + after


def apply_conditional_all(sql: str, variables: Mapping[str, Variable]) -> str:
    """Expand every ``$__conditionalAll(condition, $var)`` as the plugin's frontend does."""
    index = sql.rfind(_CONDITIONAL_ALL)
    while index != -1:
        params = _macro_args(sql, index + len(_CONDITIONAL_ALL) - 1)
        if len(params) != 2:
            return sql
        phrase = params[0]
        named = _CONDITIONAL_VAR.search(params[1].strip())
        if named:
            variable = variables.get(named.group(0))
            if variable is not None and variable.as_js_string() in ("", ALL):
                phrase = "1=1"
        sql = _js_replace_first(sql, f"{_CONDITIONAL_ALL}{params[0]},{params[1]})", phrase)
        index = sql.rfind(_CONDITIONAL_ALL)
    return sql


def _datasource_format(value: str | list[str]) -> str:
    """The ClickHouse datasource's format function: lists become ``'a','b'``, unescaped."""
    if isinstance(value, list):
        return "'" + "','".join(value) + "'"
    return value


def _percent_encode(value: str) -> str:
    """``encodeURIComponentStrict``: all but ``A-Z a-z 0-9 - _ . ~`` as UTF-8 ``%XX``."""
    return quote(value, safe="")


def _format_value(value: str | list[str], fmt: str | None) -> str:
    if fmt is None:
        return _datasource_format(value)
    if fmt == "percentencode":  # like glob, but URL-escaped: {a,b} for several values
        return _percent_encode("{" + ",".join(value) + "}" if isinstance(value, list) else value)
    values = value if isinstance(value, list) else [value]
    if fmt == "singlequote":
        return ",".join("'" + v.replace("'", "\\'") + "'" for v in values)
    if fmt == "sqlstring":
        return ",".join("'" + v.replace("'", "''").replace('"', '\\"') + "'" for v in values)
    if fmt == "csv":
        return ",".join(values)
    if fmt == "raw":
        return value if isinstance(value, str) else ",".join(values)
    msg = (
        f"variable format {fmt!r} is not implemented; use percentencode, singlequote, "
        "sqlstring, csv or raw"
    )
    raise ConfigError(msg)


def replace_variables(sql: str, variables: Mapping[str, Variable]) -> str:
    """``templateSrv.replace(sql, scopedVars, datasource.format)``; unknown names stay as is."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if match.group(5):
            msg = f"variable field paths are not implemented: {match.group(0)!r}"
            raise ConfigError(msg)
        variable = variables.get(name)
        if variable is None:
            return match.group(0)
        value: str | list[str]
        if variable.is_all:
            if variable.all_value is not None:
                return variable.all_value
            value = [o for o in variable.options if o != ALL]
        elif isinstance(variable.current, tuple):
            value = list(variable.current)
        else:
            value = variable.current
        return _format_value(value, fmt)

    return _TEMPLATE_VAR.sub(substitute, sql)


def expand_frontend(sql: str, variables: Mapping[str, Variable]) -> str:
    """What the browser sends: conditional-All macros, then template variables."""
    return replace_variables(apply_conditional_all(sql, variables), variables)


# -- backend ----------------------------------------------------------------------------------

MacroFunc = Callable[[QueryContext, list[str] | None], str]


def _unix_s(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(seconds=1)


def _unix_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _datetime(moment: datetime) -> str:
    return f"toDateTime({_unix_s(moment)})"


def _datetime64(moment: datetime) -> str:
    return f"fromUnixTimestamp64Milli({_unix_ms(moment)})"


def _date(moment: datetime) -> str:
    return f"toDate('{moment.astimezone(UTC):%Y-%m-%d}')"


def _args(name: str, args: list[str] | None, count: int) -> list[str]:
    got = len(args) if args is not None else 0
    if args is None or got != count:
        msg = f"$__{name}: expected {count} argument(s), received {got}"
        raise ConfigError(msg)
    return args


def _interval_seconds(ctx: QueryContext) -> int:
    return int(max(ctx.interval.total_seconds(), 1))


def _time_filter(ctx: QueryContext, args: list[str] | None) -> str:
    (column,) = _args("timeFilter", args, 1)
    return f"{column} >= {_datetime(ctx.time_from)} AND {column} <= {_datetime(ctx.time_to)}"


def _time_filter_ms(ctx: QueryContext, args: list[str] | None) -> str:
    (column,) = _args("timeFilter_ms", args, 1)
    return f"{column} >= {_datetime64(ctx.time_from)} AND {column} <= {_datetime64(ctx.time_to)}"


def _date_filter(ctx: QueryContext, args: list[str] | None) -> str:
    (column,) = _args("dateFilter", args, 1)
    return f"{column} >= {_date(ctx.time_from)} AND {column} <= {_date(ctx.time_to)}"


def _date_time_filter(ctx: QueryContext, args: list[str] | None) -> str:
    date_col, time_col = _args("dateTimeFilter", args, 2)
    dates = f"({date_col} >= {_date(ctx.time_from)} AND {date_col} <= {_date(ctx.time_to)})"
    times = f"({time_col} >= {_datetime(ctx.time_from)} AND {time_col} <= {_datetime(ctx.time_to)})"
    return f"{dates} AND {times}"


def _time_interval(ctx: QueryContext, args: list[str] | None) -> str:
    (column,) = _args("timeInterval", args, 1)
    return f"toStartOfInterval(toDateTime({column}), INTERVAL {_interval_seconds(ctx)} second)"


def _time_interval_ms(ctx: QueryContext, args: list[str] | None) -> str:
    (column,) = _args("timeInterval_ms", args, 1)
    millis = int(max(ctx.interval // timedelta(milliseconds=1), 1))
    return f"toStartOfInterval(toDateTime64({column}, 3), INTERVAL {millis} millisecond)"


#: The backend macros: the plugin's map plus the sqlutil default it relies on.
BACKEND_MACROS: dict[str, MacroFunc] = {
    "fromTime": lambda ctx, _: _datetime(ctx.time_from),
    "toTime": lambda ctx, _: _datetime(ctx.time_to),
    "fromTime_ms": lambda ctx, _: _datetime64(ctx.time_from),
    "toTime_ms": lambda ctx, _: _datetime64(ctx.time_to),
    "timeFilter": _time_filter,
    "timeFilter_ms": _time_filter_ms,
    "dateFilter": _date_filter,
    "dateTimeFilter": _date_time_filter,
    "dt": _date_time_filter,
    "timeInterval": _time_interval,
    "timeInterval_ms": _time_interval_ms,
    "interval_s": lambda ctx, _: str(_interval_seconds(ctx)),
    "interval_ms": lambda ctx, _: str(ctx.interval // timedelta(milliseconds=1)),
}

_LEFTOVER_MACRO = re.compile(r"\$__\w+", re.ASCII)


def _parse_args(text: str) -> tuple[list[str] | None, int]:
    """``sqlutil.parseArgs``: a bracketed argument list at the very start of ``text``."""
    if not text.startswith("("):
        return None, 0
    args: list[str] = []
    depth = 0
    current: list[str] = []
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
            if depth == 1:
                continue
        elif char == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(current).strip())
                return args, i + 1
        elif char == "," and depth == 1:
            args.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    return None, -1


def expand_backend(sql: str, ctx: QueryContext) -> str:
    """``sqlutil.Interpolate(query, macros.Macros)``: the plugin's server-side expansion."""
    for name in sorted(BACKEND_MACROS, key=lambda n: (-len(n), n)):
        pattern = re.compile(rf"\$__{name}\b", re.ASCII)
        matches: list[tuple[str, list[str] | None]] = []
        for found in pattern.finditer(sql):
            args, length = _parse_args(sql[found.end() :])
            if length < 0:
                msg = f"failed to parse macro arguments (missing close bracket?) in $__{name}"
                raise ConfigError(msg)
            matches.append((sql[found.start() : found.end() + length], args))
        for full, args in matches:
            sql = sql.replace(full, BACKEND_MACROS[name](ctx, args))
    leftover = sorted(set(_LEFTOVER_MACRO.findall(sql)))
    if leftover:
        msg = f"macros not expanded (not implemented by the plugin or here): {', '.join(leftover)}"
        raise ConfigError(msg)
    return sql


def expand_panel_query(sql: str, ctx: QueryContext) -> str:
    """A dashboard panel or variable query as ClickHouse receives it."""
    return expand_backend(expand_frontend(sql, ctx.variables), ctx)


def expand_alert_query(sql: str, ctx: QueryContext) -> str:
    """An alert rule query as ClickHouse receives it: no variables, backend macros only.

    Alert rules run in the backend: dashboard variables, ``$__conditionalAll`` and ad-hoc
    filters do not exist there, so any ``$name`` left after the macros is an error.
    """
    if ctx.variables:
        msg = f"alert rules have no dashboard variables, got {sorted(ctx.variables)}"
        raise ConfigError(msg)
    expanded = expand_backend(sql, ctx)
    stray = sorted({m.group(0) for m in _TEMPLATE_VAR.finditer(expanded)})
    if stray:
        msg = f"alert query uses template variables, which alert rules cannot: {stray}"
        raise ConfigError(msg)
    return expanded
