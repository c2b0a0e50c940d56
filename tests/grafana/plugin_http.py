"""The HTTP requests the Grafana ClickHouse plugin sends with ``protocol: http``, replayed.

Taken from the plugin's source (grafana/clickhouse-datasource ``pkg/plugin/driver.go``,
``health.go``, ``schema.go``) and its driver's (ClickHouse/clickhouse-go ``conn_http.go``,
``conn_http_query.go``, ``lib/proto/block.go``, ``context.go``):

- every request is a ``POST`` of the SQL to ``/`` with the datasource's ``database``, its
  settings (the query timeout as ``max_execution_time``: the driver adds the context's
  deadline plus 5 s), ``default_format=Native`` and ``client_protocol_version`` (the driver's
  TCP protocol revision); headers ``Accept-Encoding: gzip`` (the plugin's compression for
  http), the driver's ``User-Agent`` and Basic authorization (user and password, no TLS);
- a connection starts with ``SELECT displayName(), version(), revision(), timezone()``,
  decoded at the driver's revision; later answers are decoded at the server's revision;
- the health check is the connection plus ``SELECT 1``, whose one column must be named ``1``;
- a body that is not gzip (the server did not compress) is read as is; an empty body is an
  empty result; a status other than 200 is an error carrying the body.
"""

from __future__ import annotations

import base64
import gzip
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.support.native_decoder import rows_of

#: clickhouse-go's DBMS_TCP_PROTOCOL_VERSION (v2.3x and later).
DRIVER_REVISION = 54460
USER_AGENT = (
    "clickhouse-go/2.40.3 (lv:go/1.24.5; os:linux) grafana/12.1.0 clickhouse-datasource/4.20.0"
)


class PluginError(Exception):
    """A non-200 answer, as the driver reports it: ``[HTTP status] response body: "..."``."""

    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        super().__init__(f'[HTTP {status}] response body: "{body}"')
        self.status = status
        self.headers = headers
        self.body = body


@dataclass
class Frame:
    """A decoded answer: column names and types, rows, and the headers it came with."""

    names: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    headers: dict[str, str]


class PluginConnection:
    """One connection of the plugin's driver: the hello, then queries."""

    def __init__(
        self,
        url: str,
        *,
        user: str = "default",
        password: str = "",
        database: str = "voc",
        query_timeout_s: int = 60,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        self.settings = {"max_execution_time": str(query_timeout_s + 5)}
        self.authorization = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.revision = DRIVER_REVISION  # "Preflight uses hardcoded revision"
        hello = self.query("SELECT displayName(), version(), revision(), timezone()")
        self.display_name, self.version, revision, self.timezone = hello.rows[0]
        self.revision = int(revision)

    def query(self, sql: str) -> Frame:
        """Send ``sql`` the way the driver does and decode the Native answer."""
        params = {
            "database": self.database,
            **self.settings,
            "default_format": "Native",
            "client_protocol_version": str(DRIVER_REVISION),
        }
        request = urllib.request.Request(  # noqa: S310 - the endpoint's http URL
            f"{self.url}/?{urlencode(params)}",
            data=sql.encode(),
            method="POST",
            headers={
                "Accept-Encoding": "gzip",
                "User-Agent": USER_AGENT,
                "Authorization": self.authorization,
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=60) as response:
                headers = dict(response.headers)
                body = response.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            if exc.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            raise PluginError(exc.code, dict(exc.headers), raw.decode()) from None
        if headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        names, types, rows = rows_of(body, self.revision)
        return Frame(names, types, rows, headers)

    def health_check(self) -> bool:
        """The health check (sqlds): the driver's ping, ``SELECT 1`` with a column named ``1``."""
        return self.query("SELECT 1").names == ["1"]
