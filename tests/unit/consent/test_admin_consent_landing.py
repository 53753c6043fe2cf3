"""An administrator who opened the admin consent link (docs/deploy.md step 7a) lands on a page that says what
happened, never on an error about a consent link bc-connector did not issue. Entra's answers are those of
https://learn.microsoft.com/entra/identity-platform/v2-admin-consent ("Successful response", "Error response")."""

from __future__ import annotations

import pytest

from shared import bootstrap
from tests._app import call_http
from tests._worker import memory_adapters

TENANT = "aaaabbbb-0000-cccc-1111-dddd2222eeee"


@pytest.fixture(autouse=True)
def worker():
    adapters = memory_adapters({"PUBLIC_BASE_URL": "https://app.test"})
    bootstrap.set_worker_app(bootstrap.bootstrap(adapters=adapters))
    yield adapters
    bootstrap.set_worker_app(None)


def _page(params: dict[str, str]) -> tuple[int, str]:
    response = call_http("consent_callback", params=params)
    return response.status_code, response.get_body().decode()


def test_a_granted_admin_consent_shows_success_with_the_tenant_and_the_next_steps():
    status, body = _page({"admin_consent": "True", "tenant": TENANT,
                          "scope": "https://api.businesscentral.dynamics.com/.default"})
    assert status == 200
    assert "Admin consent granted" in body and TENANT in body
    assert "Microsoft Entra applications" in body  # what to do next in Business Central
    assert 'data-outcome="admin-consent-granted"' in body or "admin-consent-granted" in body


def test_a_granted_admin_consent_with_a_state_is_still_recognised():
    status, body = _page({"admin_consent": "True", "tenant": TENANT, "state": "12345"})
    assert status == 200 and "Admin consent granted" in body


def test_a_cancelled_admin_consent_says_it_was_not_given():
    status, body = _page({"error": "access_denied",
                          "error_description": "AADSTS65004: The admin canceled the request."})
    assert status == 403 and "Admin consent was not given" in body
    assert "AADSTS65004" in body  # in the reference line, for support


def test_an_account_without_the_admin_role_is_told_who_can_approve():
    status, body = _page({"error": "access_denied", "admin_consent": "True",
                          "error_description": "AADSTS90094: The grant requires admin permission."})
    assert status == 403 and "cannot approve this for the organization" in body


def test_any_other_admin_consent_error_is_a_specific_page_not_the_unknown_state_page():
    status, body = _page({"error": "invalid_request", "error_description": "AADSTS50011: redirect mismatch"})
    assert status == 400 and "refused the admin consent request" in body
    assert "did not issue" not in body and "unknown" not in body.lower()


def test_a_tenant_value_that_is_not_an_id_is_not_echoed():
    status, body = _page({"admin_consent": "True", "tenant": "<script>alert(1)</script>"})
    assert status == 200 and "<script>alert(1)" not in body and "alert(1)" not in body


def test_a_connector_consent_answer_with_a_state_still_goes_to_the_connector_flow():
    status, body = _page({"error": "access_denied", "state": "s" * 43,
                          "error_description": "AADSTS65004: declined"})
    assert "Admin consent" not in body
