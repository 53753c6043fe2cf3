"""Business Central refusing an access token the worker still holds (issue 10 item 4), against the sandbox:
a token invalidated early (`/_sandbox/tokens/invalidate`, as after a revoked session) or expired on BC's
clock (`/_sandbox/clock`) is replaced by a fresh one once, in both auth modes, without a worker restart;
a fresh delegated token refused for a revoked grant parks the message and marks the connector; a 401 that
a fresh app-only token does not cure fails with the 'Microsoft Entra applications' hint."""

from __future__ import annotations

import pytest

from sandbox import constants
from tests._app import call_http
from tests.integration.consent._helpers import consent, outcome, put_delegated
from tests.integration.exports._helpers import (
    OutcomeReader,
    customer_data,
    deliver,
    message,
    save_connector,
    settings_document,
)

pytestmark = pytest.mark.integration

TWO_HOURS = 2 * 3600


def export(outcomes: OutcomeReader, name: str, host_id: str) -> dict:
    deliver("bc-customers", message(name, "customer", customer_data(host_id, name=f"Customer {host_id}")))
    return outcomes.of(name)[-1]


@pytest.fixture
def delegated(services, connector_name, sandbox):
    put_delegated(connector_name)
    assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
    outcomes = OutcomeReader(services)
    assert export(outcomes, connector_name, "c-1")["status"] == "created"  # a token is now cached
    return outcomes


@pytest.fixture
def app_only(services, connector_name):
    save_connector(connector_name)
    outcomes = OutcomeReader(services)
    assert export(outcomes, connector_name, "c-1")["status"] == "created"
    return outcomes


def test_a_delegated_token_invalidated_early_is_replaced_by_a_fresh_one(delegated, services, connector_name, bc):
    generation = services.token_versions().get(connector_name).generation
    assert bc.invalidate_tokens(constants.TENANT_ID, constants.DEMO_CLIENT_ID)["invalidatedAccessTokens"] >= 1

    assert export(delegated, connector_name, "c-2")["status"] == "created"
    assert services.token_versions().get(connector_name).generation == generation + 1  # redeemed, rotated, kept


def test_a_revoked_grant_found_by_a_401_parks_the_message_and_asks_for_reconnection(
        delegated, services, connector_name, bc):
    bc.revoke_grant(constants.TENANT_ID, constants.DEMO_CLIENT_ID)
    bc.invalidate_tokens(constants.TENANT_ID, constants.DEMO_CLIENT_ID)

    parked = export(delegated, connector_name, "c-2")

    assert parked["status"] == "parked"
    assert services.store().get(connector_name).status == "reconnect_required"
    assert [p.message for p in services.parking().list(connector_name)]
    assert [n for n in services.notifications if n["event"] == "reconnect_required"
            and n["connector"] == connector_name]


def test_a_delegated_token_past_its_expiry_on_bcs_clock_is_replaced_without_a_restart(
        delegated, connector_name, bc):
    bc.advance_clock(TWO_HOURS)

    assert export(delegated, connector_name, "c-2")["status"] == "created"
    assert export(delegated, connector_name, "c-3")["status"] == "created"


def test_an_app_only_token_invalidated_early_is_replaced_by_a_fresh_one(app_only, connector_name, bc):
    bc.invalidate_tokens(constants.TENANT_ID, constants.DEMO_CLIENT_ID)

    assert export(app_only, connector_name, "c-2")["status"] == "created"


def test_an_app_only_token_past_its_expiry_on_bcs_clock_is_replaced_and_saves_still_verify(
        app_only, connector_name, bc):
    bc.advance_clock(TWO_HOURS)

    assert export(app_only, connector_name, "c-2")["status"] == "created"
    saved = call_http("put_connector", route_params={"name": connector_name}, body=settings_document())
    assert saved.status_code == 200, saved.get_body()


def test_a_401_that_a_fresh_app_only_token_does_not_cure_names_the_entra_applications_page(
        app_only, connector_name, bc):
    bc.set_bc_app_enabled(constants.TENANT_ID, constants.ENVIRONMENT, constants.DEMO_CLIENT_ID, False)

    failed = export(app_only, connector_name, "c-2")

    assert failed["status"] == "failed"
    assert "Microsoft Entra applications" in failed["error"]["message"]
