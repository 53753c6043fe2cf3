"""Where the consent meets the rest: a delegated save answers a consent link, and the callback function
never answers a bare error, even when something unexpected breaks."""

from __future__ import annotations

import pytest

from sandbox import constants
from shared import bootstrap
from shared.errors import ConfigurationError
from tests._app import call_http
from tests._worker import memory_adapters
from tests.unit.connectors._fakes import connector_service

DELEGATED = {
    "tenantId": constants.TENANT_ID, "environment": "Production", "company": "CRONUS USA, Inc.",
    "auth": {"mode": "delegated", "clientId": constants.DEMO_CLIENT_ID, "clientSecret": "s3cret"},
}


def test_saving_a_delegated_connector_without_consent_answers_a_consent_url():
    service = connector_service(link=lambda record: f"https://login.test/{record.name}",
                                app_client_id=constants.DEMO_CLIENT_ID)
    outcome = service.save("acme", DELEGATED)

    assert outcome.record.status == "consent_required"
    assert outcome.consent_url == "https://login.test/acme"


def test_a_delegated_save_without_a_link_says_why_and_still_saves():
    def broken(record):
        raise ConfigurationError("PUBLIC_BASE_URL is not set.")

    outcome = connector_service(link=broken, app_client_id=constants.DEMO_CLIENT_ID).save("acme", DELEGATED)

    assert outcome.record.status == "consent_required" and outcome.consent_url is None
    assert any("No consent link could be made (PUBLIC_BASE_URL is not set.)" in c for c in outcome.checks)


class _BrokenStates:
    def get(self, state):
        raise RuntimeError("storage is down")


@pytest.fixture
def broken_services():
    adapters = memory_adapters({"PUBLIC_BASE_URL": "https://app.test", "BC_CLIENT_ID": constants.DEMO_CLIENT_ID},
                               consent_states=_BrokenStates())
    bootstrap.set_worker_app(bootstrap.bootstrap(adapters=adapters))
    yield adapters
    bootstrap.set_worker_app(None)


def test_an_unexpected_failure_in_the_callback_still_ends_on_a_page_with_a_reference(broken_services, caplog):
    response = call_http("consent_callback", params={"state": "s" * 43, "code": "the-code"})

    body = response.get_body().decode()
    assert response.status_code == 500 and response.mimetype == "text/html"
    assert "Something went wrong on our side" in body and "Reference: " in body
    assert "storage is down" not in body and "the-code" not in body
    assert "Consent callback failed unexpectedly" in caplog.text


def test_the_callback_page_is_sent_with_headers_that_keep_it_private(broken_services):
    response = call_http("consent_callback", params={})

    assert response.status_code == 400
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
