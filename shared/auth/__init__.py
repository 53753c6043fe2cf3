"""Entra ID tokens for Business Central.

A credential is any object with `get_token(*scopes) -> azure.core.credentials.AccessToken`; the BC
client asks it for `BC_SCOPE` before every request. `credential_for(...)` gives the worker-wide
client-credentials credential of an app registration; `RefreshTokenCredential` gives delegated tokens
from a (rotated, guarded) refresh token, and `AuthCodeRedeemer` redeems the consent's authorization code.
Failures are `TokenError`s grouped by what to do (see `shared.auth._errors`).
"""

from ._cache import CredentialCache, credential_for
from ._consent import AuthCodeRedeemer, RedeemedGrant, authorize_nonce
from ._credential import BC_SCOPE, ClientCredentialsCredential, MsalCredentialBase, TokenCredential
from ._errors import (
    RECONNECT_CODES,
    InvalidClientError,
    ReconnectRequiredError,
    TokenEndpointUnavailableError,
    TokenError,
    UnknownApplicationError,
    UnknownTenantError,
    classify_token_error,
)
from ._redact import scrub
from ._refresh import GuardedRefreshTokenStore, RefreshTokenCredential, RefreshTokenStore, StoredRefreshToken

__all__ = [
    "BC_SCOPE",
    "TokenCredential",
    "MsalCredentialBase",
    "ClientCredentialsCredential",
    "RefreshTokenCredential",
    "RefreshTokenStore",
    "GuardedRefreshTokenStore",
    "StoredRefreshToken",
    "AuthCodeRedeemer",
    "RedeemedGrant",
    "authorize_nonce",
    "CredentialCache",
    "credential_for",
    "TokenError",
    "InvalidClientError",
    "UnknownApplicationError",
    "UnknownTenantError",
    "ReconnectRequiredError",
    "TokenEndpointUnavailableError",
    "classify_token_error",
    "RECONNECT_CODES",
    "scrub",
]
