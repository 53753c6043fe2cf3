"""The app's function index, built once per test process (a second `get_functions()` raises), and a
helper that calls an HTTP function the way the Functions host would."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

from function_app import app

FUNCTIONS = {f.get_function_name(): f for f in app.get_functions()}


def call_http(name: str, *, method: str | None = None, route_params: dict[str, str] | None = None,
              body: Any = None, raw_body: bytes | None = None, params: dict[str, str] | None = None,
              headers: dict[str, str] | None = None) -> func.HttpResponse:
    """Invoke HTTP function `name` with a request built like the host builds it."""
    function = FUNCTIONS[name]
    trigger = function.get_trigger()
    route = trigger.route
    for key, value in (route_params or {}).items():
        route = route.replace("{%s}" % key, value)
    if raw_body is None:
        raw_body = b"" if body is None else json.dumps(body).encode("utf-8")
    request = func.HttpRequest(
        method=method or trigger.methods[0].value,
        url=f"http://127.0.0.1:7071/api/{route}",
        headers={"Content-Type": "application/json", **(headers or {})},
        params=params or {},
        route_params=route_params or {},
        body=raw_body,
    )
    return function.get_user_function()(request)


def json_of(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body() or b"null")
