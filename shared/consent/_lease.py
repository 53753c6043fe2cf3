"""A short ETag-guarded lease per connector, so one replay at a time re-enqueues its parked messages.

Replay sends a parked message, then removes it. Two replays of one connector at once (the consent
callback, `POST /replay`, the keep-alive's catch-up) would both send the same message; the lease makes
them take turns. Table `Locks` (docs/storage.md): PartitionKey = connector, RowKey = lease name
(`replay`), columns `owner` and `expiresAt`. An expired lease is taken over, so a crashed worker does
not block replay for longer than the lease lasts.
"""

from __future__ import annotations

import datetime as _dt
import threading
import uuid
from typing import TYPE_CHECKING, Callable

from shared.tokens import iso, parse_iso

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = ["TableLease", "InMemoryLeases", "LEASE_DURATION"]

LEASE_DURATION = _dt.timedelta(minutes=5)


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class TableLease:
    def __init__(self, table: "TableClient", connector: str, name: str, *,
                 duration: _dt.timedelta = LEASE_DURATION, now: Callable[[], _dt.datetime] = _utc_now):
        self._table, self._pk, self._rk = table, connector, name
        self._duration, self._now = duration, now
        self.owner = uuid.uuid4().hex
        self._etag: str | None = None

    def acquire(self) -> bool:
        """Take the lease if it is free or expired; False if someone else holds it."""
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        now = self._now()
        entity = {"PartitionKey": self._pk, "RowKey": self._rk, "owner": self.owner,
                  "expiresAt": iso(now + self._duration)}
        try:
            current = self._table.get_entity(self._pk, self._rk)
        except ResourceNotFoundError:
            current = None
        try:
            if current is None:
                meta = self._table.create_entity(entity)
            else:
                expires = parse_iso(current.get("expiresAt"))
                if current.get("owner") != self.owner and expires is not None and expires > now:
                    return False
                meta = self._table.update_entity(entity, mode=UpdateMode.REPLACE,
                                                 etag=current.metadata.get("etag"),
                                                 match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            return False
        self._etag = meta.get("etag")
        return True

    def renew(self) -> bool:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        if self._etag is None:
            return False
        entity = {"PartitionKey": self._pk, "RowKey": self._rk, "owner": self.owner,
                  "expiresAt": iso(self._now() + self._duration)}
        try:
            meta = self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=self._etag,
                                             match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            self._etag = None
            return False
        self._etag = meta.get("etag")
        return True

    def release(self) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        if self._etag is None:
            return
        try:
            self._table.delete_entity(partition_key=self._pk, row_key=self._rk, etag=self._etag,
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            pass
        self._etag = None


class InMemoryLeases:
    """Lease factory with the same semantics, for use-case tests: `InMemoryLeases()(connector, name)`."""

    def __init__(self, now: Callable[[], _dt.datetime] = _utc_now, duration: _dt.timedelta = LEASE_DURATION):
        self._held: dict[tuple[str, str], tuple[str, _dt.datetime]] = {}
        self._lock = threading.Lock()
        self._now, self._duration = now, duration

    def __call__(self, connector: str, name: str) -> "_MemoryLease":
        return _MemoryLease(self, (connector, name))


class _MemoryLease:
    def __init__(self, leases: InMemoryLeases, key: tuple[str, str]):
        self._leases, self._key, self.owner = leases, key, uuid.uuid4().hex

    def acquire(self) -> bool:
        leases = self._leases
        with leases._lock:
            held = leases._held.get(self._key)
            now = leases._now()
            if held and held[0] != self.owner and held[1] > now:
                return False
            leases._held[self._key] = (self.owner, now + leases._duration)
            return True

    def renew(self) -> bool:
        return self.acquire()

    def release(self) -> None:
        leases = self._leases
        with leases._lock:
            if leases._held.get(self._key, ("",))[0] == self.owner:
                del leases._held[self._key]
