"""Webhooks over the real HTTPS server: the control API routes and the request log (kind "webhook")."""

from __future__ import annotations

import time

import pytest

from sandbox.admin import SandboxAdminError
from sandbox.constants import ENVIRONMENT, TENANT_ID
from tests.sandbox_bc._subscriber import Subscriber
from tests.sandbox_platform.conftest import real_world_available
from tests.sandbox_platform.helpers import app_token

pytestmark = pytest.mark.skipif(not real_world_available(), reason="needs the BC data half")


@pytest.fixture()
def subscriber():
    sub = Subscriber().start()
    try:
        yield sub
    finally:
        sub.stop()


def _company_id(server, http, token) -> str:
    url = f"{server.url}/v2.0/{TENANT_ID}/{ENVIRONMENT}/api/v2.0/companies"
    companies = http.get(url, headers={"Authorization": f"Bearer {token}"}).json()["value"]
    return next(c["id"] for c in companies if c["name"] == "CRONUS USA, Inc.")


def _subscribe(server, http, token, subscriber, set_name: str = "vendors") -> dict:
    company = _company_id(server, http, token)
    response = http.post(f"{server.url}/v2.0/{TENANT_ID}/{ENVIRONMENT}/api/v2.0/subscriptions",
                         headers={"Authorization": f"Bearer {token}"},
                         json={"notificationUrl": subscriber.url, "clientState": "k",
                               "resource": f"/api/v2.0/companies({company})/{set_name}"})
    assert response.status_code == 201, response.text
    return {**response.json(), "companyId": company}


def test_the_control_api_sets_the_delay_flushes_and_shows_notifications_and_their_answers(server, http, admin,
                                                                                           subscriber):
    settings = admin.set_webhook_settings(notificationDelaySeconds=3600, retryInitialSeconds=1)
    assert (settings["notificationDelaySeconds"], settings["handshakeMethod"]) == (3600, "POST")
    token = app_token(http, server.url)
    sub = _subscribe(server, http, token, subscriber)
    created = http.post(f"{server.url}/v2.0/{TENANT_ID}/{ENVIRONMENT}/api/v2.0/companies({sub['companyId']})/vendors",
                        headers={"Authorization": f"Bearer {token}"}, json={"displayName": "Push Ltd."})
    assert created.status_code == 201
    (listed,) = admin.webhooks()["subscriptions"]
    assert (listed["subscriptionId"], listed["entitySet"], listed["pendingChanges"]) == (
        sub["subscriptionId"], "vendors", 1)
    assert admin.flush_webhooks() == 1
    (request,) = subscriber.wait_for_notifications(1)
    assert request.json()["value"][0]["resource"].endswith(f"vendors({created.json()['id']})")
    for _ in range(100):
        log = admin.webhook_log()
        if any(e["kind"] == "notification" for e in log):
            break
        time.sleep(0.02)
    kinds = [(e["kind"], e["outcome"], e["status"]) for e in log]
    assert kinds == [("handshake", "validated", 200), ("notification", "delivered", 200)]
    assert admin.webhook_log(since=log[0]["seq"])[0]["kind"] == "notification"


def test_webhook_calls_appear_in_the_request_log_as_kind_webhook(server, http, admin, subscriber):
    token = app_token(http, server.url)
    _subscribe(server, http, token, subscriber)
    (entry,) = admin.requests(kind="webhook")
    assert (entry["method"], entry["path"], entry["status"], entry["webhook"]) == (
        "POST", "/api/bc/notifications", 200, "handshake")
    assert entry["query"] == "validationToken=***"


def test_the_admin_switch_drops_a_subscription_and_unknown_ones_are_404(server, http, admin, subscriber):
    sub = _subscribe(server, http, app_token(http, server.url), subscriber)
    assert admin.drop_subscription(sub["subscriptionId"]) == {"subscriptionId": sub["subscriptionId"],
                                                              "deleted": True}
    assert admin.webhooks()["subscriptions"] == []
    with pytest.raises(SandboxAdminError) as err:
        admin.drop_subscription(sub["subscriptionId"])
    assert err.value.status == 404


def test_bad_webhook_settings_are_refused(admin):
    with pytest.raises(SandboxAdminError) as err:
        admin.set_webhook_settings(handshakeMethod="PUT")
    assert err.value.status == 400
    with pytest.raises(SandboxAdminError):
        admin.set_webhook_settings(notificationDelay=1)


def test_reset_restores_the_default_30_second_delay(admin):
    admin.set_webhook_settings(notificationDelaySeconds=0.1)
    admin.reset()
    assert admin.webhooks()["settings"]["notificationDelaySeconds"] == 30


def test_the_collection_threshold_is_bcs_1000_until_the_control_api_sets_it_and_reset_restores_it(admin):
    assert admin.webhooks()["settings"]["collectionThreshold"] == 1000
    assert admin.set_webhook_settings(collectionThreshold=5)["collectionThreshold"] == 5
    assert admin.webhooks()["settings"]["collectionThreshold"] == 5
    admin.reset()
    assert admin.webhooks()["settings"]["collectionThreshold"] == 1000


@pytest.mark.parametrize("value", [-1, 2.5, "10", True, None])
def test_a_collection_threshold_that_is_not_a_whole_number_of_records_is_refused_naming_it(admin, value):
    with pytest.raises(SandboxAdminError) as err:
        admin.set_webhook_settings(notificationDelaySeconds=7, collectionThreshold=value)
    assert err.value.status == 400 and '"collectionThreshold" must be a whole number >= 0' in err.value.message
    settings = admin.webhooks()["settings"]
    assert (settings["collectionThreshold"], settings["notificationDelaySeconds"]) == (1000, 30)
