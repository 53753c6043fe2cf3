"""The rotation guard: of racing rotations one is kept, and nothing older ever replaces a newer grant."""

from __future__ import annotations

import threading
from urllib.parse import parse_qsl

import pytest
import requests
import responses

from shared.auth import ReconnectRequiredError, RefreshTokenCredential, StoredRefreshToken
from shared.adapters.secrets import InMemorySecretStore
from shared.adapters.token_versions import InMemoryTokenVersionStore
from shared.clock import SYSTEM_CLOCK
from shared.tokens import ConnectorRefreshTokens
from tests._clock import ManualClock
from tests.unit.auth._entra import (
    AUTHORITY_HOST,
    CLIENT_ID,
    DISCOVERY,
    SECRET,
    TENANT,
    TOKEN_URL,
    entra_error,
    openid_configuration,
    token_answer,
)

SCOPE = "https://api.businesscentral.dynamics.com/user_impersonation"


@pytest.fixture
def secrets() -> InMemorySecretStore:
    return InMemorySecretStore()


@pytest.fixture
def tokens(secrets) -> ConnectorRefreshTokens:
    return ConnectorRefreshTokens("acme", secrets, InMemoryTokenVersionStore(), clock=SYSTEM_CLOCK)


def stored(secrets) -> str | None:
    return secrets.get_secret("connector-acme-refresh-token")


def test_a_new_grant_is_generation_one_and_readable_with_its_version(tokens, secrets):
    version = tokens.store_new_grant("rt-1", consented_by="admin@contoso.example")

    current = tokens.load_current()
    assert (version.generation, version.consented_by) == (1, "admin@contoso.example")
    assert current == StoredRefreshToken("rt-1", version.etag)
    assert stored(secrets) == "rt-1"


def test_of_two_rotations_of_the_same_token_only_the_first_is_kept(tokens, secrets):
    tokens.store_new_grant("rt-1", consented_by=None)
    read_by_a = tokens.load_current()
    read_by_b = tokens.load_current()

    assert tokens.save_rotated("rt-2a", replaces=read_by_a) is True
    assert tokens.save_rotated("rt-2b", replaces=read_by_b) is False

    assert stored(secrets) == "rt-2a"
    assert tokens.version().generation == 2


def test_two_threads_rotating_at_once_store_exactly_one_token(tokens, secrets):
    tokens.store_new_grant("rt-1", consented_by=None)
    barrier = threading.Barrier(2)
    results: dict[str, bool] = {}

    def worker(label: str) -> None:
        read = tokens.load_current()
        barrier.wait()
        results[label] = tokens.save_rotated(f"rt-from-{label}", replaces=read)

    threads = [threading.Thread(target=worker, args=(label,)) for label in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results.values()) == [False, True]
    winner = next(label for label, kept in results.items() if kept)
    assert stored(secrets) == f"rt-from-{winner}"
    assert tokens.version().generation == 2


def test_a_worker_that_read_the_old_grant_cannot_overwrite_a_new_consent(tokens, secrets):
    tokens.store_new_grant("rt-old-grant", consented_by=None)
    stale = tokens.load_current()
    tokens.store_new_grant("rt-new-grant", consented_by="admin@contoso.example")

    assert tokens.save_rotated("rt-derived-from-old-grant", replaces=stale) is False

    assert stored(secrets) == "rt-new-grant"


def test_a_token_stored_before_the_guard_existed_gets_a_guard_at_its_first_rotation(tokens, secrets):
    secrets.set_secret("connector-acme-refresh-token", "rt-legacy")
    read = tokens.load_current()
    assert read.version is None

    assert tokens.save_rotated("rt-2", replaces=read) is True
    assert tokens.version().generation == 1 and stored(secrets) == "rt-2"


def test_each_kept_rotation_moves_the_expiry_ninety_days_ahead(secrets):
    import datetime as dt

    clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    tokens = ConnectorRefreshTokens("acme", secrets, InMemoryTokenVersionStore(), clock=clock)
    assert tokens.store_new_grant("rt-1", consented_by=None).expires_at == "2026-04-01T00:00:00Z"

    clock.moment = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    tokens.save_rotated("rt-2", replaces=tokens.load_current())

    assert tokens.version().expires_at == "2026-05-30T00:00:00Z"


# -- the credential over the guard (Entra played by `responses`) ----------------------------------------


@pytest.fixture
def entra():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(DISCOVERY, json=openid_configuration())
        yield mock


def _credential(tokens) -> RefreshTokenCredential:
    return RefreshTokenCredential(authority_host=AUTHORITY_HOST, tenant=TENANT, client_id=CLIENT_ID,
                                  client_secret=SECRET, store=tokens, http_session=requests.Session())


def test_the_credential_stores_the_rotated_token_through_the_guard(entra, tokens, secrets):
    tokens.store_new_grant("rt-1", consented_by=None)
    entra.post(TOKEN_URL, json=token_answer(refresh_token="rt-2"))
    credential = _credential(tokens)

    credential.get_token(SCOPE)

    assert stored(secrets) == "rt-2" and credential.last_rotation == "stored"
    assert dict(parse_qsl(entra.calls[1].request.body))["refresh_token"] == "rt-1"


def test_a_refusal_of_a_token_replaced_meanwhile_is_retried_with_the_current_one(entra, tokens, secrets):
    tokens.store_new_grant("rt-revoked", consented_by=None)
    credential = _credential(tokens)

    def revoked_then_new_consent(request):
        # While the old token is being refused, someone completes a new consent.
        tokens.store_new_grant("rt-new-consent", consented_by="admin@contoso.example")
        return 400, {}, _json(entra_error("invalid_grant", 50173, "The provided grant has been revoked."))

    entra.add_callback(responses.POST, TOKEN_URL, callback=revoked_then_new_consent)
    entra.post(TOKEN_URL, json=token_answer(refresh_token="rt-new-rotated"))
    # responses uses registered callbacks/answers in order for the same URL.

    token = credential.get_token(SCOPE)

    assert token.token
    bodies = [dict(parse_qsl(c.request.body)) for c in entra.calls if c.request.method == "POST"]
    assert [b["refresh_token"] for b in bodies] == ["rt-revoked", "rt-new-consent"]
    assert stored(secrets) == "rt-new-rotated"


def test_a_refusal_with_no_newer_token_is_reconnect_required(entra, tokens):
    tokens.store_new_grant("rt-revoked", consented_by=None)
    entra.post(TOKEN_URL, status=400, json=entra_error("invalid_grant", 50173, "The grant has been revoked."))

    with pytest.raises(ReconnectRequiredError, match="AADSTS50173"):
        _credential(tokens).get_token(SCOPE)
    assert len([c for c in entra.calls if c.request.method == "POST"]) == 1


def test_nothing_stored_means_reconnect_required_without_asking_entra(entra, tokens):
    with pytest.raises(ReconnectRequiredError, match="No refresh token is stored"):
        _credential(tokens).get_token(SCOPE)
    assert len(entra.calls) == 0


def _json(body: dict) -> str:
    import json

    return json.dumps(body)
