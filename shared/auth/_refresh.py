"""Delegated access through a stored refresh token, rotated on every use.

The consent flow (`shared.consent`) stores the first refresh token; this credential redeems it and saves
the rotated one Entra sends back, because refresh tokens "replace themselves with a fresh token upon every
use" and the newest one is the one to keep (https://learn.microsoft.com/entra/identity-platform/
refresh-tokens). The old token is not revoked by a rotation.

The store is a `GuardedRefreshTokenStore` (`load_current`/`save_rotated`/`current_version`): every token
is read with the version of a guard row, and a rotated token is kept only if the row is still at that
version (ETag compare-and-swap). Of two workers redeeming the same token at once, exactly one stores its
  rotated token; the other keeps its access token and drops its refresh token (still valid, just not
  needed). A worker that read a token before a new consent can never write over the new grant's token.
  See `shared.tokens` for the design and the table.

The credential also double-checks a refusal: when Entra says the grant is gone but
the guard moved on since the token was read (another worker rotated it, or someone consented again), it
redeems the current token once before giving up. So a consent that completes while a message is in
flight does not mark the connector `reconnect_required` again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import requests

from ._credential import MsalCredentialBase
from ._errors import ReconnectRequiredError

if TYPE_CHECKING:  # azure.core costs ~40 ms at import
    from azure.core.credentials import AccessToken

__all__ = ["GuardedRefreshTokenStore", "StoredRefreshToken", "RefreshTokenCredential"]

log = logging.getLogger("shared.auth")


@dataclass(frozen=True)
class StoredRefreshToken:
    """A refresh token and the guard version it was read at. The token stays out of repr."""

    token: str = field(repr=False)
    #: Opaque version of the guard when the token was read (None: no guard row yet).
    version: str | None


class GuardedRefreshTokenStore(Protocol):
    """A refresh-token store whose writes are guarded by a version (see the module docstring)."""

    def load_current(self) -> StoredRefreshToken | None:
        """The current token with its version, or None when there is none."""
        ...

    def save_rotated(self, refresh_token: str, *, replaces: StoredRefreshToken) -> bool:
        """Store `refresh_token` only if the guard is still at `replaces.version`; True if stored."""
        ...

    def current_version(self) -> str | None:
        """The guard's version now (cheap: no secret read)."""
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
        store: GuardedRefreshTokenStore,
        http_session: requests.Session | None = None,
        refresh_margin: float = 300.0,
    ) -> None:
        super().__init__(authority_host=authority_host, tenant=tenant, client_id=client_id,
                         client_secret=client_secret, http_session=http_session)
        self._store = store
        self._refresh_margin = refresh_margin
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._refresh_token: str | None = None
        #: Outcome of the last redemption: "stored", "kept-by-another-worker" or "not-rotated".
        self.last_rotation: str | None = None

    def _secrets(self) -> tuple[str | None, ...]:
        return (*super()._secrets(), self._refresh_token)

    def refresh_now(self, *scopes: str) -> "AccessToken":
        """Redeem the refresh token now, even if an access token is cached (the keep-alive's call).

        Returns the new AccessToken; raises like `get_token`.
        """
        with self._lock:
            self._tokens.pop(tuple(sorted(scopes)), None)
        return self.get_token(*scopes)

    def _forget(self, token: str) -> None:
        for key, (cached, _) in list(self._tokens.items()):
            if cached == token:
                del self._tokens[key]
        super()._forget(token)

    def _acquire(self, scopes: list[str], claims: str | None) -> dict:
        key = tuple(sorted(scopes))
        now = time.time()
        cached = self._tokens.get(key)
        if cached and not claims and cached[1] - self._refresh_margin > now:
            return {"access_token": cached[0], "expires_in": int(cached[1] - now), "token_source": "cache"}
        result = self._redeem_guarded(self._store, scopes, claims)
        if "access_token" in result:
            self._tokens[key] = (result["access_token"], now + int(result.get("expires_in") or 0))
        return result

    # -- redemption ---------------------------------------------------------------------------------

    def _redeem(self, refresh_token: str, scopes: list[str], claims: str | None) -> dict:
        self._refresh_token = refresh_token
        # A claims challenge (CAE) goes in the body; MSAL relays other keyword arguments to the HTTP client.
        extra = {"data": {"claims": claims}} if claims else {}
        return self._application().acquire_token_by_refresh_token(refresh_token, scopes, **extra)

    def _redeem_guarded(self, store: GuardedRefreshTokenStore, scopes: list[str], claims: str | None) -> dict:
        stored = store.load_current()
        if stored is None:
            raise self._nothing_stored()
        result = self._redeem(stored.token, scopes, claims)
        if "access_token" not in result and self._means_reconnect(result):
            # Double-check before giving up: a newer token may have been stored since this one was read.
            if store.current_version() != stored.version:
                newer = store.load_current()
                if newer is not None and newer.token != stored.token:
                    log.info("Refresh token of app %s in tenant %s was replaced while in use; redeeming the "
                             "current one", self.client_id, self.tenant)
                    stored = newer
                    result = self._redeem(stored.token, scopes, claims)
        if "access_token" in result:
            rotated = result.get("refresh_token")
            if rotated and rotated != stored.token:
                kept = store.save_rotated(rotated, replaces=stored)
                self.last_rotation = "stored" if kept else "kept-by-another-worker"
                if not kept:
                    log.debug("Another worker rotated the refresh token of app %s in tenant %s first; its "
                              "token is kept", self.client_id, self.tenant)
            else:
                self.last_rotation = "not-rotated"
        return result

    def _means_reconnect(self, result: dict) -> bool:
        return isinstance(self._classify(result, status=None), ReconnectRequiredError)

    def _nothing_stored(self) -> ReconnectRequiredError:
        return ReconnectRequiredError(
            f"No refresh token is stored for app {self.client_id} in tenant {self.tenant}. Run the consent "
            "for this connector; waiting work is kept and replayed afterwards.",
            error="no_refresh_token")
