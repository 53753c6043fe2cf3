"""Status transitions of a connector that many workers may attempt at once.

A revoked grant surfaces in every message of a stream at once; the connector must become
`reconnect_required` once, and the people must be told once, not once per message. The transition is
ETag-guarded (`guarded_update`): of all the workers that see the same error, exactly one wins the update
and sends the notification; the others see the new status and stay quiet.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import replace
from typing import Callable, Protocol

from shared.clock import SYSTEM_CLOCK, Clock, iso
from shared.errors import ConflictError
from shared.guarded import guarded_update
from shared.jsontypes import JsonObject, JsonValue
from shared.messages import notification

from ._record import ConnectorRecord, ConnectorStore

log = logging.getLogger(__name__)

__all__ = ["ConnectorStatuses", "Notify", "mark_reconnect_required", "mark_connected"]


class Notify(Protocol):
    """Sends one `bc-notifications` message (built by `shared.messages.notification`)."""

    def __call__(self, message: JsonObject, /) -> None: ...


class ConnectorStatuses:
    """The connector's status transitions: `reconnect_required` once (with one notification), `connected`."""

    def __init__(self, *, store: ConnectorStore, notify: Notify, clock: Clock) -> None:
        self._store, self._notify, self._clock = store, notify, clock

    def mark_reconnect_required(self, name: str, *, reason: str, consent_hint: str) -> bool:
        """Move connector `name` to `reconnect_required`; notify only if this call made the change.

        `reason` is the operator-facing cause (no tokens), `consent_hint` tells people how to reconnect
        (a consent link or the route to start it). Returns True when this call made the transition.
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
        record, previous = done
        log.warning("Connector %s needs reconnecting (was %s): %s", name, previous, reason)
        self._notify(notification(
            connector=record.name, event="reconnect_required", severity="error",
            message=(f"Connector '{record.name}' lost its access to Business Central and must be reconnected: "
                     f"{reason} {consent_hint} Work is parked meanwhile and replayed after reconnecting."),
            recipients=record.settings.notification_recipients,
            details={"reason": reason, "consent": consent_hint}, at=now()))
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


class _NowClock:
    """A Clock over a `now` callable, for callers not yet given a Clock."""

    def __init__(self, now: Callable[[], _dt.datetime]) -> None:
        self._now = now

    def now(self) -> _dt.datetime:
        return self._now()

    def monotonic(self) -> float:
        return SYSTEM_CLOCK.monotonic()

    def sleep(self, seconds: float) -> None:
        SYSTEM_CLOCK.sleep(seconds)


# Until consent, exports and expenses take a ConnectorStatuses port (the composition root builds one),
# their call sites use these two functions with today's arguments.

def mark_reconnect_required(store: ConnectorStore, name: str, *, reason: str, notify: Notify, consent_hint: str,
                            now: Callable[[], _dt.datetime] = SYSTEM_CLOCK.now) -> bool:
    """`ConnectorStatuses.mark_reconnect_required` with the arguments of the callers before the port."""
    return ConnectorStatuses(store=store, notify=notify, clock=_NowClock(now)).mark_reconnect_required(
        name, reason=reason, consent_hint=consent_hint)


def mark_connected(store: ConnectorStore, name: str, *, now: Callable[[], _dt.datetime] = SYSTEM_CLOCK.now,
                   **fields: JsonValue) -> ConnectorRecord | None:
    """`ConnectorStatuses.mark_connected` with the arguments of the callers before the port."""
    return ConnectorStatuses(store=store, notify=_no_notify, clock=_NowClock(now)).mark_connected(name, **fields)


def _no_notify(message: JsonObject, /) -> None:
    """mark_connected sends nothing."""
