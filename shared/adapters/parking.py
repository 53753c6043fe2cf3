"""The exports' `ParkingLot` port on Azure Table Storage, and its in-memory twin.

Table `Parked`: PartitionKey = connector, RowKey = `{parkedAt as 20 digits of microseconds}-{uuid}`, so
the natural row order is the parking order; columns `queue`, `message`, `reason`, `parkedAt`.
"""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from typing import TYPE_CHECKING

from shared.clock import SYSTEM_CLOCK, Clock, iso
from shared.exports import ParkedMessage

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["TableParkingLot", "InMemoryParkingLot", "TABLE"]

TABLE = "Parked"
_MAX_REASON = 2000


def _row_key(moment: _dt.datetime) -> str:
    micros = int(moment.timestamp() * 1_000_000)
    return f"{micros:020d}-{uuid.uuid4().hex}"


def _parked(connector: str, queue: str, message: str, reason: str, moment: _dt.datetime) -> ParkedMessage:
    return ParkedMessage(connector, queue, message, reason[:_MAX_REASON], iso(moment), _row_key(moment))


class TableParkingLot:
    """Parked messages in Azure Table Storage."""

    def __init__(self, table: "TableClient", *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._table, self._clock = table, clock

    def park(self, connector: str, queue: str, message: str, reason: str) -> ParkedMessage:
        parked = _parked(connector, queue, message, reason, self._clock.now())
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

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._rows: dict[tuple[str, str], ParkedMessage] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def park(self, connector: str, queue: str, message: str, reason: str) -> ParkedMessage:
        parked = _parked(connector, queue, message, reason, self._clock.now())
        with self._lock:
            self._rows[(connector, parked.row_key)] = parked
        return parked

    def list(self, connector: str) -> list[ParkedMessage]:
        with self._lock:
            return sorted((p for (c, _), p in self._rows.items() if c == connector), key=lambda p: p.row_key)

    def remove(self, parked: ParkedMessage) -> None:
        with self._lock:
            self._rows.pop((parked.connector, parked.row_key), None)
