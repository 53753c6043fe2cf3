"""The authorize endpoint's sign-in/consent page and the authorization-code grant with PKCE."""

from __future__ import annotations

import html
import re

import jwt
import msal
import pytest

from sandbox.constants import (
    BC_RESOURCE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_USER,
    OTHER_TENANT_ID,
    TENANT_ID,
)
from tests.sandbox_platform.helpers import (
    REDIRECT_URI,
    aadsts,
    authorize,
    decide,
    delegated_tokens,
    redeem,
    redirect_params,
    sign_in,
)


def test_the_authorize_page_offers_the_demo_user_with_accept_and_cancel(server, http):
    page = authorize(http, server.url, code_challenge="x" * 43, code_challenge_method="plain")

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert f"Sign in as {DEMO_USER}" in page.text
    assert 'value="accept" id="accept">Accept</button>' in page.text
    assert 'value="cancel" id="cancel">Cancel</button>' in page.text
    assert f'<form method="post" action="/{TENANT_ID}/oauth2/v2.0/authorize"' in page.text


def test_accepting_redirects_with_a_code_and_the_state(server, http):
    page = authorize(http, server.url, state="opaque-state-42")

    answer = decide(http, server.url, page.text, "accept")

    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(REDIRECT_URI + "?")
    params = redirect_params(answer)
    assert params["state"] == "opaque-state-42"
    assert params["code"]


def test_cancelling_redirects_with_access_denied_aadsts65004_and_the_state(server, http):
    page = authorize(http, server.url, state="s-1")

    params = redirect_params(decide(http, server.url, page.text, "cancel"))

    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS65004: User declined to consent")
    assert params["state"] == "s-1"
    assert "code" not in params


def test_an_unregistered_redirect_uri_is_shown_on_the_page_not_redirected(server, http):
    page = authorize(http, server.url, redirect_uri="https://evil.example/callback")

    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "AADSTS50011" in page.text
    assert "https://evil.example/callback" in page.text


def test_an_unknown_client_id_is_shown_on_the_page(server, http):
    page = authorize(http, server.url, client_id="11111111-2222-4333-8444-555555555555")

    assert page.status_code == 400 and "AADSTS700016" in page.text


def test_loopback_redirect_uris_match_on_any_port_as_entra_documents(server, http):
    page = authorize(http, server.url, redirect_uri="http://localhost:7999/api/consent/callback")

    answer = decide(http, server.url, page.text)

    assert answer.headers["Location"].startswith("http://localhost:7999/api/consent/callback?code=")


def test_a_wrong_response_type_is_redirected_as_unsupported_response_type(server, http):
    params = redirect_params(authorize(http, server.url, response_type="token"))

    assert params["error"] == "unsupported_response_type"
    assert params["state"] == "state-123"


def test_a_scope_for_another_resource_is_redirected_as_invalid_scope(server, http):
    params = redirect_params(authorize(http, server.url, scope="https://graph.microsoft.com/User.Read openid"))

    assert params["error"] == "invalid_scope"
    assert params["error_description"].startswith("AADSTS70011")


def test_an_unknown_code_challenge_method_is_redirected_as_invalid_request(server, http):
    params = redirect_params(authorize(http, server.url, code_challenge="a" * 43, code_challenge_method="S512"))

    assert params["error"] == "invalid_request"


@pytest.mark.parametrize("method", ["S256", "plain"])
def test_a_code_with_the_right_pkce_verifier_gives_bc_user_tokens(server, http, method):
    code, verifier = sign_in(http, server.url, method=method)

    response = redeem(http, server.url, code, verifier)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] and body["id_token"]
    assert body["scope"] == f"{BC_RESOURCE}/user_impersonation"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["upn"] == DEMO_USER and claims["scp"] == "user_impersonation"
    assert claims["tid"] == TENANT_ID and claims["appid"] == DEMO_CLIENT_ID and claims["oid"]


def test_a_wrong_pkce_verifier_is_invalid_grant_aadsts501481(server, http):
    code, _ = sign_in(http, server.url)

    response = redeem(http, server.url, code, "a-verifier-that-does-not-match-the-challenge-at-all-000")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant" and aadsts(response) == 501481


def test_a_missing_pkce_verifier_is_refused_too(server, http):
    code, _ = sign_in(http, server.url)

    assert aadsts(redeem(http, server.url, code, None)) == 501481


def test_a_code_works_once_and_then_is_aadsts54005(server, http):
    code, verifier = sign_in(http, server.url)
    assert redeem(http, server.url, code, verifier).status_code == 200

    again = redeem(http, server.url, code, verifier)

    assert again.status_code == 400 and again.json()["error"] == "invalid_grant" and aadsts(again) == 54005


def test_an_unknown_code_is_invalid_grant_aadsts70000(server, http):
    assert aadsts(redeem(http, server.url, "0.sbx.not-a-code", None)) == 70000


def test_a_code_older_than_ten_minutes_has_expired(server, http, admin):
    code, verifier = sign_in(http, server.url)
    admin.advance_clock(601)

    assert aadsts(redeem(http, server.url, code, verifier)) == 70008


def test_a_code_is_bound_to_its_redirect_uri(server, http):
    code, verifier = sign_in(http, server.url)

    response = redeem(http, server.url, code, verifier, redirect_uri="http://127.0.0.1:7071/api/consent/callback")

    assert response.json()["error"] == "invalid_grant" and aadsts(response) == 500112


def test_a_code_is_bound_to_its_tenant(server, http):
    code, verifier = sign_in(http, server.url)

    assert aadsts(redeem(http, server.url, code, verifier, tenant=OTHER_TENANT_ID)) == 700005


def test_a_code_from_common_is_redeemed_for_the_signed_in_users_tenant(server, http):
    tokens = delegated_tokens(http, server.url, tenant="common")

    assert jwt.decode(tokens["access_token"], options={"verify_signature": False})["tid"] == TENANT_ID


def test_msal_auth_code_flow_round_trips_through_the_consent_page(server, http, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID, authority=f"{server.url}/{TENANT_ID}", client_credential=DEMO_CLIENT_SECRET, instance_discovery=False
    )
    flow = app.initiate_auth_code_flow(
        [f"{BC_RESOURCE}/user_impersonation"], redirect_uri=REDIRECT_URI, response_mode="form_post"
    )
    page = http.get(flow["auth_uri"])
    answer = decide(http, server.url, page.text)  # form_post: an auto-submitting form aimed at the app
    assert answer.status_code == 200 and f'action="{REDIRECT_URI}"' in answer.text
    auth_response = {
        html.unescape(k): html.unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text)
    }

    result = app.acquire_token_by_auth_code_flow(flow, auth_response)

    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == DEMO_USER
    assert result["refresh_token"]
    assert app.get_accounts()[0]["username"] == DEMO_USER
