"""Refresh-token rotation, revocation and inactivity, and the admin switches of the consent flow."""

from __future__ import annotations

import jwt

from sandbox.constants import (
    BC_RESOURCE,
    DEMO_CLIENT_ID,
    DEMO_USER,
    OTHER_TENANT_DOMAIN,
    OTHER_TENANT_ID,
    TENANT_ID,
)
from tests.sandbox_platform.helpers import (
    aadsts,
    authorize,
    decide,
    delegated_tokens,
    redeem,
    redirect_params,
    refresh,
    sign_in,
)

DAY = 24 * 3600


def test_each_refresh_returns_a_new_refresh_token_and_the_old_one_keeps_working(server, http):
    first = delegated_tokens(http, server.url)["refresh_token"]

    second = refresh(http, server.url, first)
    assert second.status_code == 200, second.text
    rotated = second.json()["refresh_token"]
    assert rotated != first

    assert refresh(http, server.url, first).status_code == 200  # Entra does not revoke the old one
    assert refresh(http, server.url, rotated).status_code == 200


def test_a_refreshed_access_token_is_for_the_same_user_and_tenant(server, http):
    tokens = delegated_tokens(http, server.url)

    body = refresh(http, server.url, tokens["refresh_token"]).json()

    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["upn"], claims["tid"], claims["appid"]) == (DEMO_USER, TENANT_ID, DEMO_CLIENT_ID)


def test_a_refresh_token_is_bound_to_its_client(server, http, admin):
    tokens = delegated_tokens(http, server.url)
    other = admin.register_app(homeTenant=TENANT_ID, multiTenant=True)

    response = http.post(
        f"{server.url}/{TENANT_ID}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": other["clientId"],
            "client_secret": other["clientSecret"],
            "refresh_token": tokens["refresh_token"],
        },
    )

    assert response.json()["error"] == "invalid_grant" and aadsts(response) == 70000


def test_revoking_the_users_grant_makes_every_earlier_refresh_token_fail_with_aadsts50173(server, http, admin):
    tokens = delegated_tokens(http, server.url)
    rotated = refresh(http, server.url, tokens["refresh_token"]).json()["refresh_token"]

    revoked = admin.revoke_grant(TENANT_ID, DEMO_CLIENT_ID, DEMO_USER)

    assert revoked["revokedRefreshTokens"] == 2
    for token in (tokens["refresh_token"], rotated):
        response = refresh(http, server.url, token)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant" and aadsts(response) == 50173


def test_signing_in_again_after_a_revocation_works(server, http, admin):
    delegated_tokens(http, server.url)
    admin.revoke_grant(TENANT_ID, user=DEMO_USER)

    fresh = delegated_tokens(http, server.url)["refresh_token"]

    assert refresh(http, server.url, fresh).status_code == 200


def test_a_refresh_token_unused_for_ninety_days_expires_with_aadsts700082(server, http, admin):
    token = delegated_tokens(http, server.url)["refresh_token"]
    admin.advance_clock(90 * DAY + 60)

    response = refresh(http, server.url, token)

    assert response.json()["error"] == "invalid_grant" and aadsts(response) == 700082
    assert "expired due to inactivity" in response.json()["error_description"]


def test_using_a_refresh_token_restarts_its_ninety_days(server, http, admin):
    token = delegated_tokens(http, server.url)["refresh_token"]
    admin.advance_clock(60 * DAY)
    newest = refresh(http, server.url, token).json()["refresh_token"]
    admin.advance_clock(60 * DAY)

    assert refresh(http, server.url, newest).status_code == 200
    assert refresh(http, server.url, token).status_code == 200  # it was used 60 days ago, not 120


def test_consent_required_mode_fails_refreshes_with_aadsts65001_and_suberror(server, http, admin):
    token = delegated_tokens(http, server.url)["refresh_token"]
    admin.set_consent_mode("consent_required")

    response = refresh(http, server.url, token)

    body = response.json()
    assert response.status_code == 400
    assert body["error"] == "invalid_grant" and body["error_codes"] == [65001]
    assert body["suberror"] == "consent_required"


def test_accepting_the_consent_page_again_ends_consent_required(server, http, admin):
    admin.set_consent_mode("consent_required")

    tokens = delegated_tokens(http, server.url)

    assert admin.world()["directory"]["consentMode"] == "normal"
    assert refresh(http, server.url, tokens["refresh_token"]).status_code == 200


def test_admin_approval_mode_shows_need_admin_approval_and_returns_access_denied(server, http, admin):
    admin.set_consent_mode("admin_approval_required")
    page = authorize(http, server.url, state="s-9")

    assert page.status_code == 200
    assert "Need admin approval" in page.text and "AADSTS90094" in page.text
    assert 'id="accept"' not in page.text

    params = redirect_params(decide(http, server.url, page.text, "cancel"))
    assert params["error"] == "access_denied"
    assert params["error_description"].startswith("AADSTS90094")
    assert params["state"] == "s-9"


def test_wrong_tenant_mode_over_common_signs_in_a_user_of_another_tenant(server, http, admin):
    admin.set_consent_mode("wrong_tenant")
    page = authorize(http, server.url, tenant="common")
    assert f"Sign in as admin@{OTHER_TENANT_DOMAIN}" in page.text
    assert f"Sign in as {DEMO_USER}" not in page.text

    code = redirect_params(decide(http, server.url, page.text))["code"]
    body = redeem(http, server.url, code, None, tenant="common").json()

    assert jwt.decode(body["access_token"], options={"verify_signature": False})["tid"] == OTHER_TENANT_ID


def test_wrong_tenant_mode_on_a_tenant_authority_is_aadsts50020_on_the_page(server, http, admin):
    admin.set_consent_mode("wrong_tenant")
    page = authorize(http, server.url)

    answer = decide(http, server.url, page.text)

    assert answer.status_code == 400 and "Location" not in answer.headers
    assert "AADSTS50020" in answer.text


def test_a_stale_or_replayed_consent_form_is_refused_on_the_page(server, http):
    page = authorize(http, server.url)
    assert decide(http, server.url, page.text).status_code == 302

    replay = decide(http, server.url, page.text)

    assert replay.status_code == 400 and "Location" not in replay.headers


def test_offline_access_is_needed_for_a_refresh_token(server, http):
    code, verifier = sign_in(http, server.url, scope=f"{BC_RESOURCE}/Financials.ReadWrite.All openid")

    body = redeem(http, server.url, code, verifier).json()

    assert "refresh_token" not in body
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["scp"] == "Financials.ReadWrite.All"
