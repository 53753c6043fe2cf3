"""Bearer-token checks on BC routes, tenant/environment resolution, and the BC app registration check."""

from __future__ import annotations

import re

import jwt
import pytest

from sandbox.constants import (
    BC_RESOURCE,
    DEMO_CLIENT_ID,
    DEMO_USER,
    ENVIRONMENT,
    OTHER_TENANT_ID,
    TENANT_DOMAIN,
    TENANT_ID,
    UNREGISTERED_IN_BC_CLIENT_ID,
    UNREGISTERED_IN_BC_CLIENT_SECRET,
)
from tests.sandbox_platform.helpers import app_token, bc_get, delegated_tokens

_ENVELOPE = re.compile(r"^(?P<text>.*)  CorrelationId:  (?P<id>[0-9a-f-]{36})\.$")


def _bc_error(response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    match = _ENVELOPE.match(error["message"])
    assert match, error["message"]
    assert response.headers["request-id"] == match.group("id")
    return match.group("text")


def _rejected(response, reason: str) -> None:
    assert _bc_error(response, 401, "Authentication_InvalidCredentials") == "The server has rejected the client credentials."
    assert response.headers["x-sandbox-reason"] == reason


def test_an_app_token_reaches_the_bc_world(server, http):
    response = bc_get(http, server.url, app_token(http, server.url))

    assert response.status_code == 200, response.text
    assert response.headers["request-id"]


def test_a_delegated_token_reaches_the_bc_world(server, http):
    token = delegated_tokens(http, server.url)["access_token"]

    assert bc_get(http, server.url, token).status_code == 200


def test_no_token_is_401_with_bcs_envelope_and_a_bearer_challenge(server, http):
    response = bc_get(http, server.url, None)

    _rejected(response, "missing_bearer_token")
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization_uri="{server.url}/{TENANT_ID}/oauth2/v2.0/authorize", resource_id="{BC_RESOURCE}"'
    )


def test_a_token_not_signed_by_the_sandbox_is_rejected(server, http):
    forged = jwt.encode({"aud": BC_RESOURCE, "tid": TENANT_ID, "appid": DEMO_CLIENT_ID, "exp": 4102444800}, "k" * 32)

    _rejected(bc_get(http, server.url, forged), "bad_signature")


def test_garbage_is_not_a_token(server, http):
    _rejected(bc_get(http, server.url, "not-a-jwt"), "malformed_token")


def test_an_expired_token_is_rejected_after_the_clock_moves_past_its_lifetime(server, http, admin):
    token = app_token(http, server.url)
    assert bc_get(http, server.url, token).status_code == 200

    admin.advance_clock(3599 + 301)  # lifetime + 5 minutes of accepted clock skew

    _rejected(bc_get(http, server.url, token), "token_expired")


def test_a_token_of_another_tenant_is_rejected(server, http):
    token = app_token(http, server.url, tenant=OTHER_TENANT_ID)

    _rejected(bc_get(http, server.url, token, tenant=TENANT_ID), "tenant_mismatch")


def test_an_unknown_tenant_is_404(server, http):
    token = app_token(http, server.url)

    text = _bc_error(bc_get(http, server.url, token, tenant="nobody.onmicrosoft.com"), 404, "BadRequest_ResourceNotFound")
    assert "nobody.onmicrosoft.com" in text


def test_an_unknown_environment_is_404(server, http):
    token = app_token(http, server.url)

    text = _bc_error(bc_get(http, server.url, token, environment="Staging"), 404, "BadRequest_ResourceNotFound")
    assert "'Staging'" in text


def test_the_tenant_domain_works_in_bc_urls(server, http):
    token = app_token(http, server.url)

    assert bc_get(http, server.url, token, tenant=TENANT_DOMAIN).status_code == 200


def test_the_tenant_segment_may_be_omitted_and_comes_from_the_token(server, http):
    token = delegated_tokens(http, server.url)["access_token"]

    response = http.get(f"{server.url}/v2.0/{ENVIRONMENT}/api/v2.0/companies", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text


def test_an_app_not_enabled_in_bc_gets_a_token_but_bc_rejects_it(server, http):
    token = app_token(http, server.url, client_id=UNREGISTERED_IN_BC_CLIENT_ID, secret=UNREGISTERED_IN_BC_CLIENT_SECRET)

    _rejected(bc_get(http, server.url, token), "app_not_enabled")


def test_enabling_the_app_in_bc_lets_it_in_and_disabling_shuts_it_out(server, http, admin):
    token = app_token(http, server.url, client_id=UNREGISTERED_IN_BC_CLIENT_ID, secret=UNREGISTERED_IN_BC_CLIENT_SECRET)

    admin.set_bc_app_enabled(TENANT_ID, ENVIRONMENT, UNREGISTERED_IN_BC_CLIENT_ID, True)
    assert bc_get(http, server.url, token).status_code == 200

    admin.set_bc_app_enabled(TENANT_DOMAIN, ENVIRONMENT, UNREGISTERED_IN_BC_CLIENT_ID, False)
    _rejected(bc_get(http, server.url, token), "app_not_enabled")


def test_the_app_check_does_not_apply_to_delegated_calls(server, http, admin):
    admin.set_bc_app_enabled(TENANT_ID, ENVIRONMENT, DEMO_CLIENT_ID, False)
    token = delegated_tokens(http, server.url)["access_token"]

    assert bc_get(http, server.url, token).status_code == 200


@pytest.mark.parametrize("path", ["/v2.0/", f"/v2.0/{TENANT_ID}"])
def test_a_bc_url_without_an_environment_is_404_in_bcs_envelope(server, http, path):
    response = http.get(server.url + path)

    _bc_error(response, 404, "BadRequest_ResourceNotFound")


def test_the_request_log_records_the_principal_of_each_bc_call(server, http, admin):
    bc_get(http, server.url, app_token(http, server.url))
    bc_get(http, server.url, delegated_tokens(http, server.url)["access_token"])

    principals = [e["principal"] for e in admin.requests(kind="bc")]

    assert principals == [f"{TENANT_ID}/app:{DEMO_CLIENT_ID}", f"{TENANT_ID}/{DEMO_USER}"]
