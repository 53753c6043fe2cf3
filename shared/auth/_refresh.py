"""Delegated access through a stored refresh token: the seam the consent flow will plug into.

The consent flow (authorization code + PKCE) is a later issue. It will store the first refresh token
through a `RefreshTokenStore`; this credential then redeems it, and saves the rotated one Entra sends
back, because refresh tokens "replace themselves with a fresh token upon every use" and the newest one
is the one to keep (bc_api.md §3, learn.microsoft.com entra/identity-platform/refresh-tokens).
The old token is not revoked by a rotation, so two workers redeeming at once both succeed; the last
save wins, and either token stays valid.
"""

from __future__ import annotations

import time
from typing import Protocol

import requests

from ._credential import MsalCredentialBase
from ._errors import ReconnectRequiredError

__all__ = ["RefreshTokenStore", "RefreshTokenCredential"]


class RefreshTokenStore(Protocol):
    """Where a connector's refresh token lives (Key Vault `connector-{name}-refresh-token` in prod)."""

    def load(self) -> str | None:
        """The newest refresh token, or None when the connector has never been consented."""
        ...

    def save(self, refresh_token: str) -> None:
        """Keep `refresh_token` as the newest one."""
        ...


class RefreshTokenCredential(MsalCredentialBase):
    """Delegated tokens for the user who consented, redeemed from the stored refresh token.

    Access tokens are kept in memory per scope set until `refresh_margin` seconds before they expire,
    so a message costs no token request. Raises `ReconnectRequiredError` when no refresh token is
    stored or Entra says the grant is gone (invalid_grant, interaction_required, AADSTS70008, …).
    """

    def __init__(
        self,
        *,
        authority_host: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        store: RefreshTokenStore,
        http_session: requests.Session | None = None,
        refresh_margin: float = 300.0,
    ) -> None:
        super().__init__(authority_host=authority_host, tenant=tenant, client_id=client_id,
                         client_secret=client_secret, http_session=http_session)
        self._store = store
        self._refresh_margin = refresh_margin
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._refresh_token: str | None = None

    def _secrets(self) -> tuple[str | None, ...]:
        return (*super()._secrets(), self._refresh_token)

    def _acquire(self, scopes: list[str], claims: str | None) -> dict:
        key = tuple(sorted(scopes))
        now = time.time()
        cached = self._tokens.get(key)
        if cached and not claims and cached[1] - self._refresh_margin > now:
            return {"access_token": cached[0], "expires_in": int(cached[1] - now), "token_source": "cache"}
        refresh_token = self._store.load()
        if not refresh_token:
            raise ReconnectRequiredError(
                f"No refresh token is stored for app {self.client_id} in tenant {self.tenant}. Run the consent "
                "for this connector; waiting work is kept and replayed afterwards.",
                error="no_refresh_token")
        self._refresh_token = refresh_token
        # A claims challenge (CAE) goes in the body; MSAL relays other keyword arguments to the HTTP client.
        extra = {"data": {"claims": claims}} if claims else {}
        result = self._application().acquire_token_by_refresh_token(refresh_token, scopes, **extra)
        if "access_token" in result:
            rotated = result.get("refresh_token")
            if rotated and rotated != refresh_token:
                self._store.save(rotated)
            self._tokens[key] = (result["access_token"], now + int(result.get("expires_in") or 0))
        return result
