"""Delegated tokens of connectors: the refresh-token rotation guard and the per-worker credentials.

- `ConnectorRefreshTokens`: a connector's refresh token in Key Vault, with its order kept by an
  ETag-guarded row in table `TokenVersions` (see `_store` for the rules and what they prevent).
- `TokenVersion`, `TableTokenVersionStore`, `InMemoryTokenVersionStore`: that row and its stores.
- `BcClients`: a BC client for a stored connector in its auth mode (and for a save, a consent callback).
- `StaticTokenCredential`: an access token already in hand (the consent callback's BC check).
"""

from ._clients import BcClients
from ._credentials import DELEGATED_BC_SCOPE, StaticTokenCredential
from ._store import ConnectorRefreshTokens
from ._versions import (
    REFRESH_TOKEN_INACTIVITY,
    REFRESH_TOKEN_ROW,
    InMemoryTokenVersionStore,
    TableTokenVersionStore,
    TokenVersion,
    TokenVersionConflict,
    TokenVersionStore,
    iso,
)

__all__ = [
    "ConnectorRefreshTokens",
    "DELEGATED_BC_SCOPE",
    "BcClients",
    "StaticTokenCredential",
    "TokenVersion",
    "TokenVersionStore",
    "TokenVersionConflict",
    "TableTokenVersionStore",
    "InMemoryTokenVersionStore",
    "REFRESH_TOKEN_INACTIVITY",
    "REFRESH_TOKEN_ROW",
    "iso",
]
