"""The read endpoint: ClickHouse's HTTP interface over the embedded store this process owns.

What it implements is the part clickhouse-connect's HTTP client and the Grafana ClickHouse
plugin (clickhouse-go, protocol ``http``) use:

- ``GET /`` and ``GET /ping`` answer ``Ok.``; ``GET /?query=…`` and ``POST /`` run a query:
  the ``query`` parameter, then the body (or the ``query`` and ``param_*`` fields of a
  ``multipart/form-data`` body);
- ``database``, ``default_format`` (else ``TabSeparated``; a ``FORMAT`` clause wins),
  ``param_*`` bound as ``{name:Type}``, every other parameter applied as a setting, except
  those that shape the HTTP exchange itself (``query_id``, ``session_id``,
  ``wait_end_of_query``, ``enable_http_compression``, ...);
- ``client_protocol_version``: Native results in the block layout of that revision
  (:mod:`flows.endpoint.native`);
- the answer headers those clients read: ``X-ClickHouse-Summary``, ``-Format``,
  ``-Timezone``, ``-Query-Id``, ``-Server-Display-Name``, and on an error
  ``X-ClickHouse-Exception-Code`` with ClickHouse's status code and a
  ``Code: N. DB::Exception: …`` body;
- a gzip (or deflate) body when the client accepts it and sets ``enable_http_compression``;
- user and password by ``X-ClickHouse-User``/``-Key`` headers, Basic authorization or the
  ``user``/``password`` parameters, checked against ``VOC_SERVE_USER``/``VOC_SERVE_PASSWORD``.

Only read statements run (:mod:`flows.endpoint.sql`), and each runs on its own chDB
connection to the engine: the database, the query string's settings and the statement's
top-level ``SETTINGS`` applied, then ``readonly = 1`` (which also keeps table functions from
reaching files or the network). chDB runs queries of different connections at the same time,
while one connection runs its queries one after another. Writes stay in the flow. A result
is built in memory before it is sent, so its status and headers are final.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hmac
import json
import logging
import os
import re
import socket
import threading
import time
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from flows.endpoint import address as addresses
from flows.endpoint.native import NativeError, for_revision
from flows.endpoint.sql import Statement, StatementError, inspect

log = logging.getLogger("flows.endpoint")

#: Queries run at the same time; more wait for a free slot (each has up to the engine's
#: threads: beyond a few, concurrent queries only share the same cores).
MAX_CONCURRENT_QUERIES = 8
#: Seconds a query waits for a free slot before it is refused (TOO_MANY_SIMULTANEOUS_QUERIES).
SLOT_WAIT_S = 60.0
#: Largest request body read (a query with its form fields).
MAX_BODY_BYTES = 64 * 1024 * 1024

#: Parameters that shape the HTTP exchange (or ClickHouse sessions): never engine settings.
TRANSPORT_PARAMETERS = frozenset({
    "query", "database", "default_format", "user", "password", "query_id", "quota_key",
    "session_id", "session_timeout", "session_check", "compress", "decompress", "buffer_size",
    "wait_end_of_query", "client_protocol_version", "role", "stacktrace",
    "enable_http_compression", "http_zlib_compression_level", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "http_wait_end_of_query", "http_response_buffer_size",
    "cancel_http_readonly_queries_on_client_close", "add_http_cors_header",
    "http_write_exception_in_output_format",
    "http_native_compression_disable_checksumming_on_decompress",
})  # fmt: skip
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE = re.compile(r"Code: (\d+)\.")
_ERROR_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)(?:\s*\(version [^)]*\))?\.?\s*$")

#: ClickHouse's HTTP status for an exception code (its exceptionCodeToHTTPStatus); others 500.
_STATUS = {
    194: 401,  # REQUIRED_PASSWORD
    **dict.fromkeys((192, 193, 516, 512), 403),  # wrong user, password, role
    **dict.fromkeys(  # bad arguments, cannot parse, syntax, bad data
        (
            36,
            427,
            6,
            25,
            26,
            38,
            41,
            72,
            441,
            675,
            676,
            27,
            376,
            15,
            44,
            37,
            123,
            8,
            167,
            168,
            223,
            62,
            117,
            53,
            321,
        ),
        400,
    ),
    **dict.fromkeys(  # unknown table, function, identifier, type, database, setting, format...
        (60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511), 404
    ),
    229: 413,  # QUERY_IS_TOO_LARGE
    48: 501,  # NOT_IMPLEMENTED
    **dict.fromkeys((209, 76, 439), 503),  # SOCKET_TIMEOUT, CANNOT_OPEN_FILE, CANNOT_SCHEDULE_TASK
    381: 411,  # HTTP_LENGTH_REQUIRED
    159: 408,  # TIMEOUT_EXCEEDED
}
_BINARY_FORMATS = re.compile(
    r"^(Native|RowBinary|Parquet|Arrow|ORC|Avro|MsgPack|Protobuf|CapnProto)", re.I
)
_CONTENT_TYPES = (
    (re.compile(r"^(TabSeparated|TSV)", re.I), "text/tab-separated-values; charset=UTF-8"),
    (re.compile(r"^CSV", re.I), "text/csv; charset=UTF-8"),
    (re.compile(r"^JSON", re.I), "application/json; charset=UTF-8"),
    (_BINARY_FORMATS, "application/octet-stream"),
    (re.compile(r"^XML", re.I), "application/xml; charset=UTF-8"),
)


class QueryError(Exception):
    """A request that fails the way ClickHouse fails it: an exception code and a message."""

    def __init__(self, code: int, message: str, name: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.name = name

    @classmethod
    def from_engine(cls, exc: BaseException) -> QueryError:
        """The error chDB raised, with the code and name in its message."""
        text = str(exc).strip()
        at = text.find("Code: ")
        if at > 0:
            text = text[at:]
        found = _CODE.search(text)
        return cls(int(found.group(1)) if found else 1000, text)

    @property
    def status(self) -> int:
        """The HTTP status ClickHouse answers this code with."""
        return _STATUS.get(self.code, 500)

    def body(self, version: str) -> bytes:
        """The error as ClickHouse writes it: ``Code: N. DB::Exception: … (NAME) (version V)``."""
        text = str(self)
        if not text.startswith("Code: "):
            name = f" ({self.name})" if self.name else ""
            text = f"Code: {self.code}. DB::Exception: {text}{name}"
        if "(version " not in text:
            text = f"{text} (version {version})"
        return (text + "\n").encode()


@dataclass(frozen=True)
class ServerFacts:
    """What the engine says about itself, read once when the endpoint starts."""

    version: str
    display_name: str
    timezone: str


@dataclass
class Request:
    """One query request, its parts taken apart."""

    sql: str
    database: str
    default_format: str
    settings: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    query_id: str = ""
    protocol_version: int = 0
    compress: bool = False


class ReadEndpoint:
    """Serves reads of the chDB store in ``data_dir`` over HTTP until stopped.

    ``port`` 0 picks a free port. Starting it binds the address, opens a connection that
    keeps the engine up while it serves, and writes the address file the read commands find
    (:mod:`flows.endpoint.address`); stopping undoes all three.
    """

    def __init__(
        self,
        data_dir: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str = "default",
        password: str = "",
        command: str = "voc",
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self.user = user
        self.command = command
        self._password = password
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_QUERIES)
        # Queries in flight, and whether the endpoint is closing: a query must not run on
        # the engine once the process may shut it down (that ends in a crash inside chDB).
        self._state = threading.Condition()
        self._running = 0
        self._closing = False
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._anchor: Any = None
        self.facts = ServerFacts("", "", "UTC")
        self.address: addresses.Address | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> addresses.Address:
        """Listen, keep the engine open, and publish the address; returns it."""
        import chdb

        self._server = _Server((self.host, self.port), self)
        try:
            self._anchor = chdb.connect(self.data_dir)  # type: ignore[no-untyped-call]
            row = self._anchor.query(
                "SELECT version(), displayName(), timezone()", "TabSeparated"
            ).bytes()
            version, display_name, zone = row.decode().rstrip("\n").split("\t")
            self.facts = ServerFacts(version, display_name, zone)
        except Exception:
            self._server.server_close()
            self._close_anchor()
            raise
        bound_host, bound_port = self._server.server_address[:2]
        self.address = addresses.Address(
            host=str(bound_host),
            port=int(bound_port),
            pid=os.getpid(),
            command=self.command,
            instance=uuid.uuid4().hex,
            user=self.user,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="voc-read-endpoint", daemon=True
        )
        self._thread.start()
        addresses.publish(self.data_dir, self.address)
        log.debug("read endpoint at %s for %s", self.address.url, self.data_dir)
        return self.address

    def stop(self) -> None:
        """Withdraw the address, stop listening, let queries in flight finish, close the engine.

        Requests arriving meanwhile (on connections kept alive) are refused without touching
        the engine.
        """
        if self.address is not None:
            with contextlib.suppress(OSError):
                addresses.withdraw(self.data_dir, self.address)
        with self._state:
            self._closing = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        with self._state:
            if not self._state.wait_for(lambda: self._running == 0, timeout=SLOT_WAIT_S):
                log.warning("%d queries still running as the read endpoint stops", self._running)
        self._close_anchor()

    def _close_anchor(self) -> None:
        if self._anchor is not None:
            with contextlib.suppress(Exception):
                self._anchor.close()
            self._anchor = None

    def __enter__(self) -> ReadEndpoint:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- requests ----------------------------------------------------------------------------

    def authenticate(self, user: str, password: str) -> None:
        """Check a request's credentials (ClickHouse's AUTHENTICATION_FAILED if wrong)."""
        same_user = hmac.compare_digest(user.encode(), self.user.encode())
        same_password = hmac.compare_digest(password.encode(), self._password.encode())
        if not (same_user and same_password):
            msg = (
                f"{user}: Authentication failed: password is incorrect, or there is no user "
                "with such name"
            )
            raise QueryError(516, msg, "AUTHENTICATION_FAILED")

    def run(self, request: Request) -> tuple[bytes, str, dict[str, str]]:
        """Run a read; returns the body, its format and the summary header's fields."""
        try:
            statement = inspect(request.sql)
        except StatementError as exc:
            raise QueryError(exc.code, str(exc), exc.name) from exc
        fmt = statement.format or request.default_format or "TabSeparated"
        if not self._slots.acquire(timeout=SLOT_WAIT_S):
            msg = f"Too many simultaneous queries. Maximum: {MAX_CONCURRENT_QUERIES}"
            raise QueryError(202, msg, "TOO_MANY_SIMULTANEOUS_QUERIES")
        started = time.perf_counter()
        try:
            with self._state:
                if self._closing:
                    msg = "the voc read endpoint is stopping: the store's owner is ending"
                    raise QueryError(210, msg, "NETWORK_ERROR")
                self._running += 1
            try:
                body, result = self._execute(request, statement, fmt)
            finally:
                with self._state:
                    self._running -= 1
                    self._state.notify_all()
        finally:
            self._slots.release()
        if fmt.lower() == "native" and request.protocol_version > 0:
            try:
                body = for_revision(body, request.protocol_version)
            except NativeError as exc:
                raise QueryError(48, str(exc), "NOT_IMPLEMENTED") from exc
        summary = _summary(result, len(body), time.perf_counter() - started)
        return body, fmt, summary

    def _execute(self, request: Request, statement: Statement, fmt: str) -> tuple[bytes, Any]:
        """Run the statement on a connection of its own: database, settings, then readonly."""
        import chdb

        lifted = [(name, value) for name, value in statement.settings if name != "readonly"]
        for name, _ in lifted:
            if not _SETTING_NAME.match(name):
                msg = f"Unknown setting '{name}'"
                raise QueryError(115, msg, "UNKNOWN_SETTING")
        try:
            connection = chdb.connect(self.data_dir)  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc
        try:
            if request.database:
                connection.query(f"USE {_identifier(request.database)}", "TabSeparated")
            for name, value in request.settings.items():
                connection.query(f"SET {name} = {_literal(value)}", "TabSeparated")
            for name, literal in lifted:
                connection.query(f"SET {name} = {literal}", "TabSeparated")
            connection.query("SET readonly = 1", "TabSeparated")
            result = connection.query(statement.text, fmt, params=request.params)
            return bytes(result.bytes() or b""), result
        except Exception as exc:
            raise QueryError.from_engine(exc) from exc
        finally:
            with contextlib.suppress(Exception):
                connection.close()


def _identifier(name: str) -> str:
    """A back-quoted identifier."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _literal(value: str) -> str:
    """A quoted string literal (ClickHouse converts it to the setting's type)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _summary(result: Any, size: int, seconds: float) -> dict[str, str]:
    read_rows = read_bytes = 0
    with contextlib.suppress(Exception):
        read_rows, read_bytes = int(result.rows_read()), int(result.bytes_read())
    return {
        "read_rows": str(read_rows),
        "read_bytes": str(read_bytes),
        "written_rows": "0",
        "written_bytes": "0",
        "total_rows_to_read": str(read_rows),
        "result_bytes": str(size),
        "elapsed_ns": str(int(seconds * 1e9)),
    }


def content_type(fmt: str) -> str:
    """The Content-Type ClickHouse sends with a result in ``fmt``."""
    for pattern, kind in _CONTENT_TYPES:
        if pattern.match(fmt):
            return kind
    return "text/plain; charset=UTF-8"


class _Server(ThreadingHTTPServer):
    """One thread per connection; the endpoint it serves."""

    daemon_threads = True
    allow_reuse_address = True  # a closed port in TIME_WAIT can be served again at once

    def __init__(self, address: tuple[str, int], endpoint: ReadEndpoint) -> None:
        self.endpoint = endpoint
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    """ClickHouse's HTTP interface, the part HTTP clients of ClickHouse use."""

    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "voc-read-endpoint"
    sys_version = ""
    # Headers and body go out in two writes: without TCP_NODELAY the second waits for the
    # client's delayed ACK (40 ms a request on Linux).
    disable_nagle_algorithm = True
    error_message_format = "%(message)s\n"
    ANSWERS: ClassVar[dict[str, bytes]] = {"/": b"Ok.\n", "/ping": b"Ok.\n"}

    def log_message(self, format: str, *args: Any) -> None:
        """Requests go to the debug log, not stderr."""
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        """``/`` and ``/ping`` answer ``Ok.``; ``/?query=…`` runs the query."""
        self._serve(body=b"")

    def do_POST(self) -> None:
        """The query in the body (after the ``query`` parameter, if any)."""
        try:
            body = self._body()
        except QueryError as exc:
            self._fail(exc, str(uuid.uuid4()))
            return
        self._serve(body=body)

    def do_HEAD(self) -> None:
        """Liveness for load balancers: the headers of ``GET /ping``."""
        self._answer(200, b"", {"Content-Type": "text/html; charset=UTF-8"}, head=True)

    # -- request handling -----------------------------------------------------------------

    def _serve(self, body: bytes) -> None:
        endpoint = self.server.endpoint
        parts = urlsplit(self.path)
        route = parts.path.rstrip("/") or "/"
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        query_id = params.get("query_id") or self.headers.get("X-ClickHouse-Query-Id") or ""
        query_id = query_id or str(uuid.uuid4())
        if route == "/ping" or (route == "/" and not body and "query" not in params):
            extra = {"Content-Type": "text/html; charset=UTF-8"}
            if route == "/ping" and endpoint.address is not None:
                extra[addresses.INSTANCE_HEADER] = endpoint.address.instance
            self._answer(200, b"Ok.\n", extra)
            return
        if route != "/":
            self._answer(404, f"There is no handle {parts.path}\n".encode(), {})
            return
        try:
            form = self._form(body)
            if form is not None:
                params.update(form)
                body = b""
            endpoint.authenticate(*self._credentials(params))
            request = self._request(params, body, query_id)
            result, fmt, summary = endpoint.run(request)
        except QueryError as exc:
            self._fail(exc, query_id)
            return
        headers = {
            "Content-Type": content_type(fmt),
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Summary": json.dumps(summary, separators=(",", ":")),
        }
        headers.update(self._common(query_id, request.settings))
        if request.compress:
            result, encoding = self._compressed(result, params)
            if encoding:
                headers["Content-Encoding"] = encoding
        self._answer(200, result, headers)

    def _request(self, params: dict[str, str], body: bytes, query_id: str) -> Request:
        if params.get("compress", "0") not in ("0", "false", ""):
            msg = (
                "compress=1 (ClickHouse's own block compression) is not supported by the voc "
                "read endpoint; ask for gzip with Accept-Encoding"
            )
            raise QueryError(48, msg, "NOT_IMPLEMENTED")
        if "readonly" in params and params["readonly"] not in ("1", "2"):
            msg = "Cannot modify 'readonly' setting in readonly mode"
            raise QueryError(164, msg, "READONLY")
        text = params.get("query", "")
        try:
            sent = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            msg = "the query is not valid UTF-8"
            raise QueryError(27, msg, "CANNOT_PARSE_INPUT_ASSERTION_FAILED") from exc
        sql = f"{text}\n{sent}" if text and sent else (text or sent)
        try:
            protocol = int(params.get("client_protocol_version", "0") or 0)
        except ValueError as exc:
            given = params["client_protocol_version"]
            msg = f"client_protocol_version must be a number, got {given!r}"
            raise QueryError(36, msg, "BAD_ARGUMENTS") from exc
        settings = {
            k: v
            for k, v in params.items()
            if k not in TRANSPORT_PARAMETERS and not k.startswith("param_") and k != "readonly"
        }
        for name in settings:
            if not _SETTING_NAME.match(name):
                msg = f"Unknown setting '{name}'"
                raise QueryError(115, msg, "UNKNOWN_SETTING")
        accepts = self.headers.get("Accept-Encoding", "")
        wants = params.get("enable_http_compression", "0") in ("1", "true")
        return Request(
            sql=sql,
            database=params.get("database", ""),
            default_format=params.get("default_format", ""),
            settings=settings,
            params={k[6:]: v for k, v in params.items() if k.startswith("param_")},
            query_id=query_id,
            protocol_version=protocol,
            compress=wants and ("gzip" in accepts or "deflate" in accepts),
        )

    def _credentials(self, params: dict[str, str]) -> tuple[str, str]:
        """User and password, from exactly one of ClickHouse's three ways of sending them."""
        header_user = self.headers.get("X-ClickHouse-User")
        header_key = self.headers.get("X-ClickHouse-Key")
        authorization = self.headers.get("Authorization")
        in_params = "user" in params or "password" in params
        in_headers = header_user is not None or header_key is not None
        ways = sum((in_headers, bool(authorization), in_params))
        if ways > 1:
            msg = (
                "Invalid authentication: it is not allowed to use several authentication "
                "methods simultaneously"
            )
            raise QueryError(516, msg, "AUTHENTICATION_FAILED")
        if in_headers:
            return header_user or "default", header_key or ""
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "basic":
                msg = (
                    f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported"
                )
                raise QueryError(516, msg, "AUTHENTICATION_FAILED")
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                msg = "Invalid authentication: malformed Basic credentials"
                raise QueryError(516, msg, "AUTHENTICATION_FAILED") from exc
            return user or "default", password
        return params.get("user") or "default", params.get("password", "")

    def _body(self) -> bytes:
        """The request body: by length or chunked, decoded if gzip or deflate."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > MAX_BODY_BYTES:
                    break
            body = bytes(data)
        else:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                msg = f"the request body of {length} bytes is over {MAX_BODY_BYTES}"
                raise QueryError(229, msg, "QUERY_IS_TOO_LARGE")
            body = self.rfile.read(length) if length else b""
        if len(body) > MAX_BODY_BYTES:
            msg = f"the request body is over {MAX_BODY_BYTES} bytes"
            raise QueryError(229, msg, "QUERY_IS_TOO_LARGE")
        encoding = self.headers.get("Content-Encoding", "").lower()
        try:
            if encoding == "gzip":
                return gzip.decompress(body)
            if encoding == "deflate":
                return zlib.decompress(body)
        except (OSError, zlib.error) as exc:
            msg = f"cannot decompress the {encoding} request body: {exc}"
            raise QueryError(432, msg, "UNKNOWN_CODEC") from exc
        if encoding not in ("", "identity"):
            msg = f"Unknown Content-Encoding of the request: {encoding}"
            raise QueryError(432, msg, "UNKNOWN_CODEC")
        return body

    def _form(self, body: bytes) -> dict[str, str] | None:
        """The text fields of a multipart/form-data body (query, param_*), if it is one."""
        kind = self.headers.get("Content-Type", "")
        if not kind.lower().startswith("multipart/form-data"):
            return None
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {kind}\r\n\r\n".encode() + body
        )
        fields: dict[str, str] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename() is not None:
                msg = "external data (a file part) is not supported by the voc read endpoint"
                raise QueryError(48, msg, "NOT_IMPLEMENTED")
            if isinstance(name, str):
                payload = part.get_payload(decode=True)
                fields[name] = payload.decode() if isinstance(payload, bytes) else ""
        return fields

    # -- answers ---------------------------------------------------------------------------

    def _common(self, query_id: str, settings: dict[str, str] | None = None) -> dict[str, str]:
        facts = self.server.endpoint.facts
        zone = (settings or {}).get("session_timezone") or facts.timezone
        return {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Server-Display-Name": facts.display_name,
            "X-ClickHouse-Timezone": zone,
        }

    def _compressed(self, data: bytes, params: dict[str, str]) -> tuple[bytes, str]:
        accepts = self.headers.get("Accept-Encoding", "")
        try:
            level = min(max(int(params.get("http_zlib_compression_level", "3")), 1), 9)
        except ValueError:
            level = 3
        if "gzip" in accepts:
            return gzip.compress(data, compresslevel=level, mtime=0), "gzip"
        if "deflate" in accepts:
            return zlib.compress(data, level), "deflate"
        return data, ""

    def _fail(self, exc: QueryError, query_id: str) -> None:
        endpoint = self.server.endpoint
        headers = {
            "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": str(exc.code),
        }
        headers.update(self._common(query_id))
        if exc.code == 516:
            headers["WWW-Authenticate"] = 'Basic realm="voc read endpoint"'
        self._answer(exc.status, exc.body(endpoint.facts.version), headers)

    def _answer(
        self, status: int, body: bytes, headers: dict[str, str], *, head: bool = False
    ) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Keep-Alive", "timeout=10")
        self.end_headers()
        if not head:
            with contextlib.suppress(OSError):
                self.wfile.write(body)
