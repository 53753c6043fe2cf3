"""HTTP routes of the connector settings API and the health probe (docs/contract.md §3).

Each function parses the trigger, calls the connectors' use cases (`App.connectors`, from the composition
root), and writes the answer; errors become statuses in `_http.mapped_errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from ._http import json_body, json_response, mapped_errors

if TYPE_CHECKING:  # pragma: no cover - typing only
    from shared.bootstrap import App

bp = func.Blueprint()


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness and the app's version only: no secrets, no storage and no BC calls, whatever the query string
    says (`?ready=1` included), so an anonymous caller learns nothing about the dependencies."""
    from shared.bootstrap import health as answer  # see _app(): nothing heavy at indexing time

    return json_response(answer())


@bp.function_name("health_ready")
@bp.route(route="health/ready", methods=["GET"])
def health_ready(req: func.HttpRequest) -> func.HttpResponse:
    """Readiness (function key): storage and Key Vault answer a cheap call each; 200 or 503 per dependency.
    Never calls Business Central."""
    from shared.bootstrap import readiness

    report = readiness()
    return json_response(report.to_dict(), report.http_status)


@bp.function_name("list_connectors")
@bp.route(route="connectors", methods=["GET"])
@mapped_errors
def list_connectors(req: func.HttpRequest) -> func.HttpResponse:
    connectors = _app().connectors
    return json_response({"connectors": [connectors.view(r) for r in connectors.list()]})


@bp.function_name("put_connector")
@bp.route(route="connectors/{name}", methods=["PUT"])
@mapped_errors
def put_connector(req: func.HttpRequest) -> func.HttpResponse:
    connectors = _app().connectors
    outcome = connectors.save(req.route_params.get("name", ""), json_body(req),
                              if_match=req.headers.get("If-Match"), if_none_match=req.headers.get("If-None-Match"))
    body = {
        "status": "Created" if outcome.created else "Updated",
        "connector": connectors.view(outcome.record, activity=False),
        "checks": outcome.checks,
    }
    if outcome.consent_url:
        body["consentUrl"] = outcome.consent_url
    return json_response(body, 201 if outcome.created else 200, _etag_header(connectors.etag(outcome.record)))


@bp.function_name("get_connector")
@bp.route(route="connectors/{name}", methods=["GET"])
@mapped_errors
def get_connector(req: func.HttpRequest) -> func.HttpResponse:
    connectors = _app().connectors
    record = connectors.get(req.route_params.get("name", ""))
    return json_response(connectors.view(record), headers=_etag_header(connectors.etag(record)))


@bp.function_name("delete_connector")
@bp.route(route="connectors/{name}", methods=["DELETE"])
@mapped_errors
def delete_connector(req: func.HttpRequest) -> func.HttpResponse:
    _app().connectors.delete(req.route_params.get("name", ""), if_match=req.headers.get("If-Match"))
    return func.HttpResponse(status_code=204)


@bp.function_name("connector_lookup")
@bp.route(route="connectors/{name}/lookups/{kind}", methods=["GET"])
@mapped_errors
def connector_lookup(req: func.HttpRequest) -> func.HttpResponse:
    kind = req.route_params.get("kind", "")
    values = _app().connectors.lookup(req.route_params.get("name", ""), kind, dict(req.params))
    return json_response({"kind": kind, "values": values})


def _etag_header(etag: str | None) -> dict[str, str]:
    return {"ETag": etag} if etag else {}


def _app() -> "App":
    # Imported on first call, not at module level: the worker imports every blueprint at cold start.
    from shared.bootstrap import worker_app

    return worker_app()
