"""The ports the consent and token-lifecycle use cases need; `shared.bootstrap` builds the real ones."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Callable

from shared.clock import utc_now
from shared.config import AppSettings

__all__ = ["ConsentDeps"]


@dataclass
class ConsentDeps:
    store: Any  # shared.connectors.ConnectorStore
    secrets: Any  # shared.adapters.secrets.SecretStore
    states: Any  # ConsentStateStore
    versions: Any  # shared.tokens.TokenVersionStore
    app: AppSettings
    notify: Callable[[dict[str, Any]], None]
    parking: Any  # shared.parking.ParkingLot
    send_text: Callable[[str, str], None]
    #: record -> BcConnection (tenant, environment, client id, client secret) of a stored connector.
    connection_for: Callable[[Any], Any]
    #: (tenant, client_id, client_secret) -> an object with `redeem(...)` (shared.auth.AuthCodeRedeemer).
    redeemer_for: Callable[[str, str, str], Any]
    #: (settings, access_token, expires_in) -> BcClient that calls BC with that token.
    bc_client_with_token: Callable[[Any, str, int], Any]
    #: record -> the worker's RefreshTokenCredential for a delegated connector.
    credential_for: Callable[[Any], Any]
    #: connector name -> None: drop the worker's cached credential (after a new consent).
    forget_credential: Callable[[str], None]
    #: The connectors' `replay` leases (shared.adapters.LeaseStore named REPLAY_LEASE).
    leases: Any
    #: connector -> how many failed messages were re-enqueued (the exports' `shared.exports` provides it),
    #: or None when failed messages cannot be replayed yet.
    replay_failed: Callable[[str], int] | None = None
    now: Callable[[], _dt.datetime] = field(default=utc_now)
