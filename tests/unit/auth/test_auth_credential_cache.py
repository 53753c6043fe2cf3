"""One cache of credentials per worker: one per app registration, one per delegated connector; a rotated
secret replaces the cached credential, a new consent drops it."""

from __future__ import annotations

import threading

import requests

from shared.auth import BC_SCOPE, ClientCredentialsCredential, CredentialCache, StoredRefreshToken
from tests.unit.auth._entra import ACCESS_TOKEN, AUTHORITY_HOST, CLIENT_ID, SECRET, TENANT, TOKEN_URL, token_answer

KEY = dict(authority_host=AUTHORITY_HOST, tenant=TENANT, client_id=CLIENT_ID)


def test_the_same_app_gets_the_same_credential_and_so_the_same_token_cache(entra):
    cache = CredentialCache()
    entra.post(TOKEN_URL, json=token_answer())
    first = cache.client_credentials(**KEY, client_secret=SECRET, http_session=requests.Session())
    second = cache.client_credentials(**{**KEY, "authority_host": AUTHORITY_HOST + "/", "tenant": TENANT.upper()},
                                      client_secret=SECRET)

    assert first is second
    assert first.get_token(BC_SCOPE).token == second.get_token(BC_SCOPE).token == ACCESS_TOKEN
    assert len(entra.calls) == 2  # discovery + one token request for both


def test_a_rotated_secret_replaces_the_cached_credential():
    cache = CredentialCache()
    old = cache.client_credentials(**KEY, client_secret=SECRET)
    new = cache.client_credentials(**KEY, client_secret=SECRET + "-rotated")
    assert new is not old and len(cache) == 1
    assert cache.client_credentials(**KEY, client_secret=SECRET + "-rotated") is new


def test_other_tenants_and_apps_get_their_own_credentials():
    cache = CredentialCache()
    a = cache.client_credentials(**KEY, client_secret=SECRET)
    b = cache.client_credentials(**{**KEY, "tenant": "contoso.onmicrosoft.com"}, client_secret=SECRET)
    c = cache.client_credentials(**{**KEY, "client_id": "other-app"}, client_secret=SECRET)
    assert len({id(a), id(b), id(c)}) == 3


def test_the_least_recently_used_app_is_dropped_beyond_max_size():
    cache = CredentialCache(max_size=2)
    a = cache.client_credentials(**{**KEY, "tenant": "a.example"}, client_secret=SECRET)
    cache.client_credentials(**{**KEY, "tenant": "b.example"}, client_secret=SECRET)
    assert cache.client_credentials(**{**KEY, "tenant": "a.example"}, client_secret=SECRET) is a  # a is fresh again
    cache.client_credentials(**{**KEY, "tenant": "c.example"}, client_secret=SECRET)  # drops b
    assert len(cache) == 2
    assert cache.client_credentials(**{**KEY, "tenant": "a.example"}, client_secret=SECRET) is a


def test_threads_asking_at_once_share_one_credential():
    cache = CredentialCache()
    results: list[ClientCredentialsCredential] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        results.append(cache.client_credentials(**KEY, client_secret=SECRET))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(r) for r in results}) == 1


class NoTokens:
    """A guarded store that is never read in these tests (only counted when built)."""

    built = 0

    def __init__(self) -> None:
        NoTokens.built += 1

    def load_current(self) -> StoredRefreshToken | None:
        return None

    def save_rotated(self, refresh_token: str, *, replaces: StoredRefreshToken) -> bool:
        return False

    def current_version(self) -> str | None:
        return None


def test_a_delegated_connector_keeps_one_credential_and_builds_its_store_once():
    cache = CredentialCache()
    NoTokens.built = 0
    first = cache.delegated("acme", **KEY, client_secret=SECRET, store=NoTokens)
    assert cache.delegated("acme", **KEY, client_secret=SECRET, store=NoTokens) is first
    assert cache.delegated("other", **KEY, client_secret=SECRET, store=NoTokens) is not first
    assert NoTokens.built == 2


def test_a_delegated_credential_is_replaced_when_its_secret_or_tenant_changes():
    cache = CredentialCache()
    first = cache.delegated("acme", **KEY, client_secret=SECRET, store=NoTokens)
    rotated = cache.delegated("acme", **KEY, client_secret=SECRET + "-rotated", store=NoTokens)
    moved = cache.delegated("acme", **{**KEY, "tenant": "contoso.onmicrosoft.com"}, client_secret=SECRET + "-rotated",
                            store=NoTokens)
    assert len({id(first), id(rotated), id(moved)}) == 3 and len(cache) == 1


def test_forgetting_a_connector_drops_only_its_delegated_credential():
    cache = CredentialCache()
    app = cache.client_credentials(**KEY, client_secret=SECRET)
    first = cache.delegated("acme", **KEY, client_secret=SECRET, store=NoTokens)
    cache.forget("acme")
    assert cache.delegated("acme", **KEY, client_secret=SECRET, store=NoTokens) is not first
    assert cache.client_credentials(**KEY, client_secret=SECRET) is app


def test_the_cache_repr_holds_no_secret():
    cache = CredentialCache()
    cache.client_credentials(**KEY, client_secret=SECRET)
    assert SECRET not in repr(cache) and SECRET not in repr(cache.client_credentials(**KEY, client_secret=SECRET))
