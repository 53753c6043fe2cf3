"""OIDC discovery and the client-credentials grant, as MSAL and a raw HTTP client see them."""

from __future__ import annotations

import jwt
import msal
import pytest

from sandbox.constants import (
    BC_RESOURCE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    OTHER_TENANT_ID,
    TENANT_DOMAIN,
    TENANT_ID,
    UNREGISTERED_IN_BC_CLIENT_ID,
    UNREGISTERED_IN_BC_CLIENT_SECRET,
)
from tests.sandbox_platform.helpers import aadsts, client_credentials, token_request

UNKNOWN_TENANT = "9b9b9b9b-0000-4000-8000-000000000000"


def _entra_error(response, status: int, error: str, code: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}: ")
    assert f"\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}\r\nTimestamp: " in body[
        "error_description"
    ]
    assert body["timestamp"] and body["error_uri"].endswith(f"/error?code={code}")
    return body


def test_openid_configuration_lists_tenant_specific_endpoints(server, http):
    config = http.get(f"{server.url}/{TENANT_ID}/v2.0/.well-known/openid-configuration").json()

    assert config["issuer"] == f"{server.url}/{TENANT_ID}/v2.0"
    assert config["authorization_endpoint"] == f"{server.url}/{TENANT_ID}/oauth2/v2.0/authorize"
    assert config["token_endpoint"] == f"{server.url}/{TENANT_ID}/oauth2/v2.0/token"
    assert config["jwks_uri"] == f"{server.url}/{TENANT_ID}/discovery/v2.0/keys"
    assert "S256" in config["code_challenge_methods_supported"]


def test_openid_configuration_by_domain_resolves_to_the_tenant_guid_as_entra_does(server, http):
    config = http.get(f"{server.url}/{TENANT_DOMAIN}/v2.0/.well-known/openid-configuration").json()

    assert config["token_endpoint"] == f"{server.url}/{TENANT_ID}/oauth2/v2.0/token"


def test_openid_configuration_of_common_keeps_the_tenantid_placeholder(server, http):
    config = http.get(f"{server.url}/common/v2.0/.well-known/openid-configuration").json()

    assert config["issuer"] == f"{server.url}/{{tenantid}}/v2.0"
    assert config["authorization_endpoint"] == f"{server.url}/common/oauth2/v2.0/authorize"


def test_openid_configuration_of_an_unknown_tenant_is_aadsts90002(server, http):
    response = http.get(f"{server.url}/{UNKNOWN_TENANT}/v2.0/.well-known/openid-configuration")

    body = _entra_error(response, 400, "invalid_request", 90002)
    assert f"Tenant '{UNKNOWN_TENANT}' not found" in body["error_description"]


def test_msal_confidential_client_gets_an_app_only_bc_token(server, admin, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID,
        authority=f"{server.url}/{TENANT_ID}",
        client_credential=DEMO_CLIENT_SECRET,
        instance_discovery=False,
    )

    result = app.acquire_token_for_client(scopes=[f"{BC_RESOURCE}/.default"])

    assert result.get("token_type") == "Bearer", result
    assert result["expires_in"] == 3599
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == BC_RESOURCE
    assert claims["tid"] == TENANT_ID
    assert claims["appid"] == claims["azp"] == DEMO_CLIENT_ID
    assert claims["roles"] == ["API.ReadWrite.All", "Automation.ReadWrite.All"]
    assert claims["exp"] - claims["iat"] == 3599 and claims["nbf"] <= claims["iat"]
    assert "upn" not in claims and "scp" not in claims


def test_msal_reports_a_wrong_secret_as_invalid_client(server, admin, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_bundle)
    app = msal.ConfidentialClientApplication(
        DEMO_CLIENT_ID, authority=f"{server.url}/{TENANT_ID}", client_credential="wrong-secret", instance_discovery=False
    )

    result = app.acquire_token_for_client(scopes=[f"{BC_RESOURCE}/.default"])

    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_a_wrong_secret_is_401_invalid_client_and_never_echoed(server, http):
    response = client_credentials(http, server.url, secret="my-wrong-secret-value")

    body = _entra_error(response, 401, "invalid_client", 7000215)
    assert "Invalid client secret provided" in body["error_description"]
    assert "my-wrong-secret-value" not in response.text
    assert DEMO_CLIENT_SECRET not in response.text


def test_a_missing_secret_is_aadsts7000218(server, http):
    response = client_credentials(http, server.url, secret=None)

    _entra_error(response, 401, "invalid_client", 7000218)


def test_an_unknown_app_is_unauthorized_client_aadsts700016(server, http):
    stranger = "11111111-2222-4333-8444-555555555555"
    response = client_credentials(http, server.url, client_id=stranger, secret="whatever")

    body = _entra_error(response, 400, "unauthorized_client", 700016)
    assert f"Application with identifier '{stranger}' was not found in the directory" in body["error_description"]


def test_a_single_tenant_app_is_unknown_in_another_tenant(server, http):
    response = client_credentials(
        http,
        server.url,
        tenant=OTHER_TENANT_ID,
        client_id=UNREGISTERED_IN_BC_CLIENT_ID,
        secret=UNREGISTERED_IN_BC_CLIENT_SECRET,
    )

    assert aadsts(response) == 700016


def test_an_unknown_tenant_is_invalid_request_aadsts90002(server, http):
    response = client_credentials(http, server.url, tenant=UNKNOWN_TENANT)

    _entra_error(response, 400, "invalid_request", 90002)


@pytest.mark.parametrize(
    "scope",
    [f"{BC_RESOURCE}/user_impersonation", "https://graph.microsoft.com/.default", f"{BC_RESOURCE}/API.ReadWrite.All"],
)
def test_client_credentials_accept_only_the_bc_default_scope(server, http, scope):
    response = client_credentials(http, server.url, scope=scope)

    body = _entra_error(response, 400, "invalid_scope", 70011)
    assert f"The scope {scope} is not valid" in body["error_description"]


def test_client_credentials_over_common_are_refused(server, http):
    response = client_credentials(http, server.url, tenant="common")

    _entra_error(response, 400, "invalid_request", 9001023)


def test_an_unsupported_grant_type_is_named_in_the_error(server, http):
    response = token_request(http, server.url, grant_type="password", client_id=DEMO_CLIENT_ID)

    body = _entra_error(response, 400, "unsupported_grant_type", 70003)
    assert "'password'" in body["error_description"]


def test_client_secret_basic_authentication_works_too(server, http):
    response = http.post(
        f"{server.url}/{TENANT_ID}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "scope": f"{BC_RESOURCE}/.default"},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )

    assert response.status_code == 200, response.text


def test_the_client_request_id_header_becomes_the_correlation_id(server, http):
    correlation = "0b5e1c7a-0000-4000-8000-00000000abcd"
    response = http.post(
        f"{server.url}/{TENANT_ID}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": DEMO_CLIENT_ID, "client_secret": "x", "scope": "y"},
        headers={"client-request-id": correlation},
    )

    assert response.json()["correlation_id"] == correlation
