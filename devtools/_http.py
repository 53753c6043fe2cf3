"""HTTP triggers behind a WSGI app: ``/{routePrefix}/{route}`` -> ``func.HttpRequest`` -> the function.

Auth levels are not enforced (as with ``func start``): no function keys are needed locally.
Unknown routes answer 404, known routes with another method 405 (with ``Allow``), an exception 500
with an empty body, as the host does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import azure.functions as func
from werkzeug.wrappers import Request, Response

from devtools._invoke import FunctionInvoker, Invocation
from devtools._routes import RouteTemplate, split_path

__all__ = ["HttpFrontend", "HttpRoute"]

log = logging.getLogger("devhost")

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")


@dataclass
class HttpRoute:
    invoker: FunctionInvoker
    template: RouteTemplate
    methods: frozenset[str]  # upper case; every method when the trigger lists none

    @classmethod
    def from_invoker(cls, invoker: FunctionInvoker) -> "HttpRoute":
        trig = invoker.trigger
        route = getattr(trig, "route", None) or invoker.name
        methods = getattr(trig, "methods", None) or []
        names = frozenset((getattr(m, "value", m) or "").upper() for m in methods) or frozenset(ALL_METHODS)
        return cls(invoker, RouteTemplate(route), names)


class HttpFrontend:
    """The WSGI application serving every HTTP trigger of the app."""

    def __init__(self, routes: Iterable[HttpRoute], *, route_prefix: str = "api",
                 send_outputs: Callable[[FunctionInvoker, Invocation], list[str]] | None = None,
                 banner: str = "", admin: Callable[[str], bool] | None = None) -> None:
        # Most specific first (ASP.NET route precedence); stable for equal precedence.
        self.routes = sorted(routes, key=lambda r: r.template.precedence)
        self.prefix = [s.lower() for s in route_prefix.split("/") if s]
        self._send_outputs = send_outputs
        self._banner = banner
        self._admin = admin

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        raw_path = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
        segments = split_path(raw_path.split("?", 1)[0])
        if not segments and request.method == "GET":
            return Response(self._banner or "bc-connector dev host is running.\n", mimetype="text/plain")
        if self._admin is not None and [s.lower() for s in segments[:2]] == ["admin", "functions"] \
                and len(segments) == 3:
            # Core Tools' convention for running a non-HTTP function on demand: POST /admin/functions/{name}
            # with {"input": ""}; 202 when it was started, 404 for a name that is not a timer function.
            if request.method != "POST":
                return Response(status=405, headers={"Allow": "POST"})
            return Response(status=202) if self._admin(segments[2]) else _not_found()
        n = len(self.prefix)
        if [s.lower() for s in segments[:n]] != self.prefix:
            return _not_found()
        segments = segments[n:]
        allowed: set[str] = set()
        for route in self.routes:
            values = route.template.match(segments)
            if values is None:
                continue
            if request.method not in route.methods:
                allowed |= route.methods
                continue
            return self._invoke(route, request, values)
        if allowed:
            return Response(status=405, headers={"Allow": ", ".join(sorted(allowed))})
        return _not_found()

    def _invoke(self, route: HttpRoute, request: Request, values: dict[str, str]) -> Response:
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            headers[key] = headers[key] + ", " + value if key in headers else value
        req = func.HttpRequest(
            method=request.method,
            url=request.url,
            headers=headers,
            params={k: v for k, v in request.args.items()},
            route_params=values,
            body=request.get_data(cache=False) or b"",
        )
        invoker = route.invoker
        inv = invoker.invoke(req)
        response: Response
        if inv.succeeded:
            try:
                response = _to_werkzeug(inv.result)
                if self._send_outputs is not None:
                    self._send_outputs(invoker, inv)
            except Exception as exc:
                inv.succeeded, inv.error = False, exc
        if not inv.succeeded:
            response = Response(status=500)
        invoker.log_result(inv, "httpTrigger %s %s -> %d" % (request.method, request.path, response.status_code))
        return response


def _to_werkzeug(result: Any) -> Response:
    """The function's return value as the host would answer it."""
    if result is None:
        return Response(status=204)
    if isinstance(result, (str, bytes)):
        return Response(result, status=200, mimetype="text/plain")
    if isinstance(result, func.HttpResponse):
        headers = list(result.headers.items())
        if not any(k.lower() == "content-type" for k, _ in headers):
            ct = result.mimetype
            if ct.startswith("text/"):
                ct = "%s; charset=%s" % (result.mimetype, result.charset)
            headers.append(("Content-Type", ct))
        return Response(result.get_body(), status=result.status_code, headers=headers)
    raise TypeError("an HTTP function must return func.HttpResponse or str, got %s" % type(result).__name__)


def _not_found() -> Response:
    return Response(status=404)
