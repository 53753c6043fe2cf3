"""Entra ID tokens for Business Central.

A credential is any object with `get_token(*scopes) -> azure.core.credentials.AccessToken`; the BC
client asks it for `BC_SCOPE` before every request. `credential_for(...)` gives the worker-wide
client-credentials credential of an app registration; `RefreshTokenCredential` is the delegated seam.
Failures are `TokenError`s grouped by what to do (see `shared.auth._errors`).
"""

from ._cache import CredentialCache, credential_for
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
from ._refresh import RefreshTokenCredential, RefreshTokenStore

__all__ = [
    "BC_SCOPE",
    "TokenCredential",
    "MsalCredentialBase",
    "ClientCredentialsCredential",
    "RefreshTokenCredential",
    "RefreshTokenStore",
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
