"""Classifying Entra's error answers: each one lands in the group that says what to do."""

from __future__ import annotations

import pytest

from shared.auth import (
    RECONNECT_CODES,
    InvalidClientError,
    ReconnectRequiredError,
    TokenEndpointUnavailableError,
    TokenError,
    TokenRefused,
    UnknownApplicationError,
    UnknownTenantError,
    classify_token_error,
    scrub,
)
from shared.errors import PermanentError, ReconnectRequired, TransientError, disposition
from tests.unit.auth._entra import ACCESS_TOKEN, CLIENT_ID, CORRELATION, SECRET, TENANT, entra_error


def _classify(payload, **kwargs):
    return classify_token_error(payload, client_id=CLIENT_ID, tenant=TENANT, secrets=(SECRET,), **kwargs)


@pytest.mark.parametrize("error,code,cls", [
    ("invalid_client", 7000215, InvalidClientError),
    ("invalid_client", 7000222, InvalidClientError),
    ("unauthorized_client", 700016, UnknownApplicationError),
    ("invalid_client", 7000229, UnknownApplicationError),
    ("invalid_request", 90002, UnknownTenantError),
    ("invalid_request", 90001, UnknownTenantError),
    ("invalid_grant", 70000, ReconnectRequiredError),
    ("invalid_grant", 70008, ReconnectRequiredError),
    ("invalid_grant", 700082, ReconnectRequiredError),
    ("invalid_grant", 50173, ReconnectRequiredError),
    ("invalid_grant", 65001, ReconnectRequiredError),
    ("interaction_required", 50076, ReconnectRequiredError),
    ("interaction_required", 50079, ReconnectRequiredError),
    ("interaction_required", 70043, ReconnectRequiredError),
    ("invalid_resource", 500011, TokenRefused),
])
def test_entra_error_bodies_are_classified_by_their_aadsts_code(error, code, cls):
    err = _classify(entra_error(error, code, "Something happened."))
    assert type(err) is cls
    assert err.error_codes == (code,) and err.correlation_id == CORRELATION
    assert not isinstance(err, TransientError)
    assert isinstance(err, ReconnectRequired if cls is ReconnectRequiredError else PermanentError)
    assert err.code == f"AADSTS{code}"


@pytest.mark.parametrize("error", ["invalid_grant", "interaction_required", "consent_required"])
def test_reconnect_errors_are_recognised_by_the_oauth_error_alone(error):
    err = _classify({"error": error, "error_description": "No code here."})
    assert isinstance(err, ReconnectRequiredError)
    assert "Run the consent for this connector again" in str(err)


def test_consent_required_as_a_suberror_means_reconnect():
    assert isinstance(_classify({"error": "invalid_request", "suberror": "consent_required"}), ReconnectRequiredError)


def test_every_reconnect_code_named_in_the_business_central_notes_is_covered():
    assert {70000, 70008, 700082, 50173, 65001, 50076, 50079, 70043} <= RECONNECT_CODES


def test_the_reconnect_message_says_why_in_operator_words():
    err = _classify(entra_error("invalid_grant", 700082, "The refresh token has expired due to inactivity."))
    assert str(err) == ("Business Central must be reconnected: the refresh token expired after 90 days without use "
                        "(AADSTS700082). Run the consent for this connector again; waiting work is kept and "
                        f"replayed afterwards. (Entra correlation id {CORRELATION})")


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_429_and_5xx_are_transient_whatever_the_body_says(status):
    err = _classify(entra_error("invalid_grant", 70008, "x"), status=status, retry_after=9.0)
    assert isinstance(err, TokenEndpointUnavailableError) and isinstance(err, TransientError)
    assert err.retry_after == 9.0 and disposition(err).retry_after == 9


def test_temporarily_unavailable_is_transient():
    assert isinstance(_classify({"error": "temporarily_unavailable"}), TokenEndpointUnavailableError)


def test_the_aadsts_code_is_read_from_the_description_when_error_codes_is_missing():
    err = _classify({"error": "invalid_client", "error_description": "AADSTS7000222: The secret expired."})
    assert isinstance(err, InvalidClientError) and err.aadsts == "AADSTS7000222"


def test_an_unknown_error_keeps_entras_description_in_the_message():
    err = _classify(entra_error("invalid_resource", 500011, "The resource principal named "
                                                            "https://api.businesscentral.dynamics.com was not found."))
    assert type(err) is TokenRefused and isinstance(err, TokenError)
    assert "AADSTS500011: The resource principal named" in str(err)


def test_descriptions_lose_secrets_tokens_and_entras_trace_tail():
    text = (f"AADSTS7000215: bad {SECRET} and client_secret=abc&refresh_token=0.AXyz token {ACCESS_TOKEN} "
            f'{{"refresh_token": "0.AXyz"}} Trace ID: 1 Correlation ID: 2 Timestamp: 3')
    cleaned = scrub(text, [SECRET])
    assert SECRET not in cleaned and ACCESS_TOKEN not in cleaned and "0.AXyz" not in cleaned and "abc" not in cleaned
    assert cleaned.startswith("AADSTS7000215: bad ***") and "Trace ID" not in cleaned


def test_a_url_encoded_secret_is_scrubbed_too():
    secret = "a+b/c=d~e"
    assert scrub("body: client_id=x&foo=a%2Bb%2Fc%3Dd~e", [secret]) == "body: client_id=x&foo=***"


def test_repr_holds_codes_and_correlation_but_not_the_description():
    err = _classify(entra_error("invalid_client", 7000215, f"secret {SECRET}"))
    assert repr(err) == (f"InvalidClientError(error='invalid_client', error_codes=(7000215,), "
                         f"correlation_id='{CORRELATION}')")


def test_each_token_error_lands_in_the_tree_where_its_queue_action_is_decided():
    refused = _classify(entra_error("invalid_client", 7000215, "x"))
    revoked = _classify(entra_error("invalid_grant", 50173, "x"))
    away = _classify(entra_error("invalid_grant", 70008, "x"), status=503, retry_after=12.0)
    assert [disposition(e).action for e in (refused, revoked, away)] == ["failed", "parked", "retry"]
    assert disposition(away).retry_after == 12
