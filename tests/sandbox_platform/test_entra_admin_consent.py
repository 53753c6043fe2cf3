"""The admin consent endpoint (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent): an
administrator approves the app for the whole tenant and Entra sends the browser to the redirect URI with
`admin_consent=True&tenant=...`, or with `error` when not; bc-connector's callback shows the matching page."""

from __future__ import annotations

from urllib.parse import urlencode

from sandbox.constants import DEMO_CLIENT_ID, DEMO_USER, TENANT_ID
from shared.consent._admin import admin_consent_page
from tests.sandbox_platform.helpers import REDIRECT_URI, decide, redirect_params


def _open(http, url, **params):
    query = {"client_id": DEMO_CLIENT_ID, **params}
    return http.get(f"{url}/{TENANT_ID}/adminconsent?{urlencode(query)}", allow_redirects=False)


def test_the_admin_consent_link_of_the_deploy_guide_shows_a_page_for_the_whole_organization(server, http):
    page = _open(http, server.url)
    assert page.status_code == 200 and "for your whole organization" in page.text
    assert f'action="/{TENANT_ID}/adminconsent"' in page.text


def test_accepting_returns_admin_consent_true_and_the_tenant_to_the_registered_redirect_uri(server, http):
    page = _open(http, server.url)
    answer = decide(http, server.url, page.text, "accept", user=DEMO_USER)
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    params = redirect_params(answer)
    assert params == {"admin_consent": "True", "tenant": TENANT_ID}
    landing = admin_consent_page(params)
    assert landing is not None and landing.outcome == "admin-consent-granted" and landing.status == 200


def test_the_state_of_the_request_comes_back_when_there_was_one(server, http):
    page = _open(http, server.url, state="ops-42", redirect_uri=REDIRECT_URI)
    params = redirect_params(decide(http, server.url, page.text, "accept", user=DEMO_USER))
    assert params["state"] == "ops-42" and params["admin_consent"] == "True"


def test_cancelling_returns_access_denied_without_a_state_and_the_callback_says_declined(server, http):
    page = _open(http, server.url)
    params = redirect_params(decide(http, server.url, page.text, "cancel"))
    assert params["error"] == "access_denied" and "state" not in params
    assert params["error_description"].startswith("AADSTS65004: ")
    landing = admin_consent_page(params)
    assert landing is not None and landing.outcome == "admin-consent-declined"


def test_an_unregistered_redirect_uri_is_shown_on_entras_page_never_redirected(server, http):
    page = _open(http, server.url, redirect_uri="https://evil.example/cb")
    assert page.status_code == 400 and "AADSTS50011" in page.text
