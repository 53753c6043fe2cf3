"""`SandboxServer`: BC API v2.0 / OData V4 and the Entra endpoints a BC client needs, on loopback HTTPS.

    with SandboxServer(port=0, state_dir=tmp) as sandbox:
        requests.get(f"{sandbox.url}/{TENANT_ID}/v2.0/.well-known/openid-configuration", verify=sandbox.ca_bundle)

One WSGI app answers three families of routes on one port:
    /_sandbox/...                     the control API (admin.py), loopback callers only, never logged
    /v2.0/{tenant}/{environment}/...  BC, through the gateway (gateway.py) into the BcWorld
    /{tenant}/...                     Entra ID (entra.py)
Every other request is logged (requestlog.py) and may be hit by an injected fault (faults.py) first.

The HTTP server is werkzeug's threaded server (one thread per connection). TLS handshakes run in the
connection's thread rather than in the accepting thread, so one slow or plain-HTTP client can't stall
everyone else.
"""

from __future__ import annotations

import inspect
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from sandbox.admin import AdminApi
from sandbox.clock import Clock
from sandbox.directory import Directory
from sandbox.entra import EntraEndpoints
from sandbox.errors import BcApiError
from sandbox.faults import FaultRule, Faults
from sandbox.gateway import BcGateway
from sandbox.limits import Limits
from sandbox.requestlog import RequestInfo, RequestLog, redact_query
from sandbox.tls import ensure_certificates, server_ssl_context
from sandbox.tokens import TokenService

__all__ = ["SandboxServer", "SandboxApp", "DroppedByFault", "load_world"]

log = logging.getLogger(__name__)

_HANDSHAKE_TIMEOUT_SECONDS = 10
_ENTRA_SECOND_SEGMENTS = ("v2.0", "oauth2", "discovery")


def load_world(bc_fixtures: str | Path | None = None, clock: Clock | None = None) -> Any:
    """The BC data half (`sandbox.bc.BcWorld`), from bundled fixtures or a replacement bc.json.

    The sandbox clock is shared with it when it accepts one, so lastModifiedDateTime follows time travel.
    """
    try:
        from sandbox.bc import BcWorld  # imported late: the data half is built separately
    except ImportError as exc:
        raise RuntimeError(
            "sandbox.bc.BcWorld is not available; pass world=... to SandboxServer or install the BC data half"
        ) from exc
    path = str(bc_fixtures) if bc_fixtures else None
    if clock is not None and "clock" in inspect.signature(BcWorld.load).parameters:
        return BcWorld.load(fixtures_path=path, clock=clock)
    return BcWorld.load(fixtures_path=path)


class SandboxApp:
    """The WSGI application: request id, request log, faults, then admin / BC / Entra routing."""

    def __init__(
        self,
        *,
        world: Any,
        directory: Directory,
        tokens: TokenService,
        limits: Limits,
        faults: Faults,
        request_log: RequestLog,
        clock: Clock,
    ):
        self.world = world
        self.directory = directory
        self.limits = limits
        self.faults = faults
        self.request_log = request_log
        self.clock = clock
        self.tokens = tokens
        self._gateway = BcGateway(world, tokens, limits, faults)
        self._entra = EntraEndpoints(directory, tokens, clock)
        self._admin = AdminApi(self)

    def __call__(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        raw_path = _raw_path(environ)
        if raw_path == "/_sandbox" or raw_path.startswith("/_sandbox/"):
            if not _is_loopback(environ.get("REMOTE_ADDR", "")):
                response = _json_error(403, "Forbidden", "the control API only answers loopback callers")
            else:
                response = self._admin.handle(request, raw_path)
            return response(environ, start_response)

        info = RequestInfo(request_id=str(uuid.uuid4()), kind=_kind(raw_path))
        started = time.perf_counter()
        status: int | None = None
        try:
            rule = self.faults.take(request.method, raw_path)
            if rule is not None:
                info.fault = rule.type
                if rule.type == "drop":
                    raise DroppedByFault("connection dropped by an injected fault")
                response = _fault_response(rule, info, self.limits.settings.requestsPerWindow)
            elif info.kind == "bc":
                response = self._gateway.handle(request, raw_path, info)
            else:
                response = self._route_other(request, raw_path)
            status = response.status_code
            return response(environ, start_response)
        finally:
            self.request_log.append(
                requestId=info.request_id,
                kind=info.kind,
                method=request.method,
                path=raw_path,
                query=redact_query(environ.get("QUERY_STRING", "")),
                status=status,
                principal=info.principal,
                durationMs=round((time.perf_counter() - started) * 1000, 2),
                batchOperations=info.batch_operations,
                fault=info.fault,
                extra=info.extra,
            )

    def _route_other(self, request: Request, raw_path: str) -> Response:
        if raw_path == "/" and request.method == "GET":
            return _index(request)
        segments = raw_path.lstrip("/").split("/", 1)
        if len(segments) == 2 and segments[0]:
            response = self._entra.dispatch(request, unquote(segments[0]), unquote(segments[1]))
            if response is not None:
                return response
        return _json_error(
            404, "NotFound", f"No sandbox route matches {request.method} {raw_path}. GET / lists the routes."
        )


class DroppedByFault(ConnectionAbortedError):
    """Raised by the app to make the server close the connection without answering."""


class _RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, minus its per-request stderr lines (the request log has them), plus "drop"."""

    def connection_dropped(self, error: BaseException, environ: dict | None = None) -> None:
        # werkzeug routes ConnectionError raised by the app here, before any byte of an answer was sent.
        if isinstance(error, DroppedByFault):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("http %s: " + message, type, *args)


class _TlsThreadedServer(ThreadedWSGIServer):
    """Threaded werkzeug server that does the TLS handshake in each connection's own thread."""

    def __init__(self, host: str, port: int, app: Any, context: ssl.SSLContext):
        super().__init__(host, port, app, handler=_RequestHandler)
        self._tls_context = context
        self.ssl_context = context  # werkzeug sets wsgi.url_scheme = "https" from this

    def process_request_thread(self, request: socket.socket, client_address: Any) -> None:
        try:
            # werkzeug writes headers and body separately; without NODELAY, Nagle's algorithm and the
            # client's delayed ACK add ~10 ms to every answer.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(_HANDSHAKE_TIMEOUT_SECONDS)
            tls = self._tls_context.wrap_socket(request, server_side=True)
            tls.settimeout(None)
        except (OSError, ssl.SSLError) as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            self.shutdown_request(request)
            return
        super().process_request_thread(tls, client_address)


class SandboxServer:
    """The sandbox as a server you can start in-process (tests) or from `python -m sandbox`.

    Attributes for in-process use: `world` (BcWorld), `directory`, `limits`, `faults`, `request_log`,
    `clock`, and after `start()`: `url` and `ca_bundle` (the PEM file clients must trust).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: str | Path = ".sandbox",
        bc_fixtures: str | Path | None = None,
        directory_fixtures: str | Path | None = None,
        *,
        world: Any = None,
    ):
        self.host = host
        self._requested_port = port
        self.state_dir = Path(state_dir)
        self.clock = Clock()
        self.directory = Directory.load(directory_fixtures, self.clock)
        self.tokens = TokenService(self.clock)
        self.limits = Limits(self.clock.now)
        self.faults = Faults()
        self.request_log = RequestLog()
        self.world = world if world is not None else load_world(bc_fixtures, self.clock)
        self.app = SandboxApp(
            world=self.world,
            directory=self.directory,
            tokens=self.tokens,
            limits=self.limits,
            faults=self.faults,
            request_log=self.request_log,
            clock=self.clock,
        )
        self._httpd: _TlsThreadedServer | None = None
        self._thread: threading.Thread | None = None
        webhooks = getattr(self.world, "webhooks", None)
        if webhooks is not None:
            webhooks.request_log = self._log_webhook_call

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> "SandboxServer":
        """Creates/reuses the certificates, binds, and serves in a daemon thread. Returns once listening."""
        if self._httpd is not None:
            return self
        files = ensure_certificates(self.state_dir)
        context = server_ssl_context(files)
        try:
            self._httpd = _TlsThreadedServer(self.host, self._requested_port, self.app, context)
        except SystemExit as exc:  # werkzeug exits the process when the port is taken; a library must not
            raise OSError(f"cannot listen on {self.host}:{self._requested_port} (port in use?)") from exc
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="bc-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        close = getattr(self.world, "close", None)
        if close is not None:
            close()  # the webhook delivery thread stops with the server
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _log_webhook_call(self, entry: dict) -> None:
        """A call the sandbox made to a webhook subscriber, in the request log as kind "webhook"."""
        url = urlsplit(entry.get("notificationUrl") or "")
        self.request_log.append(
            requestId=str(uuid.uuid4()), kind="webhook", method=entry.get("method") or "POST", path=url.path or "/",
            query="validationToken=***" if entry["kind"] == "handshake" else url.query, status=entry.get("status"),
            principal=None, durationMs=0.0,
            extra={"webhook": entry["kind"], "subscriptionId": entry.get("subscriptionId"),
                   "outcome": entry.get("outcome"), "notifications": entry.get("count"),
                   "webhookSeq": entry["seq"]},
        )

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        return self._httpd.port

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    @property
    def ca_bundle(self) -> str:
        return str((self.state_dir / "ca.pem").resolve())

    def settings(self) -> dict[str, str]:
        """The app settings that point a connector at this sandbox (see docs/contract.md §7)."""
        from sandbox.constants import DEMO_CLIENT_ID

        return {
            "BC_API_URL": self.url,
            "BC_AUTHORITY_HOST": self.url,
            "REQUESTS_CA_BUNDLE": self.ca_bundle,
            "BC_CLIENT_ID": DEMO_CLIENT_ID,
        }


# -- helpers -----------------------------------------------------------------------------------------


def _raw_path(environ: dict) -> str:
    """The path as the client sent it (percent-encoding intact), without the query string."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if not raw:
        from urllib.parse import quote

        return quote(environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace"), safe="/")
    if not raw.startswith("/"):
        raw = urlsplit(raw).path or "/"  # absolute-form request target
    return raw.split("?", 1)[0] or "/"


def _kind(raw_path: str) -> str:
    if raw_path.startswith("/v2.0/"):
        return "bc"
    parts = raw_path.lstrip("/").split("/")
    if len(parts) >= 2 and parts[1] in _ENTRA_SECOND_SEGMENTS:
        return "entra"
    return "other"


def _is_loopback(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address in ("<local>",)
    return ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)


def _fault_response(rule: FaultRule, info: RequestInfo, rate_limit: int) -> Response:
    headers = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
    if info.kind == "entra":
        return _entra_fault(rule, headers)
    if rule.type == "429":
        err = BcApiError(
            429,
            "Application_TooManyRequests",
            f"Too many requests reached. Actual ({rate_limit + 1}). Maximum ({rate_limit}).",
            headers,
        )
    elif rule.type == "502":
        err = BcApiError(502, "BadGateway", "The service is temporarily unavailable. Retry the request later.", headers)
    elif rule.type == "503":
        err = BcApiError(503, "ServiceUnavailable", "The service is temporarily unavailable. Retry the request later.", headers)
    else:
        err = BcApiError(
            504, "GatewayTimeout", "The request took longer than the allowed execution time and was cancelled.", headers
        )
    return err.to_response(info.request_id)


def _entra_fault(rule: FaultRule, headers: dict[str, str]) -> Response:
    """Injected failures on Entra routes, in Entra's error shape (codes from reference-error-codes.md)."""
    status = int(rule.type)
    code, text = {
        429: (90055, "TenantThrottlingError - There are too many incoming requests."),
        502: (90033, "MsodsServiceUnavailable - The Microsoft Online Directory Service (MSODS) isn't available."),
        503: (90033, "MsodsServiceUnavailable - The Microsoft Online Directory Service (MSODS) isn't available."),
        504: (90012, "RequestTimeout - The requested has timed out."),
    }[status]
    trace = str(uuid.uuid4())
    body = {
        "error": "temporarily_unavailable",
        "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {trace}",
        "error_codes": [code],
        "trace_id": trace,
        "correlation_id": trace,
    }
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json; charset=utf-8")


def _json_error(status: int, code: str, message: str) -> Response:
    return Response(
        json.dumps({"error": {"code": code, "message": message}}), status=status, content_type="application/json; charset=utf-8"
    )


def _index(request: Request) -> Response:
    base = request.host_url.rstrip("/")
    return Response(
        json.dumps(
            {
                "name": "bc-connector Business Central sandbox",
                "reproduces": "Business Central Online API v2.0 / OData V4 and the Entra ID endpoints a BC client needs",
                "bcApi": f"{base}/v2.0/{{tenant}}/{{environment}}/api/v2.0",
                "odata": f"{base}/v2.0/{{tenant}}/{{environment}}/ODataV4",
                "authority": f"{base}/{{tenant}}",
                "openidConfiguration": f"{base}/{{tenant}}/v2.0/.well-known/openid-configuration",
                "controlApi": f"{base}/_sandbox/",
            },
            indent=2,
        ),
        content_type="application/json; charset=utf-8",
    )
