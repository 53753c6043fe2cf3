"""Status transitions of a connector that many workers may attempt at once.

A revoked grant surfaces in every message of a stream at once; the connector must become
`reconnect_required` once, and the people must be told once, not once per message. The transition is
ETag-guarded (`guarded_update`): of all the workers that see the same error, exactly one wins the update
(`mark_reconnect_required` returns True to that one only); the consent flow, which reports lost grants,
sends the one notification (with a consent link) when it wins.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from shared.logfields import log_scope
from shared.clock import Clock, iso
from shared.errors import ConflictError
from shared.guarded import guarded_update
from shared.jsontypes import JsonValue

from ._record import ConnectorRecord, ConnectorStore

log = logging.getLogger(__name__)

__all__ = ["ConnectorStatuses"]


class ConnectorStatuses:
    """The connector's status transitions: `reconnect_required` once, `connected`."""

    def __init__(self, *, store: ConnectorStore, clock: Clock) -> None:
        self._store, self._clock = store, clock

    def mark_reconnect_required(self, name: str, *, reason: str) -> bool:
        """Move connector `name` to `reconnect_required`. True only for the call that made the change.

        `reason` is the operator-facing cause (no tokens); it is kept on the connector's stats.
        """
        now = self._clock.now

        def decide(record: ConnectorRecord | None) -> tuple[ConnectorRecord, str] | None:
            if record is None or record.status == "reconnect_required":
                return None
            stats = {**record.stats, "reconnectReason": reason, "reconnectRequiredSince": iso(now())}
            return replace(record, status="reconnect_required", stats=stats, updated_at=iso(now())), record.status

        def write(change: tuple[ConnectorRecord, str]) -> tuple[ConnectorRecord, str]:
            return self._store.update(change[0]), change[1]

        try:
            done = guarded_update(lambda: self._store.get(name), decide, write, what=f"connector '{name}'")
        except ConflictError:
            log.warning("Connector %s: gave up marking reconnect_required after repeated conflicting updates",
                        name)
            return False
        if done is None:
            return False
        with log_scope(connector=name, status="reconnect_required"):
            log.warning("Connector %s needs reconnecting (was %s): %s", name, done[1], reason)
        return True

    def mark_connected(self, name: str, **fields: JsonValue) -> ConnectorRecord | None:
        """Move connector `name` to `connected` (after consent), setting any record `fields` given.

        Raises ConflictError when the row kept changing.
        """
        def decide(record: ConnectorRecord | None) -> ConnectorRecord | None:
            if record is None:
                return None
            stats = {k: v for k, v in record.stats.items() if k not in ("reconnectReason", "reconnectRequiredSince")}
            return replace(record, status="connected", stats=stats, updated_at=iso(self._clock.now()), **fields)

        return guarded_update(lambda: self._store.get(name), decide, self._store.update,
                              what=f"connector '{name}'")
