"""Status transitions of a connector that many workers may attempt at once.

A revoked grant surfaces in every message of a stream at once; the connector must become
`reconnect_required` once, and the people must be told once, not once per message. The transition is
ETag-guarded: of all the workers that see the same error, exactly one wins the update and sends the
notification; the others see the new status and stay quiet.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any, Callable

from shared.clock import iso, utc_now

from ._store import ConcurrentUpdateError, ConnectorRecord, ConnectorStore

log = logging.getLogger(__name__)

__all__ = ["mark_reconnect_required", "mark_connected"]

_MAX_ATTEMPTS = 5


def mark_reconnect_required(
    store: ConnectorStore,
    name: str,
    *,
    reason: str,
    notify: Callable[[dict[str, Any]], None],
    consent_hint: str,
    now: Callable[[], _dt.datetime] = utc_now,
) -> bool:
    """Move connector `name` to `reconnect_required`; notify only if this call made the change.

    `reason` is the operator-facing cause (no tokens), `consent_hint` tells people how to reconnect
    (a consent link or the route to start it). Returns True when this call made the transition.
    """
    for _ in range(_MAX_ATTEMPTS):
        record = store.get(name)
        if record is None or record.status == "reconnect_required":
            return False
        previous = record.status
        record.status = "reconnect_required"
        record.stats = {**(record.stats or {}), "reconnectReason": reason,
                        "reconnectRequiredSince": iso(now())}
        record.updated_at = iso(now())
        try:
            store.update(record)
        except ConcurrentUpdateError:
            continue  # someone else changed it: read again and decide again
        log.warning("Connector %s needs reconnecting (was %s): %s", name, previous, reason)
        notify(_notification(record, reason, consent_hint, now))
        return True
    log.warning("Connector %s: gave up marking reconnect_required after %d conflicting updates", name,
                _MAX_ATTEMPTS)
    return False


def mark_connected(store: ConnectorStore, name: str, *,
                   now: Callable[[], _dt.datetime] = utc_now,
                   **fields: Any) -> ConnectorRecord | None:
    """Move connector `name` to `connected` (after consent), setting any record `fields` given."""
    for _ in range(_MAX_ATTEMPTS):
        record = store.get(name)
        if record is None:
            return None
        record.status = "connected"
        for key, value in fields.items():
            setattr(record, key, value)
        stats = dict(record.stats or {})
        stats.pop("reconnectReason", None)
        stats.pop("reconnectRequiredSince", None)
        record.stats = stats
        record.updated_at = iso(now())
        try:
            return store.update(record)
        except ConcurrentUpdateError:
            continue
    raise ConcurrentUpdateError(name, f"Connector '{name}' kept changing while it was being marked connected.")


def _notification(record: ConnectorRecord, reason: str, consent_hint: str,
                  now: Callable[[], _dt.datetime]) -> dict[str, Any]:
    recipients = list(((record.settings or {}).get("notifications") or {}).get("recipients") or [])
    return {
        "connector": record.name,
        "event": "reconnect_required",
        "severity": "error",
        "message": (f"Connector '{record.name}' lost its access to Business Central and must be reconnected: "
                    f"{reason} {consent_hint} Work is parked meanwhile and replayed after reconnecting."),
        "recipients": recipients,
        "details": {"reason": reason, "consent": consent_hint},
        "at": iso(now()),
    }
