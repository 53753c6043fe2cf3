"""The delegated scope and an access token already in hand.

The worker's delegated credentials (one `RefreshTokenCredential` per connector) live in the one
`shared.auth.CredentialCache`, owned by the composition root and reached through `BcClients`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # azure.core costs ~40 ms at import; only get_token needs it, at run time
    from azure.core.credentials import AccessToken

__all__ = ["StaticTokenCredential", "DELEGATED_BC_SCOPE"]

#: The delegated permission the consent asks for; BC calls ask for it too.
DELEGATED_BC_SCOPE = "https://api.businesscentral.dynamics.com/user_impersonation"


class StaticTokenCredential:
    """A credential for an access token already in hand (the consent callback verifies BC with it)."""

    def __init__(self, access_token: str, expires_in: int) -> None:
        self._token = access_token
        self._expires_on = int(time.time()) + int(expires_in)

    def __repr__(self) -> str:
        return "StaticTokenCredential(***)"

    def get_token(self, *scopes: str, **kwargs: object) -> "AccessToken":
        from azure.core.credentials import AccessToken  # lazy: cold start

        return AccessToken(self._token, self._expires_on)
