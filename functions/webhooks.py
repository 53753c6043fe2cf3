"""Real-time expenses (docs/contract.md §3, §4): BC's webhook endpoint, the queue of import runs it asks for,
and the timer that keeps the subscriptions alive. See `shared.webhooks`.

`POST|GET /api/bc/notifications` is ANONYMOUS: Business Central Online cannot send a function key header.
A notification is accepted only when every item carries the connector's `clientState` (a Key Vault secret,
compared in constant time); the handshake (`?validationToken=`) echoes only a bounded token as text/plain.
"""

from __future__ import annotations

import logging

import azure.functions as func

from ._http import json_response, mapped_errors

log = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("bc_notifications")
@bp.route(route="bc/notifications", methods=["POST", "GET"], auth_level=func.AuthLevel.ANONYMOUS)
@mapped_errors
def bc_notifications(req: func.HttpRequest) -> func.HttpResponse:
    from shared.bootstrap import worker_app  # the app's modules load on first call, not at cold start

    token = req.params.get("validationToken")
    if token is not None:
        # BC validates the URL (on create and on every renewal): 200 with the token as the body.
        echoed = worker_app().notifications.handshake(token)
        return func.HttpResponse(echoed, status_code=200, mimetype="text/plain", charset="utf-8",
                                 headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
    if req.method != "POST":
        return json_response({"errors": [{"field": "validationToken", "message": "Required on GET."}]}, 400)
    receipt = worker_app().notifications.receive(req.params.get("connector"), req.get_body() or b"")
    return json_response({"accepted": receipt.items, "importRun": "queued" if receipt.queued else "alreadyQueued"})


@bp.function_name("run_requested_import")
@bp.queue_trigger(arg_name="msg", queue_name="bc-import-requests", connection="AzureWebJobsStorage")
def run_requested_import(msg: func.QueueMessage) -> None:
    """One import run a notification asked for (coalesced); a failure ends up in the run's summary."""
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    summary = worker_app().notifications.run_requested(delivery_of("bc-import-requests", msg).text)
    if summary is not None:
        log.info("Requested expense import: %s", summary.status)


@bp.function_name("keep_webhooks_alive")
@bp.timer_trigger(arg_name="timer", schedule="0 15 */6 * * *", run_on_startup=False)
def keep_webhooks_alive(timer: func.TimerRequest) -> None:
    """Every 6 hours: re-create subscriptions BC deleted, renew those with less than 2 of their 3 days left."""
    from shared.bootstrap import worker_app

    report = worker_app().webhooks.keep_alive()
    log.info("Webhook keep-alive: %s", report.to_dict())
