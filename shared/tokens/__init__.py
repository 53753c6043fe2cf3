"""Delegated tokens of connectors: the refresh-token rotation guard, the per-worker credentials, and the
keep-alive that stops grants lapsing.

- `ConnectorRefreshTokens`: a connector's refresh token in Key Vault, its order kept by an ETag-guarded
  row in table `TokenVersions` (see `_store` for the rules and what they prevent).
- `TokenVersion`, `TokenVersionStore`: that row and its port (stores: `shared.adapters.token_versions`).
- `TokenUpkeep`: the keep-alive timer's use case.
- `BcClients`: a BC client for a stored connector in its auth mode (and for a save, a consent callback).
- `StaticTokenCredential`: an access token already in hand (the consent callback's BC check).
"""

from ._clients import BcClients
from ._credentials import DELEGATED_BC_SCOPE, StaticTokenCredential
from ._store import ConnectorRefreshTokens, Secrets, client_secret_of
from ._upkeep import (
    EXPIRING_THRESHOLDS_DAYS,
    ConnectorRecords,
    DelegatedCredentialSource,
    KeepAliveSummary,
    Notifier,
    ParkedReplay,
    ReconnectReporter,
    TokenUpkeep,
    update_connector,
)
from ._versions import REFRESH_TOKEN_INACTIVITY, REFRESH_TOKEN_ROW, TokenVersion, TokenVersionStore

__all__ = [
    "ConnectorRefreshTokens",
    "client_secret_of",
    "Secrets",
    "DELEGATED_BC_SCOPE",
    "BcClients",
    "StaticTokenCredential",
    "TokenVersion",
    "TokenVersionStore",
    "REFRESH_TOKEN_INACTIVITY",
    "REFRESH_TOKEN_ROW",
    "TokenUpkeep",
    "KeepAliveSummary",
    "EXPIRING_THRESHOLDS_DAYS",
    "ConnectorRecords",
    "DelegatedCredentialSource",
    "Notifier",
    "ParkedReplay",
    "ReconnectReporter",
    "update_connector",
]
