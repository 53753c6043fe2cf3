"""One credential (and so one MSAL app and token cache) per app registration per worker.

A Functions worker handles many invocations; building a credential per invocation would throw away
MSAL's token cache and ask Entra for a token every time. Entries are keyed by authority, tenant and
client id, and remember a keyed hash of the secret: a rotated secret replaces the old credential
instead of sitting next to it. The hash key is random per process, so the fingerprint held in memory
cannot be checked against guessed secrets elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from collections import OrderedDict

import requests

from ._credential import ClientCredentialsCredential

__all__ = ["CredentialCache", "credential_for"]

_FINGERPRINT_KEY = os.urandom(32)


def _fingerprint(secret: str) -> bytes:
    return hmac.new(_FINGERPRINT_KEY, secret.encode("utf-8"), hashlib.sha256).digest()


class CredentialCache:
    """Thread-safe LRU of client-credentials credentials, at most `max_size` app registrations."""

    def __init__(self, max_size: int = 256) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._max_size = max_size
        self._entries: OrderedDict[tuple[str, str, str], tuple[bytes, ClientCredentialsCredential]] = OrderedDict()
        self._lock = threading.Lock()

    def client_credentials(
        self,
        *,
        authority_host: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        http_session: requests.Session | None = None,
    ) -> ClientCredentialsCredential:
        """The worker's credential for this app in this tenant, built on first use.

        `http_session` only applies when the credential is built.
        """
        key = (authority_host.rstrip("/").lower(), tenant.lower(), client_id.lower())
        fingerprint = _fingerprint(client_secret)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and hmac.compare_digest(entry[0], fingerprint):
                self._entries.move_to_end(key)
                return entry[1]
            credential = ClientCredentialsCredential(
                authority_host=authority_host, tenant=tenant, client_id=client_id,
                client_secret=client_secret, http_session=http_session)
            self._entries[key] = (fingerprint, credential)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_size:
                self._entries.popitem(last=False)
            return credential

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"CredentialCache(size={len(self)}, max_size={self._max_size})"


_default_cache = CredentialCache()


def credential_for(
    *,
    authority_host: str,
    tenant: str,
    client_id: str,
    client_secret: str,
) -> ClientCredentialsCredential:
    """The worker-wide credential for a client-credentials connector (see `CredentialCache`)."""
    return _default_cache.client_credentials(
        authority_host=authority_host, tenant=tenant, client_id=client_id, client_secret=client_secret)
