"""Entra ID tokens for Business Central.

A credential is any object with `get_token(*scopes) -> azure.core.credentials.AccessToken`; the BC
client asks it for `BC_SCOPE` before every request. The worker's one `CredentialCache` gives the
client-credentials credential of an app registration (`client_credentials`) and the delegated
`RefreshTokenCredential` of a connector (`delegated`, redeeming a rotated, guarded refresh token);
`AuthCodeRedeemer` redeems the consent's authorization code. Failures are `TokenError`s in the tree of
`shared.errors`: `TokenRefused` (permanent), `ReconnectRequiredError` (reconnect), and
`TokenEndpointUnavailableError` (transient); see `shared.auth._errors`.
"""

from ._cache import CredentialCache
from ._consent import AuthCodeRedeemer, AuthCodeRedeemers, RedeemedGrant, authorize_nonce
from ._credential import BC_SCOPE, ClientCredentialsCredential, MsalCredentialBase, TokenCredential
from ._errors import (
    RECONNECT_CODES,
    InvalidClientError,
    ReconnectRequiredError,
    TokenEndpointUnavailableError,
    TokenError,
    TokenRefused,
    UnknownApplicationError,
    UnknownTenantError,
    classify_token_error,
)
from ._redact import scrub
from ._refresh import GuardedRefreshTokenStore, RefreshTokenCredential, StoredRefreshToken

__all__ = [
    "BC_SCOPE",
    "TokenCredential",
    "MsalCredentialBase",
    "ClientCredentialsCredential",
    "RefreshTokenCredential",
    "GuardedRefreshTokenStore",
    "StoredRefreshToken",
    "AuthCodeRedeemer",
    "AuthCodeRedeemers",
    "RedeemedGrant",
    "authorize_nonce",
    "CredentialCache",
    "TokenError",
    "TokenRefused",
    "InvalidClientError",
    "UnknownApplicationError",
    "UnknownTenantError",
    "ReconnectRequiredError",
    "TokenEndpointUnavailableError",
    "classify_token_error",
    "RECONNECT_CODES",
    "scrub",
]
