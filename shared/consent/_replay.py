"""Re-enqueue a connector's parked (and failed) messages, oldest first, one replay at a time.

Replay runs after a consent completes, in the keep-alive as a catch-up for messages parked while a
replay was already running (both parked messages only), and on `POST /connectors/{name}/replay` (parked,
then failed messages). Each parked message is sent to its queue with its original text and then removed
(a crash between the two re-sends at most one message; the exports are idempotent). The replay holds
the connector's `replay` lease meanwhile, so two replays never send the same message. It loops until no
message is left, because a message in flight when the connector came back may park itself late.
"""

from __future__ import annotations

import datetime as _dt
import logging
import uuid
from dataclasses import dataclass

from shared.logfields import log_scope
from shared.adapters import LeaseLost
from shared.jsontypes import JsonObject

from ._ports import FailedMessages, Lease, Leases, ParkingLot, QueueSender

__all__ = ["ReplaySummary", "Replays", "REPLAY_LEASE", "REPLAY_LEASE_TTL"]

log = logging.getLogger(__name__)

#: The lease (table `Locks`, RowKey) a replay holds.
REPLAY_LEASE = "replay"
#: A crashed replay blocks the next one for this long at most; renewed every `_RENEW_EVERY` messages.
REPLAY_LEASE_TTL = _dt.timedelta(minutes=5)
_RENEW_EVERY = 50
_MAX_ROUNDS = 5


@dataclass(frozen=True)
class ReplaySummary:
    connector: str
    parked: int
    #: Failed messages re-enqueued; None when failed messages were not part of this replay.
    failed: int | None
    #: Another replay of this connector holds the lease; nothing was sent by this call.
    busy: bool = False

    def to_dict(self) -> JsonObject:
        return {"connector": self.connector, "replayed": {"parked": self.parked, "failed": self.failed},
                "busy": self.busy}


class _LeasedSender:
    """Sends under the lease, renewing it every `_RENEW_EVERY` messages."""

    def __init__(self, queues: QueueSender, lease: Lease) -> None:
        self._queues, self._lease = queues, lease
        self.sent = 0

    def send(self, queue: str, text: str) -> None:
        if self.sent and self.sent % _RENEW_EVERY == 0:
            self._lease.renew()  # LeaseLost: the lease expired and another replay took it; it carries on
        self._queues.send_text(queue, text)
        self.sent += 1


class Replays:
    """The replay of one connector's waiting work (the caller has checked the connector's status)."""

    def __init__(self, *, leases: Leases, parking: ParkingLot, queues: QueueSender, failed: FailedMessages) -> None:
        self._leases = leases
        self._parking = parking
        self._queues = queues
        self._failed = failed

    def waiting(self, name: str) -> bool:
        return bool(self._parking.list(name))

    def run(self, name: str, *, include_failed: bool = False) -> ReplaySummary:
        """Replay `name`'s parked messages, and with `include_failed` its failed ones (`POST /replay` only:
        after a consent only parked work is due; failed messages wait for someone to fix their cause)."""
        with log_scope(operation="replay", connector=name):
            return self._run(name, include_failed)

    def _run(self, name: str, include_failed: bool) -> ReplaySummary:
        lease = self._leases.acquire(name, uuid.uuid4().hex, ttl=REPLAY_LEASE_TTL)
        if lease is None:
            log.info("Connector %s: a replay is already running; leaving it to finish", name)
            return ReplaySummary(name, 0, None, busy=True)
        sender = _LeasedSender(self._queues, lease)
        try:
            parked = self._send_parked(name, sender)
            failed = self._send_failed(name, sender) if include_failed else None
        except LeaseLost:
            log.warning("Connector %s: replay lease lost after %d messages; the other replay continues", name,
                        sender.sent)
            return ReplaySummary(name, sender.sent, None)
        finally:
            lease.release()
        if parked or failed:
            log.info("Connector %s: replayed %d parked and %s failed messages", name, parked,
                     failed if failed is not None else "no")
        return ReplaySummary(name, parked, failed)

    def _send_parked(self, name: str, sender: _LeasedSender) -> int:
        for _ in range(_MAX_ROUNDS):
            batch = self._parking.list(name)
            if not batch:
                break
            for parked in batch:
                sender.send(parked.queue, parked.message)  # sent before removed: never lost
                self._parking.remove(parked)
        return sender.sent

    def _send_failed(self, name: str, sender: _LeasedSender) -> int:
        failed = self._failed.list_failed(name)
        for queue, text in failed:
            sender.send(queue, text)
        return len(failed)
