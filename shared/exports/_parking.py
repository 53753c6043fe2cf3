"""Parked messages: work that cannot run until a connector is reconnected, kept in order, never lost.

When a grant is revoked, export messages are not failed and not retried forever: each is parked with its
original text and the queue it came from, and replayed (re-enqueued, oldest first) after the consent
completes. Replay sends before it removes, so a crash between the two re-sends at most one message; the
exports are idempotent (ledger + BC look-up), so a re-sent message never creates a second record.

The port is here; the adapters (`TableParkingLot` on table `Parked`, `InMemoryParkingLot`) are in
`shared.adapters.parking`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol

__all__ = ["ParkedMessage", "ParkingLot", "replay_parked"]


@dataclass(frozen=True)
class ParkedMessage:
    connector: str
    queue: str  # the contract queue the message came from, e.g. "bc-invoices"
    message: str  # the original message text, byte for byte what the host sent
    reason: str
    parked_at: str
    row_key: str


class ParkingLot(Protocol):
    def park(self, connector: str, queue: str, message: str, reason: str) -> ParkedMessage: ...

    def list(self, connector: str) -> list[ParkedMessage]:
        """Oldest first."""
        ...

    def remove(self, parked: ParkedMessage) -> None:
        """Succeeds if already gone."""
        ...


def replay_parked(lot: ParkingLot, connector: str, send: Callable[[str, str], object]) -> int:
    """Re-enqueue every parked message of `connector`, oldest first; returns how many were sent.

    `send(queue_name, message_text)` puts the original text back on its queue. A message is removed only
    after it was sent.
    """
    count = 0
    for parked in lot.list(connector):
        send(parked.queue, parked.message)
        lot.remove(parked)
        count += 1
    return count
