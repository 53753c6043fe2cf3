"""The ports of the export use case: what `ExportService` needs from the rest of the app, as Protocols.

The composition root passes the real adapters; tests pass in-memory twins (`shared.adapters.ledger`,
`shared.adapters.parking`) or small fakes. The ledger and parking-lot ports are in `_ledger.py` and
`_parking.py` next to their models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shared.bc import BcClient
from shared.connectors import ConnectorRecord

__all__ = ["ConnectorStore", "BcClientSource", "Outbox", "Notifier", "ReconnectReporter", "PayloadStore",
           "ExportOptions"]


class ConnectorStore(Protocol):
    def get(self, name: str) -> ConnectorRecord | None: ...


class BcClientSource(Protocol):
    """BC clients of stored connectors, in their auth mode, already behind the per-connector gate."""

    def for_record(self, record: ConnectorRecord) -> BcClient:
        """Raises `ReconnectRequired` at once while the connector needs a consent."""
        ...

    def check_budget(self, name: str, *, new_work: bool) -> None:
        """Raises `BudgetExhausted` at once when the request budget of the BC user connector `name` runs as is
        known to be used up, or (`new_work`: not a deferred copy coming back) already promised to work deferred
        before (no storage read for the connector, no BC call); else returns."""
        ...


class Outbox(Protocol):
    def send_outcome(self, outcome: dict[str, Any]) -> None:
        """Send one `bc-outcomes` message and count it on the connector's activity."""
        ...


class Notifier(Protocol):
    def notify(self, notification: dict[str, Any]) -> None:
        """Send one `bc-notifications` message."""
        ...


class ReconnectReporter(Protocol):
    def report(self, name: str, reason: str) -> bool:
        """A revoked grant: mark the connector `reconnect_required` once and notify with a consent link;
        True when this call changed the status."""
        ...


class PayloadStore(Protocol):
    def read(self, blob: str, max_bytes: int) -> bytes | None:
        """The bytes of claim-check blob `blob` (container `bc-payloads`), at most `max_bytes + 1` of them;
        None when it does not exist."""
        ...


@dataclass(frozen=True)
class ExportOptions:
    #: How long to wait for another worker's fresh claim on the same entity before letting the queue retry.
    claim_wait_seconds: float = 20.0
    #: A claim older than this belongs to a worker that died (functionTimeout 5 min + margin).
    stale_claim_seconds: float = 360.0
    #: How often a waiting attempt reads the other worker's claim again.
    claim_poll_seconds: float = 0.2


class Requeue(Protocol):
    """Puts a message back on its queue, visible only after `visibility_timeout` seconds (a deferral)."""

    def send_text(self, queue: str, text: str, *, visibility_timeout: int | None = None) -> None: ...
