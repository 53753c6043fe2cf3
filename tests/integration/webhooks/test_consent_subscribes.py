"""Real-time expenses of a delegated connector: BC can be called only once the user has consented, so the save
alone subscribes to nothing; the completed consent creates the subscription (after BC's handshake with the
notification endpoint), and a later save of the connected connector keeps the subscriptions in line with
its settings."""

from __future__ import annotations

import pytest

from tests._app import call_http, json_of
from tests.integration.consent._helpers import consent, outcome
from tests.integration.expenses._helpers import expense_settings

pytestmark = pytest.mark.integration


def _delegated(**expenses) -> dict:
    document = expense_settings(**expenses)
    document["auth"]["mode"] = "delegated"
    return document


def _save(name: str, **expenses) -> dict:
    response = call_http("put_connector", route_params={"name": name}, body=_delegated(**expenses))
    assert response.status_code in (200, 201), json_of(response)
    return json_of(response)


def _realtime(name: str) -> dict:
    return json_of(call_http("get_connector", route_params={"name": name}))["realtime"]


def _handshakes(bc) -> list[str]:
    return [e["outcome"] for e in bc.webhook_log() if e["kind"] == "handshake"]


def test_a_completed_delegated_consent_subscribes_the_connector_to_its_expense_source(push, connector_name, bc,
                                                                                      sandbox):
    saved = _save(connector_name)
    assert saved["connector"]["status"] == "consent_required"
    assert bc.webhooks()["subscriptions"] == [] and _realtime(connector_name)["subscriptions"] == []

    assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"

    [at_bc] = bc.webhooks()["subscriptions"]
    assert at_bc["resource"].endswith("/purchaseInvoices")
    assert f"connector={connector_name}" in at_bc["notificationUrl"]
    assert _handshakes(bc) == ["validated"]
    [shown] = _realtime(connector_name)["subscriptions"]
    assert (shown["resource"], shown["state"], shown["subscriptionId"]) == (
        "purchaseInvoices", "active", at_bc["subscriptionId"])


def test_saving_a_connected_delegated_connector_with_real_time_on_subscribes_it(push, connector_name, bc, sandbox):
    _save(connector_name, realtime=False)
    assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
    assert bc.webhooks()["subscriptions"] == []

    saved = _save(connector_name, realtime=True)

    assert saved["connector"]["status"] == "connected"
    assert any("purchaseInvoices subscription created" in c for c in saved["checks"])
    [at_bc] = bc.webhooks()["subscriptions"]
    assert at_bc["resource"].endswith("/purchaseInvoices") and _handshakes(bc) == ["validated"]
    assert _realtime(connector_name)["subscriptions"][0]["state"] == "active"
