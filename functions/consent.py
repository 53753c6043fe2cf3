"""HTTP routes of the delegated consent (ARCHITECTURE §3): start it, Entra's redirect target, and replay.

    POST /api/connectors/{name}/consent   -> {"consentUrl", "expiresAt", "redirectUri", "connector"}
    GET  /api/consent/callback (anonymous) -> an HTML page that says what happened and what to do
    POST /api/connectors/{name}/replay    -> {"connector", "replayed": {"parked", "failed"}, "busy"}

The callback is anonymous because Entra's redirect carries no function key; what protects it is the
single-use state, PKCE and the code's binding to our client secret (see `shared.consent`).
"""

from __future__ import annotations

import logging
import uuid

import azure.functions as func

from ._http import json_response, mapped_errors

log = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("start_consent")
@bp.route(route="connectors/{name}/consent", methods=["POST"])
@mapped_errors
def start_consent(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.consent import start_consent as start

    started = start(req.route_params.get("name", ""), get_services().consent_deps())
    return json_response(started.to_dict(), headers={"Cache-Control": "no-store"})


@bp.function_name("consent_callback")
@bp.route(route="consent/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    from shared.consent import PAGE_HEADERS, complete_consent, render_page, unexpected_error

    try:
        from shared.bootstrap import get_services

        page = complete_consent(dict(req.params), get_services().consent_deps())
    except Exception:  # noqa: BLE001 - a person is waiting for a page, never a bare 500
        reference = uuid.uuid4().hex[:12]
        log.exception("Consent callback failed unexpectedly (reference %s)", reference)
        page = unexpected_error(reference)
    return func.HttpResponse(render_page(page), status_code=page.status, mimetype="text/html", charset="utf-8",
                             headers=dict(PAGE_HEADERS))


@bp.function_name("replay_connector")
@bp.route(route="connectors/{name}/replay", methods=["POST"])
@mapped_errors
def replay_connector(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import get_services
    from shared.errors import ConflictError as ConnectorConflict
    from shared.consent import replay_connector as replay

    services = get_services()
    record = services.connectors().get(req.route_params.get("name", ""))
    if record.status != "connected":
        raise ConnectorConflict(
            f"Connector '{record.name}' is {record.status}, so replayed messages would only be parked again. "
            + ("Complete the consent first (POST /api/connectors/%s/consent); parked messages are replayed "
               "automatically when it completes." % record.name if record.status != "disabled"
               else "Enable it first."))
    summary = replay(record.name, services.consent_deps(), include_failed=True)
    if summary.busy:
        raise ConnectorConflict(f"A replay of connector '{record.name}' is already running; it sends every parked "
                                "message. Try again in a minute if some are still parked.")
    return json_response(summary.to_dict())
