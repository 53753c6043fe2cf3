"""Webhook subscriptions and notifications (sandbox/bc/_webhooks.py), driven through BcWorld.handle.

A subscriber listens on loopback (`_subscriber.py`); the notification delay is 0.1 s unless a test says
otherwise, and the sandbox clock moves for expiry and retries.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest

from sandbox.bc import BcWorld
from sandbox.bc._bulk import bulk_insert, insert_posted_document
from sandbox.clock import Clock

from ._client import US, VAT, Client, company_path, us_id
from ._subscriber import Subscriber

SUBSCRIPTIONS = "api/v2.0/subscriptions"


@pytest.fixture(scope="module")
def _hooked():
    clock = Clock()
    world = BcWorld.load(clock=clock)
    try:
        yield world, clock
    finally:
        world.close()


@pytest.fixture()
def clock(_hooked) -> Clock:
    return _hooked[1]


@pytest.fixture()
def world(_hooked) -> BcWorld:
    world, clock = _hooked
    world.reset()
    clock.reset()
    world.webhooks.update_settings({"notificationDelaySeconds": 0.1})
    return world


@pytest.fixture()
def bc(world) -> Client:
    return Client(world)


@pytest.fixture()
def subscriber():
    sub = Subscriber().start()
    try:
        yield sub
    finally:
        sub.stop()


def resource(set_name: str, company: str = US) -> str:
    return "/api/v2.0/companies(%s)/%s" % (company, set_name)


def subscribe(bc: Client, subscriber: Subscriber, set_name: str = "purchaseInvoices", company: str = US,
              client_state: str = "s3cret") -> dict:
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": resource(set_name, company),
                                     "clientState": client_state})
    assert answer.status == 201, answer.body
    return answer.body


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def outcomes(world: BcWorld, count: int, timeout: float = 5.0) -> list[str]:
    """The outcomes of the first `count` notification requests, once the sandbox has handled their answers."""
    deadline = time.monotonic() + timeout
    while True:
        entries = [e["outcome"] for e in world.webhooks.log()["notifications"] if e["kind"] == "notification"]
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.02)


def purchase_invoice(bc: Client) -> dict:
    answer = bc.post(company_path() + "/purchaseInvoices", {
        "vendorNumber": "V10000", "vendorInvoiceNumber": "EXT-1",
        "purchaseInvoiceLines": [{"lineType": "Account", "lineObjectNumber": "60100", "quantity": 1,
                                  "unitCost": 120}]})
    assert answer.status == 201, answer.body
    return answer.body


# -- create: the handshake ---------------------------------------------------------------------------------
def test_creating_a_subscription_validates_the_notification_url_with_a_token_before_answering_201(bc, subscriber,
                                                                                                   clock):
    created = subscribe(bc, subscriber)
    (handshake,) = subscriber.handshakes()
    assert (handshake.method, handshake.path, handshake.body) == ("POST", "/api/bc/notifications", b"")
    assert re.fullmatch(r"[0-9a-f]{32}", created["subscriptionId"])
    assert created["resource"] == resource("purchaseInvoices")
    assert created["clientState"] == "s3cret"
    expires = parse(created["expirationDateTime"])
    assert abs((expires - clock.utcnow()) - timedelta(days=3)) < timedelta(seconds=5)


def test_a_subscriber_that_does_not_echo_the_token_gets_no_subscription(bc, subscriber):
    subscriber.answer = lambda req: (200, "hello")
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": resource("purchaseInvoices")})
    assert (answer.status, answer.error_code) == (400, "BadRequest")
    assert "validation token" in answer.message
    assert bc.get(SUBSCRIPTIONS).value == []


def test_a_handshake_answered_with_another_status_than_200_gets_no_subscription(bc, subscriber):
    subscriber.answer = lambda req: (202, req.token or "")
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": resource("purchaseInvoices")})
    assert answer.status == 400
    assert bc.get(SUBSCRIPTIONS).value == []


def test_the_handshake_method_can_be_switched_to_get(bc, subscriber, world):
    world.webhooks.update_settings({"handshakeMethod": "GET"})
    subscribe(bc, subscriber)
    assert [h.method for h in subscriber.handshakes()] == ["GET"]


def test_a_notification_url_with_a_query_keeps_it_and_adds_the_token(bc, subscriber):
    bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url + "?code=abc", "resource": resource("items")})
    (handshake,) = subscriber.handshakes()
    assert handshake.query["code"] == ["abc"] and handshake.token


# -- create: what is refused -------------------------------------------------------------------------------
@pytest.mark.parametrize("set_name", ["projects", "purchaseCreditMemos", "salesInvoiceLines"])
def test_resources_microsoft_does_not_list_for_webhooks_are_refused_without_a_handshake(bc, subscriber, set_name):
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": resource(set_name)})
    assert (answer.status, answer.error_code) == (400, "BadRequest")
    assert answer.message == "The resource '%s' does not support webhook subscriptions." % set_name
    assert subscriber.received == []


@pytest.mark.parametrize("set_name", ["purchaseInvoices", "generalLedgerEntries", "customers", "vendors", "items",
                                      "salesInvoices"])
def test_the_webhook_supported_resources_the_connector_uses_are_accepted(bc, subscriber, set_name):
    subscribe(bc, subscriber, set_name)


def test_an_absolute_resource_url_is_accepted(bc, subscriber):
    url = "https://api.businesscentral.dynamics.com/v2.0/tenant/Production" + resource("generalLedgerEntries")
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": url})
    assert answer.status == 201 and answer.body["resource"] == url


def test_a_resource_in_an_unknown_company_is_refused(bc, subscriber):
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url,
                                     "resource": resource("purchaseInvoices", "00000000-0000-0000-0000-00000000abcd")})
    assert (answer.status, answer.error_code) == (404, "Internal_CompanyNotFound")


def test_notification_urls_off_loopback_are_refused_without_being_called(bc):
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": "https://example.com/hook",
                                     "resource": resource("purchaseInvoices")})
    assert (answer.status, answer.error_code) == (400, "BadRequest")
    assert "loopback" in answer.message


def test_a_client_state_longer_than_2048_characters_is_refused(bc, subscriber):
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": resource("items"),
                                     "clientState": "x" * 2049})
    assert answer.error_code == "Application_StringExceededLength"
    assert subscribe(bc, subscriber, "items", client_state="x" * 2048)["clientState"] == "x" * 2048


def test_read_only_subscription_fields_are_refused(bc, subscriber):
    answer = bc.post(SUBSCRIPTIONS, {"notificationUrl": subscriber.url, "resource": resource("items"),
                                     "expirationDateTime": "2030-01-01T00:00:00Z"})
    assert (answer.status, answer.error_code) == (400, "BadRequest_InvalidOperation")


def test_subscriptions_are_not_company_scoped(bc, subscriber):
    answer = bc.post(company_path() + "/subscriptions", {"notificationUrl": subscriber.url,
                                                         "resource": resource("items")})
    assert answer.status == 501


# -- read, renew, delete -----------------------------------------------------------------------------------
def test_subscriptions_are_listed_and_read_by_quoted_or_bare_key(bc, subscriber):
    created = subscribe(bc, subscriber)
    assert [s["subscriptionId"] for s in bc.get(SUBSCRIPTIONS).value] == [created["subscriptionId"]]
    quoted = bc.get(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"])
    bare = bc.get(SUBSCRIPTIONS + "(%s)" % created["subscriptionId"])
    assert quoted.status == bare.status == 200
    assert quoted.body["notificationUrl"] == subscriber.url
    assert quoted.headers["ETag"] == created["@odata.etag"]


def test_an_unknown_subscription_is_404(bc):
    answer = bc.get(SUBSCRIPTIONS + "('0123456789abcdef0123456789abcdef')")
    assert (answer.status, answer.error_code) == (404, "Internal_RecordNotFound")


def test_renewing_repeats_the_handshake_and_moves_the_expiry_three_days_from_now(bc, subscriber, clock):
    created = subscribe(bc, subscriber)
    clock.advance(2 * 24 * 3600)
    renewed = bc.patch(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"], {}, etag=created["@odata.etag"])
    assert renewed.status == 200
    assert len(subscriber.handshakes()) == 2
    assert abs(parse(renewed.body["expirationDateTime"]) - (clock.utcnow() + timedelta(days=3))) < timedelta(seconds=5)
    assert renewed.body["@odata.etag"] != created["@odata.etag"]


def test_a_renewal_whose_handshake_fails_keeps_the_old_expiry(bc, subscriber):
    created = subscribe(bc, subscriber)
    subscriber.answer = lambda req: (500, "")
    answer = bc.patch(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"], {"clientState": "new"})
    assert answer.status == 400
    current = bc.get(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"]).body
    assert (current["expirationDateTime"], current["clientState"]) == (created["expirationDateTime"], "s3cret")


def test_renewing_and_deleting_need_if_match(bc, subscriber):
    created = subscribe(bc, subscriber)
    key = SUBSCRIPTIONS + "('%s')" % created["subscriptionId"]
    assert bc.patch(key, {}, etag=None).error_code == "BadRequest_InvalidToken"
    assert bc.delete(key, etag=None).error_code == "BadRequest_InvalidToken"
    bc.patch(key, {}, etag=created["@odata.etag"])
    assert bc.delete(key, etag=created["@odata.etag"]).status == 409


def test_deleting_a_subscription_stops_its_notifications(bc, subscriber):
    created = subscribe(bc, subscriber)
    assert bc.delete(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"], etag=created["@odata.etag"]).status == 204
    purchase_invoice(bc)
    time.sleep(0.4)
    assert subscriber.notifications() == []
    assert bc.get(SUBSCRIPTIONS).value == []


def test_a_subscription_expires_after_three_days(bc, subscriber, clock):
    created = subscribe(bc, subscriber)
    clock.advance(3 * 24 * 3600 + 1)
    assert bc.get(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"]).status == 404
    assert bc.get(SUBSCRIPTIONS).value == []


def test_an_expired_subscription_cannot_be_renewed(bc, subscriber, clock):
    created = subscribe(bc, subscriber)
    clock.advance(3 * 24 * 3600 + 1)
    answer = bc.patch(SUBSCRIPTIONS + "('%s')" % created["subscriptionId"], {})
    assert answer.status == 404


# -- notifications -----------------------------------------------------------------------------------------
def test_creating_a_purchase_invoice_sends_one_created_notification_after_the_delay(bc, subscriber):
    sub = subscribe(bc, subscriber)
    invoice = purchase_invoice(bc)
    (request,) = subscriber.wait_for_notifications(1)
    assert request.method == "POST" and request.headers["Content-Type"].startswith("application/json")
    (note,) = request.json()["value"]
    assert note == {
        "subscriptionId": sub["subscriptionId"], "clientState": "s3cret",
        "expirationDateTime": sub["expirationDateTime"],
        "resource": "api/v2.0/companies(%s)/purchaseInvoices(%s)" % (US, invoice["id"]),
        "changeType": "created", "lastModifiedDateTime": note["lastModifiedDateTime"],
    }
    assert note["lastModifiedDateTime"] >= invoice["lastModifiedDateTime"]


def test_a_change_to_a_line_notifies_its_document_as_updated(bc, subscriber):
    draft = us_id("purchaseInvoices", "P-INV1001")
    lines = bc.get(company_path() + "/purchaseInvoices(%s)/purchaseInvoiceLines" % draft).value
    subscribe(bc, subscriber)
    answer = bc.patch(company_path() + "/purchaseInvoices(%s)/purchaseInvoiceLines(%s)" % (draft, lines[0]["id"]),
                      {"quantity": 3})
    assert answer.status == 200, answer.body
    (request,) = subscriber.wait_for_notifications(1)
    assert [(n["resource"].rsplit("/", 1)[1], n["changeType"]) for n in request.json()["value"]] == [
        ("purchaseInvoices(%s)" % draft, "updated")]


def test_several_changes_within_the_delay_arrive_in_one_request(bc, subscriber):
    subscribe(bc, subscriber, "vendors")
    ids = [bc.post(company_path() + "/vendors", {"displayName": "Vendor %d" % i}).body["id"] for i in range(3)]
    (request,) = subscriber.wait_for_notifications(1)
    values = request.json()["value"]
    assert sorted(n["resource"] for n in values) == sorted(
        "api/v2.0/companies(%s)/vendors(%s)" % (US, i) for i in ids)
    assert {n["changeType"] for n in values} == {"created"}


def test_a_record_created_and_changed_within_the_delay_is_notified_once_as_created(bc, subscriber):
    subscribe(bc, subscriber, "vendors")
    vendor = bc.post(company_path() + "/vendors", {"displayName": "Once"}).body
    bc.patch(company_path() + "/vendors(%s)" % vendor["id"], {"displayName": "Twice"})
    (request,) = subscriber.wait_for_notifications(1)
    assert [n["changeType"] for n in request.json()["value"]] == ["created"]


def test_deleting_a_record_notifies_deleted(bc, subscriber):
    vendor = bc.post(company_path() + "/vendors", {"displayName": "Short-lived"}).body
    subscribe(bc, subscriber, "vendors")
    assert bc.delete(company_path() + "/vendors(%s)" % vendor["id"]).status == 204
    (request,) = subscriber.wait_for_notifications(1)
    assert [n["changeType"] for n in request.json()["value"]] == ["deleted"]


def test_notifications_wait_for_the_configured_delay_on_the_sandbox_clock(bc, subscriber, world, clock):
    world.webhooks.update_settings({"notificationDelaySeconds": 30})
    subscribe(bc, subscriber)
    purchase_invoice(bc)
    time.sleep(0.4)
    assert subscriber.notifications() == []
    clock.advance(30)
    subscriber.wait_for_notifications(1)


def test_flush_sends_pending_notifications_before_the_delay(bc, subscriber, world):
    world.webhooks.update_settings({"notificationDelaySeconds": 3600})
    subscribe(bc, subscriber)
    purchase_invoice(bc)
    assert world.webhooks.flush() == 1
    subscriber.wait_for_notifications(1)


def test_a_failed_request_notifies_nothing(bc, subscriber):
    subscribe(bc, subscriber)
    answer = bc.post(company_path() + "/purchaseInvoices", {
        "vendorNumber": "V10000",
        "purchaseInvoiceLines": [{"lineType": "Account", "lineObjectNumber": "60900", "quantity": 1}]})
    assert answer.status == 400
    time.sleep(0.4)
    assert subscriber.notifications() == []


def test_only_the_subscribed_company_and_entity_set_notify(bc, subscriber):
    subscribe(bc, subscriber, "vendors", company=VAT)
    bc.post(company_path() + "/vendors", {"displayName": "US vendor"})
    bc.post(company_path() + "/customers", {"displayName": "US customer"})
    time.sleep(0.4)
    assert subscriber.notifications() == []


def test_more_than_1000_changes_within_the_delay_become_one_collection_notification(bc, subscriber, world):
    sub = subscribe(bc, subscriber, "generalLedgerEntries")
    world.change_data(world.resolve_tenant(bc.tenant), bc.environment, US,
                      lambda comp, types, behaviors: bulk_insert(comp, {"generalLedgerEntries": 1001}))
    (request,) = subscriber.wait_for_notifications(1)
    (note,) = request.json()["value"]
    assert (note["subscriptionId"], note["changeType"]) == (sub["subscriptionId"], "collection")
    m = re.fullmatch(r"api/v2\.0/companies\(%s\)/generalLedgerEntries\?\$filter=lastModifiedDateTime%%20gt%%20"
                     r"(\d{4}-\d\d-\d\dT\d\d%%3A\d\d%%3A\d\dZ)" % US, note["resource"])
    assert m, note["resource"]


def test_1000_changes_are_still_sent_one_by_one(bc, subscriber, world):
    subscribe(bc, subscriber, "generalLedgerEntries")
    world.change_data(world.resolve_tenant(bc.tenant), bc.environment, US,
                      lambda comp, types, behaviors: bulk_insert(comp, {"generalLedgerEntries": 1000}))
    (request,) = subscriber.wait_for_notifications(1)
    values = request.json()["value"]
    assert len(values) == 1000 and {n["changeType"] for n in values} == {"created"}


def test_more_changes_than_a_lowered_collection_threshold_become_one_collection_notification(bc, subscriber, world):
    world.webhooks.update_settings({"collectionThreshold": 2})
    subscribe(bc, subscriber, "generalLedgerEntries")
    world.change_data(world.resolve_tenant(bc.tenant), bc.environment, US,
                      lambda comp, types, behaviors: bulk_insert(comp, {"generalLedgerEntries": 3}))
    (request,) = subscriber.wait_for_notifications(1)
    assert [n["changeType"] for n in request.json()["value"]] == ["collection"]


def test_the_data_hook_that_posts_a_purchase_invoice_notifies_the_invoice_and_its_ledger_entries(bc, subscriber,
                                                                                                 world):
    subscribe(bc, subscriber, "purchaseInvoices")
    subscribe(bc, subscriber, "generalLedgerEntries")
    doc = world.change_data(world.resolve_tenant(bc.tenant), bc.environment, US,
                            lambda comp, types, behaviors: insert_posted_document(
                                comp, "purchaseInvoices", {"vendorNumber": "V10000"}, types, behaviors))
    requests_ = subscriber.wait_for_notifications(2)
    by_set = {}
    for req in requests_:
        for n in req.json()["value"]:
            by_set.setdefault(n["resource"].split("/")[3].split("(")[0], []).append(n)
    assert [n["resource"].endswith("(%s)" % doc["id"]) for n in by_set["purchaseInvoices"]] == [True]
    assert by_set["purchaseInvoices"][0]["changeType"] == "created"
    assert by_set["generalLedgerEntries"] and {n["changeType"] for n in by_set["generalLedgerEntries"]} == {"created"}


# -- answers: retry, give up, delete -----------------------------------------------------------------------
@pytest.mark.parametrize("status", [408, 429, 500, 503])
def test_408_429_and_5xx_answers_are_retried_with_backoff(bc, subscriber, world, status):
    world.webhooks.update_settings({"retryInitialSeconds": 0.2})
    answers = iter([status])
    subscriber.answer = lambda req: (next(answers, 200), req.token or "") if req.token is None else (200, req.token)
    sub = subscribe(bc, subscriber)
    purchase_invoice(bc)
    first, second = subscriber.wait_for_notifications(2)
    assert first.body == second.body
    assert outcomes(world, 2) == ["retry", "delivered"]
    assert bc.get(SUBSCRIPTIONS + "('%s')" % sub["subscriptionId"]).status == 200


def test_retries_stop_after_36_hours_and_the_subscription_stays(bc, subscriber, world, clock):
    world.webhooks.update_settings({"retryInitialSeconds": 3600, "retryMaxIntervalSeconds": 3600})
    subscriber.answer = lambda req: (503, "") if req.token is None else (200, req.token)
    sub = subscribe(bc, subscriber)
    purchase_invoice(bc)
    seen = outcomes(world, 1)
    while "gaveUp" not in seen and len(seen) < 40:  # one attempt an hour (the interval is capped at 1 h)
        clock.advance(3600)
        seen = outcomes(world, len(seen) + 1)
    assert seen[-1] == "gaveUp" and set(seen[:-1]) == {"retry"}
    assert len(seen) in (36, 37)  # hourly attempts within 36 hours of the first one
    clock.advance(3600)
    time.sleep(0.3)
    assert len(subscriber.notifications()) == len(seen)
    assert world.webhooks.summary()["subscriptions"][0]["waitingRequests"] == 0
    assert bc.get(SUBSCRIPTIONS + "('%s')" % sub["subscriptionId"]).status == 200


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_any_other_error_status_deletes_the_subscription(bc, subscriber, world, status):
    subscriber.answer = lambda req: (status, "") if req.token is None else (200, req.token)
    sub = subscribe(bc, subscriber)
    purchase_invoice(bc)
    assert outcomes(world, 1) == ["subscriptionDeleted"]
    assert bc.get(SUBSCRIPTIONS + "('%s')" % sub["subscriptionId"]).status == 404
    assert world.webhooks.log()["notifications"][-1]["outcome"] == "deleted"


def test_an_unreachable_subscriber_is_retried(bc, subscriber, world):
    world.webhooks.update_settings({"retryInitialSeconds": 3600})
    subscribe(bc, subscriber)
    subscriber.stop()
    purchase_invoice(bc)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        entries = [e for e in world.webhooks.log()["notifications"] if e["kind"] == "notification"]
        if entries:
            break
        time.sleep(0.05)
    assert entries[0]["outcome"] == "retry" and entries[0]["status"] is None


def test_the_admin_switch_drops_a_subscription_without_calling_the_subscriber(bc, subscriber, world):
    sub = subscribe(bc, subscriber)
    assert world.webhooks.drop(sub["subscriptionId"]) == {"subscriptionId": sub["subscriptionId"], "deleted": True}
    assert bc.get(SUBSCRIPTIONS).value == []
    assert len(subscriber.received) == 1  # the handshake only
    with pytest.raises(KeyError):
        world.webhooks.drop(sub["subscriptionId"])


def test_the_notification_log_keeps_each_request_body_and_answer(bc, subscriber, world):
    sub = subscribe(bc, subscriber)
    purchase_invoice(bc)
    outcomes(world, 1)
    handshake, note = world.webhooks.log()["notifications"]
    assert (handshake["kind"], handshake["outcome"], handshake["status"]) == ("handshake", "validated", 200)
    assert (note["kind"], note["outcome"], note["status"], note["count"]) == ("notification", "delivered", 200, 1)
    assert note["subscriptionId"] == sub["subscriptionId"]
    assert note["body"]["value"][0]["changeType"] == "created"


def test_reset_forgets_subscriptions(bc, subscriber, world):
    subscribe(bc, subscriber)
    world.reset()
    assert bc.get(SUBSCRIPTIONS).value == []


