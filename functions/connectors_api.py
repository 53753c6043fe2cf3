"""HTTP routes of the connector settings API and the health probe (ARCHITECTURE §3).

Each function parses the trigger, calls a use case from `shared.connectors`, and writes the answer;
errors become statuses in `_http.mapped_errors`.
"""

from __future__ import annotations

import azure.functions as func

from ._http import json_body, json_response, mapped_errors

bp = func.Blueprint()


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def health(req: func.HttpRequest) -> func.HttpResponse:
    """Liveness only: no secrets, no storage and no BC calls, so a probe can never cost a BC request."""
    return json_response({"status": "ok", "service": "bc-connector"})


@bp.function_name("list_connectors")
@bp.route(route="connectors", methods=["GET"])
@mapped_errors
def list_connectors(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.connectors import list_connectors as list_all, view_connector

    deps = get_services().connector_deps()
    return json_response({"connectors": [view_connector(r, deps) for r in list_all(deps)]})


@bp.function_name("put_connector")
@bp.route(route="connectors/{name}", methods=["PUT"])
@mapped_errors
def put_connector(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.connectors import save_connector, view_connector

    deps = get_services().connector_deps()
    outcome = save_connector(req.route_params.get("name", ""), json_body(req), deps)
    body = {
        "status": "Created" if outcome.created else "Updated",
        "connector": view_connector(outcome.record),
        "checks": outcome.checks,
    }
    if outcome.consent_url:
        body["consentUrl"] = outcome.consent_url
    return json_response(body, 201 if outcome.created else 200)


@bp.function_name("get_connector")
@bp.route(route="connectors/{name}", methods=["GET"])
@mapped_errors
def get_connector(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.connectors import get_connector as get_one, view_connector

    deps = get_services().connector_deps()
    return json_response(view_connector(get_one(req.route_params.get("name", ""), deps), deps))


@bp.function_name("delete_connector")
@bp.route(route="connectors/{name}", methods=["DELETE"])
@mapped_errors
def delete_connector(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.connectors import delete_connector as delete_one

    delete_one(req.route_params.get("name", ""), get_services().connector_deps())
    return func.HttpResponse(status_code=204)


@bp.function_name("connector_lookup")
@bp.route(route="connectors/{name}/lookups/{kind}", methods=["GET"])
@mapped_errors
def connector_lookup(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.connectors import lookup

    kind = req.route_params.get("kind", "")
    values = lookup(req.route_params.get("name", ""), kind, dict(req.params), get_services().connector_deps())
    return json_response({"kind": kind, "values": values})
