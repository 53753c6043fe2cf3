"""Real-time expenses against the BC sandbox's webhooks: subscriptions created, renewed, re-created and
deleted; notifications verified by clientState, coalesced into import runs that the incremental import
does; polling stays the safety net."""

from __future__ import annotations

import datetime as _dt
import json
import time

import pytest

from sandbox import constants
from sandbox.bc._fixturegen import COMPANY_IDS
from shared.adapters.secrets import webhook_state_name
from tests._app import call_http, json_of
from tests.integration.expenses._helpers import run_now, sent_messages

pytestmark = pytest.mark.integration

COMPANY_ID = COMPANY_IDS[(constants.ENVIRONMENT, "us")]
US = (constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY)


def _realtime(name: str) -> dict:
    return json_of(call_http("get_connector", route_params={"name": name}))["realtime"]


def _post(worker, name: str, state: str, *, change: str = "updated", resource: str = "x") -> object:
    body = {"value": [{"subscriptionId": "0" * 32, "clientState": state, "changeType": change,
                       "resource": resource, "expirationDateTime": "2030-01-01T00:00:00Z",
                       "lastModifiedDateTime": "2026-11-02T10:00:00Z"}]}
    return call_http("bc_notifications", method="POST", params={"connector": name}, raw_body=json.dumps(body).encode())


def _requests(worker) -> list[dict]:
    return [json.loads(m.content) for m in worker.queue("import-requests").peek_messages(max_messages=32)]


def _posted_invoice(bc, description: str = "Taxi to the client") -> dict:
    return bc.insert_posted_document(*US, "purchaseInvoices", vendorNumber="V20000", postingDate="2026-11-02",
                                     lines=[{"lineType": "Account", "lineObjectNumber": "60100", "quantity": 1,
                                             "description": description, "unitCost": 35,
                                             "dimensions": {"PROJECT": "P-1001"}}])


def _until(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_saving_a_connector_subscribes_to_its_source_after_bc_validated_the_endpoint(push, realtime_connector,
                                                                                      connector_name, bc):
    saved = realtime_connector()
    assert any("purchaseInvoices subscription created" in c for c in saved["checks"])
    shown = _realtime(connector_name)
    assert shown["enabled"] is True
    [sub] = shown["subscriptions"]
    assert (sub["resource"], sub["state"]) == ("purchaseInvoices", "active") and sub["expiresAt"]
    handshakes = [e for e in bc.webhook_log() if e["kind"] == "handshake"]
    assert [h["outcome"] for h in handshakes] == ["validated"]
    [at_bc] = bc.webhooks()["subscriptions"]
    assert at_bc["resource"].endswith("/purchaseInvoices") and f"connector={connector_name}" in at_bc["notificationUrl"]
    secret = push[0].secrets().get_secret(webhook_state_name(connector_name))
    assert secret and secret not in json.dumps(shown)


def test_the_handshake_echoes_the_token_as_text_and_refuses_an_oversized_one(push):
    for method in ("POST", "GET"):
        answer = call_http("bc_notifications", method=method, params={"validationToken": "abc-123"})
        assert (answer.status_code, answer.get_body(), answer.mimetype) == (200, b"abc-123", "text/plain")
    assert call_http("bc_notifications", params={"validationToken": "x" * 1025}).status_code == 422
    assert call_http("bc_notifications", params={"validationToken": "<script>"}).status_code == 422


def test_a_posted_invoice_reaches_bc_expenses_through_a_notification_and_one_requested_run(
        push, realtime_connector, connector_name, bc):
    worker, host, _ = push
    realtime_connector()
    run_now(connector_name)  # the fixture company's history, as the first timer run would
    sent_messages(worker, connector_name)
    invoice = _posted_invoice(bc)
    bc.flush_webhooks()
    _until(lambda: _requests(worker))
    assert _requests(worker) == [{"connector": connector_name}]
    outcomes = host.poll_queues_once()
    assert [o.function for o in outcomes if "import" in o.function] == ["run_requested_import"]
    keys = [m["key"] for m in sent_messages(worker, connector_name)]
    assert keys == [f"{COMPANY_ID}:{invoice['lineIds'][0]}"]
    delivered = [e for e in bc.webhook_log() if e["kind"] == "notification"]
    assert delivered and delivered[-1]["outcome"] == "delivered"


def test_a_wrong_or_missing_client_state_is_refused_and_nothing_is_queued(push, realtime_connector, connector_name):
    worker = push[0]
    realtime_connector()
    assert _post(worker, connector_name, "not-the-secret").status_code == 404
    assert _post(worker, "t-nobody", "whatever").status_code == 404
    assert call_http("bc_notifications", method="POST", params={"connector": connector_name},
                     raw_body=b"{}").status_code in (400, 422)
    assert _requests(worker) == []


def test_notifications_while_a_run_is_queued_are_coalesced_into_it(push, realtime_connector, connector_name):
    worker = push[0]
    realtime_connector()
    state = worker.secrets().get_secret(webhook_state_name(connector_name))
    answers = [json_of(_post(worker, connector_name, state)) for _ in range(3)]
    assert [a["importRun"] for a in answers] == ["queued", "alreadyQueued", "alreadyQueued"]
    assert len(_requests(worker)) == 1
    shown = json_of(call_http("get_connector", route_params={"name": connector_name}))
    assert shown["realtime"]["subscriptions"][0]["state"] == "active"


def test_a_notification_during_a_run_queues_exactly_one_further_run(push, realtime_connector, connector_name):
    worker, host, _ = push
    realtime_connector()
    state = worker.secrets().get_secret(webhook_state_name(connector_name))
    _post(worker, connector_name, state)
    notifications = worker.app.notifications
    original = notifications._importer.import_one
    during: list[str] = []

    def import_one(name, **kw):
        during.extend(json_of(_post(worker, connector_name, state))["importRun"] for _ in range(2))
        return original(name, **kw)

    notifications._importer = type("Spy", (), {"import_one": staticmethod(import_one)})()
    host.poll_queues_once()
    assert during == ["queued", "alreadyQueued"]
    assert len(_requests(worker)) == 1


def test_a_collection_notification_asks_for_a_run_like_any_other(push, realtime_connector, connector_name):
    worker = push[0]
    realtime_connector()
    state = worker.secrets().get_secret(webhook_state_name(connector_name))
    answer = _post(worker, connector_name, state, change="collection",
                   resource="api/v2.0/companies(x)/purchaseInvoices?$filter=lastModifiedDateTime%20gt%202026-11-02T10:00:00Z")
    assert (answer.status_code, json_of(answer)["importRun"]) == (200, "queued")


def test_the_keep_alive_renews_a_subscription_with_less_than_two_days_left(push, realtime_connector,
                                                                           connector_name, bc):
    worker, _host, clock = push
    realtime_connector()
    before = _realtime(connector_name)["subscriptions"][0]["expiresAt"]
    assert worker.app.webhooks.keep_alive().renewed == []  # three days left: nothing to do
    bc.advance_clock(36 * 3600)
    clock.offset = _dt.timedelta(hours=36)
    worker.forget_credentials()  # the cached token expired with the clock move
    report = worker.app.webhooks.keep_alive()
    assert report.renewed == [f"{connector_name}/purchaseInvoices"]
    after = _realtime(connector_name)["subscriptions"][0]["expiresAt"]
    assert after > before
    assert [h["outcome"] for h in bc.webhook_log() if h["kind"] == "handshake"] == ["validated", "validated"]


def test_a_subscription_bc_deleted_is_created_again_by_the_keep_alive(push, realtime_connector, connector_name, bc):
    worker = push[0]
    realtime_connector()
    old = _realtime(connector_name)["subscriptions"][0]["subscriptionId"]
    bc.drop_subscription(old)
    report = worker.app.webhooks.keep_alive()
    assert report.created == [f"{connector_name}/purchaseInvoices"]
    [sub] = bc.webhooks()["subscriptions"]
    assert sub["subscriptionId"] != old
    assert _realtime(connector_name)["subscriptions"][0]["subscriptionId"] == sub["subscriptionId"]


def test_switching_real_time_off_or_deleting_the_connector_deletes_the_subscription(push, realtime_connector,
                                                                                   connector_name, bc):
    realtime_connector()
    assert len(bc.webhooks()["subscriptions"]) == 1
    realtime_connector(realtime=False)
    assert bc.webhooks()["subscriptions"] == []
    assert _realtime(connector_name) == {"enabled": False, "reason": "expenses.realtime is false.",
                                         "subscriptions": []}
    assert push[0].secrets().get_secret(webhook_state_name(connector_name)) is None
    realtime_connector(source="generalLedger")
    [sub] = bc.webhooks()["subscriptions"]
    assert sub["resource"].endswith("/generalLedgerEntries")
    assert call_http("delete_connector", route_params={"name": connector_name}).status_code in (200, 204)
    assert bc.webhooks()["subscriptions"] == []
