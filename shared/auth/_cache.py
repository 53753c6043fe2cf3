"""The worker's one cache of Entra credentials, and so of their tokens (MSAL's cache lives in each
credential; a delegated credential also keeps its access tokens for their hour).

A Functions worker handles many invocations; building a credential per invocation would throw away the
cached tokens and ask Entra for a token every time. Entries are keyed by what identifies the credential:
app-only ones by authority, tenant and client id; delegated ones by connector (one user's grant each).
Every entry remembers its authority, tenant, client id and a keyed hash of the secret: a rotated secret
or a changed tenant replaces the old credential instead of sitting next to it. The hash key is random
per process, so the fingerprint held in memory cannot be checked against guessed secrets elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import requests

from ._credential import ClientCredentialsCredential, MsalCredentialBase
from ._refresh import GuardedRefreshTokenStore, RefreshTokenCredential

__all__ = ["CredentialCache"]

_FINGERPRINT_KEY = os.urandom(32)


def _fingerprint(secret: str) -> bytes:
    return hmac.new(_FINGERPRINT_KEY, secret.encode("utf-8"), hashlib.sha256).digest()


@dataclass(frozen=True)
class _Identity:
    """What a cached credential was built from; the secret only as a keyed hash."""

    authority_host: str
    tenant: str
    client_id: str
    fingerprint: bytes

    @classmethod
    def of(cls, authority_host: str, tenant: str, client_id: str, client_secret: str) -> "_Identity":
        return cls(authority_host.rstrip("/").lower(), tenant.lower(), client_id.lower(),
                   _fingerprint(client_secret))

    def same(self, other: "_Identity") -> bool:
        return ((self.authority_host, self.tenant, self.client_id) ==
                (other.authority_host, other.tenant, other.client_id)
                and hmac.compare_digest(self.fingerprint, other.fingerprint))


class CredentialCache:
    """Thread-safe LRU of the worker's credentials, at most `max_size` of them.

    `client_credentials(...)` for an app registration (client credentials), `delegated(connector, ...)`
    for a connector's refresh-token grant, `forget(connector)` after a new consent.
    """

    def __init__(self, max_size: int = 256) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._max_size = max_size
        self._entries: OrderedDict[tuple[str, ...], tuple[_Identity, MsalCredentialBase]] = OrderedDict()
        self._lock = threading.Lock()

    def client_credentials(self, *, authority_host: str, tenant: str, client_id: str, client_secret: str,
                           http_session: requests.Session | None = None) -> ClientCredentialsCredential:
        """The worker's app-only credential for this app in this tenant, built on first use.

        `http_session` only applies when the credential is built.
        """
        identity = _Identity.of(authority_host, tenant, client_id, client_secret)
        key = ("app", identity.authority_host, identity.tenant, identity.client_id)
        credential = self._get(key, identity, lambda: ClientCredentialsCredential(
            authority_host=authority_host, tenant=tenant, client_id=client_id, client_secret=client_secret,
            http_session=http_session))
        assert isinstance(credential, ClientCredentialsCredential)
        return credential

    def delegated(self, connector: str, *, authority_host: str, tenant: str, client_id: str,
                  client_secret: str, store: Callable[[], GuardedRefreshTokenStore],
                  http_session: requests.Session | None = None) -> RefreshTokenCredential:
        """The worker's delegated credential of `connector`; `store()` is called only when building it."""
        identity = _Identity.of(authority_host, tenant, client_id, client_secret)
        credential = self._get(("delegated", connector), identity, lambda: RefreshTokenCredential(
            authority_host=authority_host, tenant=tenant, client_id=client_id, client_secret=client_secret,
            store=store(), http_session=http_session))
        assert isinstance(credential, RefreshTokenCredential)
        return credential

    def forget(self, connector: str) -> None:
        """Drop the delegated credential of `connector` (after a new consent: its tokens are the old grant's)."""
        with self._lock:
            self._entries.pop(("delegated", connector), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"CredentialCache(size={len(self)}, max_size={self._max_size})"

    def _get(self, key: tuple[str, ...], identity: _Identity,
             build: Callable[[], MsalCredentialBase]) -> MsalCredentialBase:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0].same(identity):
                self._entries.move_to_end(key)
                return entry[1]
            credential = build()
            self._entries[key] = (identity, credential)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
            return credential
