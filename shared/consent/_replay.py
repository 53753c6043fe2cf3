"""Re-enqueue a connector's parked (and failed) messages, oldest first, one replay at a time.

Replay runs after a consent completes, in the keep-alive as a catch-up for messages parked while a
replay was already running (both parked messages only), and on `POST /connectors/{name}/replay` (parked,
then failed messages: ARCHITECTURE §3). Each parked message is sent to its
queue with its original text and then removed (`shared.parking.replay_parked`); the replay holds the
connector's `replay` lease meanwhile (`shared.adapters`), so two replays never send the same message. It
loops until no message is left, because a message in flight when the connector came back may park itself
late.
"""

from __future__ import annotations

import datetime as _dt
import logging
import uuid
from dataclasses import dataclass

from shared.parking import replay_parked
from shared.adapters import LeaseLost

from ._deps import ConsentDeps

__all__ = ["ReplaySummary", "REPLAY_LEASE", "REPLAY_LEASE_TTL", "replay_connector"]

log = logging.getLogger(__name__)

#: The lease (table `Locks`, RowKey) a replay holds; `ConsentDeps.leases` takes it.
REPLAY_LEASE = "replay"
#: A crashed replay blocks the next one for this long at most; renewed every `_RENEW_EVERY` messages.
REPLAY_LEASE_TTL = _dt.timedelta(minutes=5)
_RENEW_EVERY = 50
_MAX_ROUNDS = 5


@dataclass(frozen=True)
class ReplaySummary:
    connector: str
    parked: int
    #: Failed messages re-enqueued; None when the exports offer no replay of failed messages.
    failed: int | None
    #: Another replay of this connector holds the lease; nothing was sent by this call.
    busy: bool = False

    def to_dict(self) -> dict:
        return {"connector": self.connector, "replayed": {"parked": self.parked, "failed": self.failed},
                "busy": self.busy}


def replay_connector(name: str, deps: ConsentDeps, *, include_failed: bool = False) -> ReplaySummary:
    """Replay `name`'s parked messages, and with `include_failed` its failed ones (`POST /replay` only:
    after a consent only parked work is due; failed messages wait for someone to fix their cause).

    The caller checks the connector's status.
    """
    lease = deps.leases.acquire(name, uuid.uuid4().hex, ttl=REPLAY_LEASE_TTL)
    if lease is None:
        log.info("Connector %s: a replay is already running; leaving it to finish", name)
        return ReplaySummary(name, 0, None, busy=True)
    sent = 0

    def send(queue: str, text: str) -> None:
        nonlocal sent
        if sent and sent % _RENEW_EVERY == 0:
            lease.renew()  # LeaseLost: the lease expired and another replay took it; it carries on
        deps.send_text(queue, text)
        sent += 1

    try:
        for _ in range(_MAX_ROUNDS):
            if replay_parked(deps.parking, name, send) == 0:
                break
        failed = deps.replay_failed(name) if include_failed and deps.replay_failed is not None else None
    except LeaseLost:
        log.warning("Connector %s: replay lease lost after %d messages; the other replay continues", name, sent)
        return ReplaySummary(name, sent, None)
    finally:
        lease.release()
    if sent or failed:
        log.info("Connector %s: replayed %d parked and %s failed messages", name, sent,
                 failed if failed is not None else "no")
    return ReplaySummary(name, sent, failed)
