"""The second leg of the authorization-code flow: redeem a code with PKCE for a user's tokens, through MSAL.

The authorize URL is built by `shared.consent` without a network call (so saving a connector never waits
on Entra); the redemption here goes through MSAL's `acquire_token_by_auth_code_flow` with a flow dict
rebuilt from the stored consent state. MSAL sends `code_verifier` (PKCE, RFC 7636), checks the state
and checks the ID token's nonce against the SHA-256 of the flow's nonce (msal oauth2cli/oidc.py,
`Client.obtain_token_by_auth_code_flow`); `authorize_nonce` gives the value the authorize URL must carry.

Errors are `TokenError`s like every other token call (`classify_token_error`): a wrong PKCE verifier is
`ReconnectRequiredError` with AADSTS501481, a reused code AADSTS54005, an expired one AADSTS70008.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

from ._credential import MsalCredentialBase
from ._errors import TokenRefused

__all__ = ["AuthCodeRedeemer", "RedeemedGrant", "authorize_nonce"]

_MASKED = re.compile(r'("(?:code|code_verifier)":\s*)"[^"]*"')
_filter_lock = threading.Lock()
_filter_installed = False


class _MaskCodeFilter(logging.Filter):
    """MSAL's token cache logs each token request at DEBUG with refresh tokens masked but the
    authorization `code` and `code_verifier` in clear (msal token_cache.py, `TokenCache.add`). This masks
    them too, so no log level ever shows them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_MASKED.sub(r'\1"********"', a) if isinstance(a, str) else a for a in record.args)
        return True


def _mask_codes_in_msal_logs() -> None:
    global _filter_installed
    with _filter_lock:
        if not _filter_installed:
            logging.getLogger("msal.token_cache").addFilter(_MaskCodeFilter())
            _filter_installed = True


def authorize_nonce(nonce: str) -> str:
    """The `nonce` to put in the authorize URL for a flow whose stored nonce is `nonce`.

    MSAL compares the ID token's nonce with sha256(nonce).hexdigest() (oidc.py `_nonce_hash`, after
    OpenID Connect Core "Nonce Notes"), so the URL carries that hash and the store keeps the raw value.
    """
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class RedeemedGrant:
    """What a redeemed code gave. Tokens stay out of repr."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int
    #: Claims of the ID token (MSAL decodes it): `preferred_username`, `tid`, `oid`, `name`.
    id_claims: Mapping[str, Any]

    @property
    def username(self) -> str | None:
        return self.id_claims.get("preferred_username") or self.id_claims.get("upn") or None

    @property
    def tenant_id(self) -> str | None:
        return self.id_claims.get("tid") or None


class AuthCodeRedeemer(MsalCredentialBase):
    """Redeems authorization codes for one app in one tenant. One instance per callback is fine."""

    def redeem(
        self,
        *,
        code: str,
        state: str,
        redirect_uri: str,
        scopes: list[str],
        code_verifier: str,
        nonce: str,
    ) -> RedeemedGrant:
        """Exchange `code` for tokens. Raises a `TokenError` subclass when Entra refuses or is away."""
        _mask_codes_in_msal_logs()
        flow = {"state": state, "redirect_uri": redirect_uri, "scope": list(scopes),
                "code_verifier": code_verifier, "nonce": nonce, "claims_challenge": None}
        with self._lock:
            result = self._call_msal(lambda: self._redeem(flow, code, state))
        return RedeemedGrant(
            access_token=result["access_token"],
            refresh_token=result.get("refresh_token"),
            expires_in=int(result.get("expires_in") or 0),
            id_claims=dict(result.get("id_token_claims") or {}),
        )

    def _redeem(self, flow: dict, code: str, state: str) -> dict:
        try:
            return self._application().acquire_token_by_auth_code_flow(flow, {"code": code, "state": state})
        except RuntimeError as exc:  # MSAL: the ID token's nonce did not match ours
            raise TokenRefused(
                "The sign-in answer from Entra ID did not belong to this consent (the ID token's nonce "
                "did not match). Nothing was stored; start the consent again.", error="nonce_mismatch",
            ) from exc


class AuthCodeRedeemers:
    """One `AuthCodeRedeemer` per consent callback, for the app registration and tenant of its connector."""

    def __init__(self, *, authority_host: str) -> None:
        self._authority_host = authority_host

    def redeemer(self, tenant: str, client_id: str, client_secret: str) -> AuthCodeRedeemer:
        return AuthCodeRedeemer(authority_host=self._authority_host, tenant=tenant, client_id=client_id,
                                client_secret=client_secret)
