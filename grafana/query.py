"""The ClickHouse query of grafana-clickhouse-datasource, as a foundation-SDK dataquery.

grafana-foundation-sdk 0.0.21 has no ClickHouse query type, so this module adds one: the
plugin's SQL-editor query (``CHSqlQuery`` in the plugin's ``src/types/sql.ts``)::

    {"refId": "A", "datasource": {"type": "grafana-clickhouse-datasource", "uid": "..."},
     "editorType": "sql", "rawSql": "SELECT ...", "format": 1, "queryType": "table",
     "pluginVersion": "4.20.0"}

``format`` is a number read by the backend (``sqlutil.FormatQueryOption``): 0 time series
(a long frame is pivoted to wide, rows must be sorted by time), 1 table. ``queryType``
(``timeseries`` | ``table``) tells the editor which it is. Without a ``pluginVersion`` of
4.0.0 or later, the plugin treats a saved query as a v3 query and migrates it on load.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.common import DataSourceRef

#: The datasource plugin these queries are for.
PLUGIN_ID = "grafana-clickhouse-datasource"
#: The oldest plugin version the boards are written for (needs Grafana 11.6 or later).
PLUGIN_VERSION = "4.20.0"
#: The provisioned datasource's fixed uid (``provisioning/datasources/clickhouse.yaml``).
DATASOURCE_UID = "voc-clickhouse"


class Format(Enum):
    """How the backend shapes the result (``sqlutil.FormatQueryOption``) and the editor's type."""

    TIME_SERIES = (0, "timeseries")
    TABLE = (1, "table")

    @property
    def code(self) -> int:
        """The number the backend reads from ``format``."""
        return self.value[0]

    @property
    def query_type(self) -> str:
        """The editor's ``queryType``."""
        return self.value[1]


def datasource_ref(uid: str = DATASOURCE_UID) -> DataSourceRef:
    """A reference to the provisioned ClickHouse datasource."""
    return DataSourceRef(type_val=PLUGIN_ID, uid=uid)


@dataclass(frozen=True)
class ClickHouseQuery(cogvariants.Dataquery):
    """One SQL query of a panel (a dataquery variant the SDK serializes with ``to_json``)."""

    ref_id: str
    raw_sql: str
    format: Format
    datasource_uid: str = DATASOURCE_UID

    def to_json(self) -> dict[str, Any]:
        """The query as stored in the dashboard JSON."""
        return {
            "refId": self.ref_id,
            "datasource": {"type": PLUGIN_ID, "uid": self.datasource_uid},
            "editorType": "sql",
            "rawSql": self.raw_sql,
            "format": self.format.code,
            "queryType": self.format.query_type,
            "pluginVersion": PLUGIN_VERSION,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClickHouseQuery:
        """Read a query back from dashboard JSON (for tests and tooling)."""
        formats = {f.code: f for f in Format}
        return cls(
            ref_id=str(data["refId"]),
            raw_sql=str(data["rawSql"]),
            format=formats[int(data["format"])],
            datasource_uid=str(data["datasource"]["uid"]),
        )


class ClickHouseQueryBuilder(cogbuilder.Builder[cogvariants.Dataquery]):
    """Builds a :class:`ClickHouseQuery` for ``panel.with_target(...)``."""

    def __init__(self, raw_sql: str, format: Format = Format.TABLE, ref_id: str = "A"):
        self._query = ClickHouseQuery(ref_id, raw_sql.strip(), format)

    def build(self) -> ClickHouseQuery:
        """The query."""
        return self._query


def variable_query(raw_sql: str, name: str) -> dict[str, Any]:
    """The stored query of a query variable: custom SQL, read by both variable editors.

    Plugin versions with the guided variable editor read ``rawSql`` of a ``queryType: sql``
    object; older ones pass the object to ``metricFindQuery``, which runs ``rawSql`` with
    ``editorType: sql``.
    """
    return {"refId": name, "queryType": "sql", "editorType": "sql", "rawSql": raw_sql.strip()}
