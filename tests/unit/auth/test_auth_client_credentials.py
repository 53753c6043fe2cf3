"""Client-credentials tokens through MSAL: discovery, one token request, cache hits, typed failures."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
import requests

from shared.auth import (
    BC_SCOPE,
    ClientCredentialsCredential,
    InvalidClientError,
    ReconnectRequiredError,
    TokenEndpointUnavailableError,
    TokenError,
    UnknownApplicationError,
    UnknownTenantError,
)
from shared.errors import TransientError
from tests.unit.auth._entra import (
    ACCESS_TOKEN,
    AUTHORITY_HOST,
    CLIENT_ID,
    CORRELATION,
    DISCOVERY,
    SECRET,
    TENANT,
    TOKEN_URL,
    entra_error,
    now,
    token_answer,
)


def test_a_token_is_fetched_after_tenant_discovery_with_the_bc_scope(credential, entra):
    entra.post(TOKEN_URL, json=token_answer())

    token = credential.get_token(BC_SCOPE)

    form = dict(parse_qsl(entra.calls[1].request.body))
    assert form["grant_type"] == "client_credentials" and form["client_id"] == CLIENT_ID
    assert form["scope"] == BC_SCOPE
    assert token.token == ACCESS_TOKEN
    assert now() + 3500 < token.expires_on <= now() + 3600
    assert [c.request.method for c in entra.calls] == ["GET", "POST"]
    assert entra.calls[0].request.url == DISCOVERY


def test_a_second_call_within_the_token_life_makes_no_request(credential, entra):
    entra.post(TOKEN_URL, json=token_answer())
    first = credential.get_token(BC_SCOPE)
    second = credential.get_token(BC_SCOPE)
    assert second.token == first.token
    assert len(entra.calls) == 2  # discovery + one token request


def test_the_secret_goes_in_the_token_request_body_and_nowhere_else(credential, entra):
    entra.post(TOKEN_URL, json=token_answer())
    credential.get_token(BC_SCOPE)
    discovery, token_request = (c.request for c in entra.calls)
    assert dict(parse_qsl(token_request.body))["client_secret"] == SECRET
    assert SECRET not in token_request.url and SECRET not in str(token_request.headers)
    assert discovery.body is None and SECRET not in discovery.url


def test_importing_shared_auth_does_not_import_msal():
    code = "import sys, shared.auth, shared.bc; print('msal' in sys.modules, 'azure.core' in sys.modules)"
    repo_root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=repo_root).stdout
    assert out.strip() == "False False"


def test_a_wrong_secret_raises_invalid_client_with_what_to_do(credential, entra):
    entra.post(TOKEN_URL, status=401, json=entra_error(
        "invalid_client", 7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
        f"not the client secret ID, for a secret added to app '{CLIENT_ID}'."))

    with pytest.raises(InvalidClientError) as caught:
        credential.get_token(BC_SCOPE)

    err = caught.value
    assert str(err) == (f"The client secret was rejected by Entra ID (AADSTS7000215). Create a new secret for app "
                        f"{CLIENT_ID} and save the connector again; use the secret's value, not its id. "
                        f"(Entra correlation id {CORRELATION})")
    assert err.error == "invalid_client" and err.error_codes == (7000215,) and err.aadsts == "AADSTS7000215"
    assert err.correlation_id == CORRELATION and not isinstance(err, TransientError)
    assert "Trace ID" not in err.description


def test_an_expired_secret_raises_invalid_client_that_says_it_expired(credential, entra):
    entra.post(TOKEN_URL, status=401, json=entra_error(
        "invalid_client", 7000222, f"The provided client secret keys for app '{CLIENT_ID}' are expired."))
    with pytest.raises(InvalidClientError, match="has expired \\(AADSTS7000222\\)"):
        credential.get_token(BC_SCOPE)


def test_an_unknown_client_id_raises_unknown_application(credential, entra):
    entra.post(TOKEN_URL, status=400, json=entra_error(
        "unauthorized_client", 700016, f"Application with identifier '{CLIENT_ID}' was not found in the directory."))
    with pytest.raises(UnknownApplicationError, match=f"does not know app {CLIENT_ID} in tenant {TENANT}"):
        credential.get_token(BC_SCOPE)


def test_an_unknown_tenant_is_recognised_from_the_failed_discovery(entra):
    bad = "no-such-tenant.onmicrosoft.com"
    entra.get(f"{AUTHORITY_HOST}/{bad}/v2.0/.well-known/openid-configuration", status=400, json=entra_error(
        "invalid_tenant", 90002, f"Tenant '{bad}' not found. Check to make sure you have the correct tenant ID."))
    credential = ClientCredentialsCredential(authority_host=AUTHORITY_HOST, tenant=bad, client_id=CLIENT_ID,
                                             client_secret=SECRET, http_session=requests.Session())

    with pytest.raises(UnknownTenantError) as caught:
        credential.get_token(BC_SCOPE)

    assert f"does not know tenant '{bad}' (AADSTS90002)" in str(caught.value)
    assert caught.value.correlation_id == CORRELATION


def test_a_discovery_404_without_an_entra_body_is_an_unknown_tenant_too(entra):
    entra.get(f"{AUTHORITY_HOST}/nowhere/v2.0/.well-known/openid-configuration", status=404, body="Not Found")
    credential = ClientCredentialsCredential(authority_host=AUTHORITY_HOST, tenant="nowhere", client_id=CLIENT_ID,
                                             client_secret=SECRET, http_session=requests.Session())
    with pytest.raises(UnknownTenantError, match="BC_AUTHORITY_HOST"):
        credential.get_token(BC_SCOPE)


def test_a_failed_discovery_is_tried_again_on_the_next_call(entra):
    url = f"{AUTHORITY_HOST}/flaky/v2.0/.well-known/openid-configuration"
    entra.get(url, body=requests.ConnectionError("connection refused"))
    credential = ClientCredentialsCredential(authority_host=AUTHORITY_HOST, tenant="flaky", client_id=CLIENT_ID,
                                             client_secret=SECRET, http_session=requests.Session())
    with pytest.raises(TokenEndpointUnavailableError, match="could not be reached"):
        credential.get_token(BC_SCOPE)

    entra.replace("GET", url, json={"token_endpoint": f"{AUTHORITY_HOST}/flaky/oauth2/v2.0/token",
                                    "authorization_endpoint": f"{AUTHORITY_HOST}/flaky/oauth2/v2.0/authorize"})
    entra.post(f"{AUTHORITY_HOST}/flaky/oauth2/v2.0/token", json=token_answer())
    assert credential.get_token(BC_SCOPE).token == ACCESS_TOKEN


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_from_the_token_endpoint_is_transient(credential, entra, status):
    entra.post(TOKEN_URL, status=status, body="upstream failure", headers={"Retry-After": "20"})
    with pytest.raises(TokenEndpointUnavailableError) as caught:
        credential.get_token(BC_SCOPE)
    assert isinstance(caught.value, TransientError) and caught.value.retry_after == 20.0
    assert "the work is retried later" in str(caught.value)


def test_a_429_from_the_token_endpoint_is_transient(credential, entra):
    entra.post(TOKEN_URL, status=429, json=entra_error("temporarily_unavailable", 50196, "Too many requests."),
               headers={"Retry-After": "5"})
    with pytest.raises(TokenEndpointUnavailableError) as caught:
        credential.get_token(BC_SCOPE)
    assert caught.value.retry_after == 5.0


def test_a_timeout_at_the_token_endpoint_is_transient(credential, entra):
    entra.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(TokenEndpointUnavailableError, match="timed out"):
        credential.get_token(BC_SCOPE)


def test_missing_admin_consent_for_the_app_raises_reconnect_required(credential, entra):
    entra.post(TOKEN_URL, status=400, json=entra_error(
        "invalid_grant", 65001, "The user or administrator has not consented to use the application.",
        suberror="consent_required"))
    with pytest.raises(ReconnectRequiredError, match="consent to the app is missing \\(AADSTS65001\\)"):
        credential.get_token(BC_SCOPE)


def test_the_secret_never_appears_in_exception_text_repr_or_logs(credential, entra, caplog):
    # A misbehaving endpoint echoes the secret and a token; neither may leak anywhere.
    entra.post(TOKEN_URL, status=401, json={
        "error": "invalid_client",
        "error_description": f"AADSTS7000215: Invalid client secret provided: {SECRET} "
                             f"client_secret={SECRET}&token={ACCESS_TOKEN}",
        "error_codes": [7000215], "correlation_id": CORRELATION})
    caplog.set_level(logging.DEBUG)

    with pytest.raises(TokenError) as caught:
        credential.get_token(BC_SCOPE)

    err = caught.value
    texts = [str(err), repr(err), err.description, err.message, repr(credential), caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    assert not [t for t in texts if SECRET in t or ACCESS_TOKEN in t]


def test_the_credential_needs_an_https_authority_and_a_plain_tenant():
    with pytest.raises(ValueError, match="https"):
        ClientCredentialsCredential(authority_host="http://login.test", tenant=TENANT, client_id=CLIENT_ID,
                                    client_secret=SECRET)
    with pytest.raises(ValueError, match="tenant id"):
        ClientCredentialsCredential(authority_host=AUTHORITY_HOST, tenant="a/b", client_id=CLIENT_ID,
                                    client_secret=SECRET)


def test_repr_shows_the_authority_and_client_but_not_the_secret(credential):
    assert repr(credential) == (f"ClientCredentialsCredential(authority='{AUTHORITY_HOST}/{TENANT}', "
                                f"client_id='{CLIENT_ID}')")


def test_a_throttled_answer_replayed_from_msals_cache_is_still_transient(credential, entra):
    entra.post(TOKEN_URL, status=429, json={"error": "invalid_request", "error_description": "AADSTS50196: Loop."},
               headers={"Retry-After": "30"})
    for _ in range(2):
        with pytest.raises(TokenEndpointUnavailableError) as caught:
            credential.get_token(BC_SCOPE)
        assert caught.value.retry_after == 30.0
    assert [c.request.method for c in entra.calls] == ["GET", "POST"]  # the second answer came from MSAL's cache
