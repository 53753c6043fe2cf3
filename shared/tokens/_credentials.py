"""Delegated credentials per connector, kept for the worker's life; and a credential for one known token.

A `RefreshTokenCredential` holds access tokens in memory for their hour, so one per connector per
worker (not one per message) keeps token requests to Entra rare. An entry is replaced when the
connector's tenant, app or secret changes (the secret is compared by a keyed hash, as in
`shared.auth.CredentialCache`), and dropped after a new consent (`forget`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from typing import Any, Callable

from shared.auth import RefreshTokenCredential

__all__ = ["DelegatedCredentials", "StaticTokenCredential", "DELEGATED_BC_SCOPE", "delegated_credentials"]

#: The delegated permission the consent asks for (bc_api.md §3); BC calls ask for it too.
DELEGATED_BC_SCOPE = "https://api.businesscentral.dynamics.com/user_impersonation"

_KEY = os.urandom(32)


def _fingerprint(secret: str) -> bytes:
    return hmac.new(_KEY, secret.encode("utf-8"), hashlib.sha256).digest()


class DelegatedCredentials:
    """Thread-safe map connector -> RefreshTokenCredential."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[tuple[str, str, str, bytes], RefreshTokenCredential]] = {}
        self._lock = threading.Lock()

    def get(self, connector: str, *, authority_host: str, tenant: str, client_id: str, client_secret: str,
            store: Any | Callable[[], Any], http_session: Any = None) -> RefreshTokenCredential:
        """The worker's credential for `connector`; `store` (or a factory of it) is used when building."""
        identity = (authority_host.rstrip("/").lower(), tenant.lower(), client_id.lower(), _fingerprint(client_secret))
        with self._lock:
            entry = self._entries.get(connector)
            if entry is not None and entry[0][:3] == identity[:3] and hmac.compare_digest(entry[0][3], identity[3]):
                return entry[1]
            credential = RefreshTokenCredential(
                authority_host=authority_host, tenant=tenant, client_id=client_id, client_secret=client_secret,
                store=store() if callable(store) else store, http_session=http_session)
            self._entries[connector] = (identity, credential)
            return credential

    def forget(self, connector: str) -> None:
        with self._lock:
            self._entries.pop(connector, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


#: The worker-wide instance used by `shared.bootstrap`.
delegated_credentials = DelegatedCredentials()


class StaticTokenCredential:
    """A credential for an access token already in hand (the consent callback verifies BC with it)."""

    def __init__(self, access_token: str, expires_in: int) -> None:
        self._token = access_token
        self._expires_on = int(time.time()) + int(expires_in)

    def __repr__(self) -> str:
        return "StaticTokenCredential(***)"

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, self._expires_on)
