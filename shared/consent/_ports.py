"""What the consent use cases need from the rest of the app, as small Protocols (fakes in tests, adapters
wired by `shared.bootstrap`)."""

from __future__ import annotations

import datetime as _dt
from typing import Protocol, Sequence

from shared.auth import RedeemedGrant
from shared.bc import BcClient
from shared.connectors import ConnectorRecord, ConnectorSettings

__all__ = ["ConnectorStatuses", "BcClientSource", "CodeRedeemer", "CodeRedeemers", "FailedMessages", "ParkingLot",
           "ParkedMessage", "QueueSender", "Lease", "Leases", "SubscriptionSync"]


class ConnectorStatuses(Protocol):
    """Status transitions of a connector (`shared.connectors`), decided once however many workers try."""

    def mark_reconnect_required(self, name: str, *, reason: str) -> bool:
        """True when this call moved the connector to `reconnect_required`."""
        ...

    def mark_connected(self, name: str, **fields: str | None) -> ConnectorRecord | None: ...


class BcClientSource(Protocol):
    """The platform's `BcClients` (only what the consent uses)."""

    def with_token(self, settings: ConnectorSettings, access_token: str, expires_in: int, *,
                   name: str) -> BcClient: ...

    def forget(self, name: str) -> None:
        """Drop the worker's cached credential of `name` (after a new consent)."""
        ...


class CodeRedeemer(Protocol):
    def redeem(self, *, code: str, state: str, redirect_uri: str, scopes: list[str], code_verifier: str,
               nonce: str) -> RedeemedGrant: ...


class CodeRedeemers(Protocol):
    """An authorization-code redeemer for one app in one tenant (`shared.auth.AuthCodeRedeemer`)."""

    def redeemer(self, tenant: str, client_id: str, client_secret: str) -> CodeRedeemer: ...


class FailedMessages(Protocol):
    """The exports' permanently failed messages that a replay may send again (`ExportService.list_failed`)."""

    def list_failed(self, connector: str) -> list[tuple[str, str]]:
        """(queue, original text), oldest failure first."""
        ...


class ParkedMessage(Protocol):
    @property
    def queue(self) -> str: ...

    @property
    def message(self) -> str: ...


class ParkingLot(Protocol):
    """Messages parked while their connector needs reconnecting, oldest first."""

    def list(self, connector: str) -> Sequence[ParkedMessage]: ...

    def remove(self, parked: ParkedMessage) -> None: ...


class QueueSender(Protocol):
    def send_text(self, queue: str, text: str) -> None:
        """Put a message's original text back on a contract queue."""
        ...


class Lease(Protocol):
    def renew(self) -> None:
        """Raises LeaseLost when another holder took it meanwhile."""
        ...

    def release(self) -> None: ...


class Leases(Protocol):
    """The connectors' `replay` leases (table `Locks`)."""

    def acquire(self, connector: str, owner: str, *, ttl: _dt.timedelta) -> Lease | None: ...


class SubscriptionSync(Protocol):
    """Real-time expenses: a connected connector's BC webhook subscriptions (`shared.webhooks`); never raises."""

    def sync(self, record: ConnectorRecord) -> list[str]: ...
