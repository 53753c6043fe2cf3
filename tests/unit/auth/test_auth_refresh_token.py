"""The delegated seam: redeem the stored refresh token, keep the rotated one, reconnect when it is gone."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import pytest
import requests

from shared.auth import BC_SCOPE, ReconnectRequiredError, RefreshTokenCredential, StoredRefreshToken
from tests.unit.auth._entra import (
    ACCESS_TOKEN,
    AUTHORITY_HOST,
    CLIENT_ID,
    SECRET,
    TENANT,
    TOKEN_URL,
    entra_error,
    token_answer,
)

DELEGATED = "https://api.businesscentral.dynamics.com/Financials.ReadWrite.All"
REFRESH = "0.AXyz-first-refresh-token"


class MemoryStore:
    """A guarded store with one version counter (the rotation guard itself is tested in tests/unit/consent)."""

    def __init__(self, token: str | None) -> None:
        self.token = token
        self.version = 1
        self.saved: list[str] = []

    def load_current(self) -> StoredRefreshToken | None:
        return StoredRefreshToken(self.token, str(self.version)) if self.token else None

    def current_version(self) -> str | None:
        return str(self.version)

    def save_rotated(self, refresh_token: str, *, replaces: StoredRefreshToken) -> bool:
        if replaces.version != str(self.version):
            return False
        self.saved.append(refresh_token)
        self.token, self.version = refresh_token, self.version + 1
        return True


def _credential(store: MemoryStore) -> RefreshTokenCredential:
    return RefreshTokenCredential(authority_host=AUTHORITY_HOST, tenant=TENANT, client_id=CLIENT_ID,
                                  client_secret=SECRET, store=store, http_session=requests.Session())


def test_the_stored_refresh_token_is_redeemed_and_the_rotated_one_saved(entra):
    store = MemoryStore(REFRESH)
    entra.post(TOKEN_URL, json=token_answer(refresh_token="0.AXyz-rotated", scope=DELEGATED))

    token = _credential(store).get_token(DELEGATED)

    assert token.token == ACCESS_TOKEN
    assert store.saved == ["0.AXyz-rotated"]
    form = dict(parse_qsl(entra.calls[1].request.body))
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == REFRESH


def test_an_access_token_is_reused_until_shortly_before_it_expires(entra):
    store = MemoryStore(REFRESH)
    entra.post(TOKEN_URL, json=token_answer(refresh_token="0.AXyz-rotated"))
    credential = _credential(store)
    credential.get_token(DELEGATED)
    credential.get_token(DELEGATED)
    assert len(entra.calls) == 2  # discovery + one redemption


def test_no_stored_refresh_token_means_the_connector_must_be_consented(entra):
    with pytest.raises(ReconnectRequiredError, match="No refresh token is stored"):
        _credential(MemoryStore(None)).get_token(DELEGATED)
    assert len(entra.calls) == 0


def test_a_revoked_grant_raises_reconnect_required_without_leaking_the_refresh_token(entra, caplog):
    entra.post(TOKEN_URL, status=400, json=entra_error(
        "invalid_grant", 50173, f"The provided grant has expired due to it being revoked: {REFRESH}"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ReconnectRequiredError, match="AADSTS50173") as caught:
        _credential(MemoryStore(REFRESH)).get_token(BC_SCOPE)
    assert REFRESH not in str(caught.value) and REFRESH not in caught.value.description
    assert REFRESH not in caplog.text and SECRET not in caplog.text
