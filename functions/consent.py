"""HTTP routes of the delegated consent (docs/contract.md §3): start it, Entra's redirect target, and replay.

    POST /api/connectors/{name}/consent   -> {"consentUrl", "expiresAt", "redirectUri", "connector"}
    GET  /api/consent/callback (anonymous) -> an HTML page that says what happened and what to do
    POST /api/connectors/{name}/replay    -> {"connector", "replayed": {"parked", "failed"}, "busy"}

The callback is anonymous because Entra's redirect carries no function key; what protects it is the
single-use state, PKCE and the code's binding to our client secret (see `shared.consent`).
"""

from __future__ import annotations

import azure.functions as func

from ._http import json_response, mapped_errors

bp = func.Blueprint()


@bp.function_name("start_consent")
@bp.route(route="connectors/{name}/consent", methods=["POST"])
@mapped_errors
def start_consent(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import worker_app

    started = worker_app().consent.start(req.route_params.get("name", ""))
    return json_response(started.to_dict(), headers={"Cache-Control": "no-store"})


@bp.function_name("consent_callback")
@bp.route(route="consent/callback", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def consent_callback(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import consent_callback_page

    page = consent_callback_page(dict(req.params))
    return func.HttpResponse(page.html, status_code=page.status, mimetype="text/html", charset="utf-8",
                             headers=dict(page.headers))


@bp.function_name("replay_connector")
@bp.route(route="connectors/{name}/replay", methods=["POST"])
@mapped_errors
def replay_connector(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import worker_app

    summary = worker_app().consent.replay(req.route_params.get("name", ""))
    return json_response(summary.to_dict())
