"""Starting a consent: the authorize URL Entra gets (code + PKCE S256 + single-use state) and what is stored."""

from __future__ import annotations

import hashlib
from dataclasses import replace
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import constants
from shared.connectors import ConnectorNotFound, ConnectorRecord, SettingsInvalid
from shared.consent import (
    CONSENT_STATE_LIFETIME,
    looks_like_state,
    new_code_verifier,
    s256_challenge,
)
from shared.errors import ConfigurationError
from tests.unit.consent.conftest import AUTHORITY, PUBLIC


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_the_s256_challenge_matches_rfc_7636_appendix_b():
    assert s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_a_code_verifier_uses_only_unreserved_characters_within_rfc_7636_lengths():
    verifier = new_code_verifier()
    assert 43 <= len(verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", verifier)


def test_the_url_asks_the_connectors_tenant_for_a_code_with_pkce_s256(ports):
    start = ports.service().start("acme")

    parts = urlsplit(start.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{AUTHORITY}/{constants.TENANT_ID}/oauth2/v2.0/authorize"
    query = _query(start.url)
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert query["client_id"] == constants.DEMO_CLIENT_ID
    assert query["redirect_uri"] == f"{PUBLIC}/api/consent/callback" == start.redirect_uri
    assert query["scope"] == ("https://api.businesscentral.dynamics.com/user_impersonation offline_access "
                              "openid profile")
    assert query["prompt"] == "select_account"


def test_the_stored_state_holds_the_verifier_of_the_challenge_and_the_nonce_msal_will_check(ports):
    start = ports.service().start("acme")
    query = _query(start.url)

    (row,) = ports.states.rows()
    assert row.state == query["state"] and looks_like_state(row.state)
    assert s256_challenge(row.code_verifier) == query["code_challenge"]
    assert hashlib.sha256(row.nonce.encode()).hexdigest() == query["nonce"]
    assert (row.connector, row.tenant, row.client_id, row.used_at) == ("acme", constants.TENANT_ID,
                                                                       constants.DEMO_CLIENT_ID, None)


def test_a_consent_link_works_for_ten_minutes(ports, clock):
    start = ports.service().start("acme")

    assert CONSENT_STATE_LIFETIME.total_seconds() == 600
    assert start.expires_at == "2026-11-23T10:10:00Z"


def test_every_start_has_its_own_state_and_verifier(ports):
    first, second = ports.service().start("acme"), ports.service().start("acme")

    assert _query(first.url)["state"] != _query(second.url)["state"]
    assert _query(first.url)["code_challenge"] != _query(second.url)["code_challenge"]


def test_a_client_credentials_connector_needs_no_consent(ports):
    record = ports.store.get("acme")
    record.settings = replace(record.settings, auth_mode="clientCredentials", client_id=None)
    ports.store.update(record)

    with pytest.raises(SettingsInvalid) as caught:
        ports.service().start("acme")
    assert caught.value.errors[0].field == "auth.mode"
    assert "needs no consent" in caught.value.errors[0].message
    assert list(ports.states.rows()) == []


def test_an_unknown_connector_is_not_found(ports):
    with pytest.raises(ConnectorNotFound, match="no connector named 'ghost'"):
        ports.service().start("ghost")


def test_without_public_base_url_the_error_names_the_setting_and_the_redirect_uri(ports):
    from dataclasses import replace

    ports.app = replace(ports.app, public_base_url=None)

    with pytest.raises(ConfigurationError, match=r"PUBLIC_BASE_URL is not set.*api/consent/callback"):
        ports.service().start("acme")


def test_a_tenant_given_as_a_domain_is_put_in_the_authority_path(ports):
    ports.store.create(ConnectorRecord(**{**vars(ports.store.get("acme")), "name": "bydomain", "etag": None,
                                         "settings": replace(ports.store.get("acme").settings,
                                                             tenant_id=constants.TENANT_DOMAIN)}))

    start = ports.service().start("bydomain")

    assert urlsplit(start.url).path == f"/{constants.TENANT_DOMAIN}/oauth2/v2.0/authorize"


def test_starting_a_consent_deletes_expired_consent_states_a_bounded_number_at_a_time(ports, clock):
    from shared.consent._states import PURGE_PER_START

    for _ in range(PURGE_PER_START + 5):
        ports.service().start("acme")
    clock.advance(minutes=11)  # every state so far has expired

    ports.service().start("acme")

    assert len(list(ports.states.rows())) == 5 + 1  # PURGE_PER_START deleted; the rest waits for the next start
    ports.service().start("acme")
    assert len(list(ports.states.rows())) == 2
