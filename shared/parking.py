"""Parked messages: work that cannot run until a connector is reconnected, kept in order, never lost.

When a grant is revoked, export messages are not failed and not retried forever: each is parked with its
original text and the queue it came from, and replayed (re-enqueued, oldest first) after the consent
completes. Replay sends before it removes, so a crash between the two re-sends at most one message; the
exports are idempotent (ledger + BC look-up), so a re-sent message never creates a second record.

Table `Parked`: PartitionKey = connector, RowKey = `{parkedAt as 20 digits of microseconds}-{uuid}`, so
the natural row order is the parking order.
"""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

from shared.clock import iso, utc_now

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = ["ParkedMessage", "ParkingLot", "TableParkingLot", "InMemoryParkingLot", "replay_parked"]


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


def _row_key(moment: _dt.datetime) -> str:
    micros = int(moment.timestamp() * 1_000_000)
    return f"{micros:020d}-{uuid.uuid4().hex}"


class TableParkingLot:
    """Parked messages in Azure Table Storage."""

    def __init__(self, table: "TableClient", *, clock: Callable[[], _dt.datetime] = utc_now):
        self._table, self._clock = table, clock

    def park(self, connector: str, queue: str, message: str, reason: str) -> ParkedMessage:
        moment = self._clock()
        parked = ParkedMessage(connector, queue, message, reason[:2000], iso(moment), _row_key(moment))
        self._table.create_entity({"PartitionKey": connector, "RowKey": parked.row_key, "queue": queue,
                                   "message": message, "reason": parked.reason, "parkedAt": parked.parked_at})
        return parked

    def list(self, connector: str) -> list[ParkedMessage]:
        rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": connector})
        out = [ParkedMessage(connector, r["queue"], r["message"], r.get("reason", ""), r.get("parkedAt", ""),
                             r["RowKey"]) for r in rows]
        return sorted(out, key=lambda p: p.row_key)

    def remove(self, parked: ParkedMessage) -> None:
        self._table.delete_entity(partition_key=parked.connector, row_key=parked.row_key)


class InMemoryParkingLot:
    """The same semantics in memory, for use-case tests."""

    def __init__(self, *, clock: Callable[[], _dt.datetime] = utc_now):
        self._rows: dict[tuple[str, str], ParkedMessage] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def park(self, connector: str, queue: str, message: str, reason: str) -> ParkedMessage:
        moment = self._clock()
        parked = ParkedMessage(connector, queue, message, reason[:2000], iso(moment), _row_key(moment))
        with self._lock:
            self._rows[(connector, parked.row_key)] = parked
        return parked

    def list(self, connector: str) -> list[ParkedMessage]:
        with self._lock:
            return sorted((p for (c, _), p in self._rows.items() if c == connector), key=lambda p: p.row_key)

    def remove(self, parked: ParkedMessage) -> None:
        with self._lock:
            self._rows.pop((parked.connector, parked.row_key), None)


def replay_parked(lot: ParkingLot, connector: str, send: Callable[[str, str], Any]) -> int:
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
