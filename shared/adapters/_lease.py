"""A short ETag-guarded lease per connector and job, so that one run of that job at a time does the work.

Used by the expense import (lease `expense-import`: the timer on every instance and `POST .../import` never
overlap) and by replay (lease `replay`: two replays never send the same parked message). Table `Locks`
(docs/storage.md): PartitionKey = connector, RowKey = the lease name, columns `owner` (the run's id) and
`expiresAt`. Taking it:

- no row: create it (a 409 means another run was faster: busy);
- a row whose `expiresAt` has passed, or cannot be read (its run crashed or hung): replace it, guarded by
  the ETag read (a 412 means another run took it meanwhile: busy);
- otherwise: busy.

The holder renews it as it goes (ETag-guarded; a failure means the lease was taken over: `LeaseLost`, and
the run stops before writing anything more) and deletes it at the end, again only if the row is still the
one it wrote. A crashed run's lease blocks the connector until it expires: keep `ttl` above the longest
step between two renewals.

    leases = TableLeaseStore(table, name="replay")     # or InMemoryLeaseStore(name=..., clock=...)
    lease = leases.acquire("contoso-bc", run_id, ttl=timedelta(minutes=5))
    if lease is None: ...                                # busy; leases.holder("contoso-bc") says until when
    try: ...; lease.renew(); ...                         # raises LeaseLost
    finally: lease.release()
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

from shared.clock import iso, parse_iso, utc_now

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["Lease", "LeaseLost", "LeaseStore", "TableLeaseStore", "InMemoryLeaseStore"]

Clock = Callable[[], _dt.datetime]


class LeaseLost(Exception):
    """Another run took the lease over (this one outlived its expiry); stop without writing more."""


def _stamp(moment: _dt.datetime) -> str:
    return iso(moment, timespec="milliseconds")


class _Rows(Protocol):
    """The conditional operations a lease needs; a table and a dict both offer them."""

    def read(self, key: tuple[str, str]) -> tuple[dict[str, Any], str] | None: ...

    def create(self, key: tuple[str, str], values: dict[str, Any]) -> str | None:
        """The new ETag, or None if the row exists."""
        ...

    def replace(self, key: tuple[str, str], values: dict[str, Any], etag: str) -> str | None:
        """The new ETag, or None if the row changed or is gone."""
        ...

    def delete(self, key: tuple[str, str], etag: str) -> None:
        """Delete the row if it still has `etag`; nothing happens otherwise."""
        ...


@dataclass
class Lease:
    """A held lease. `renew()` before each step; `release()` at the end (in a finally)."""

    key: tuple[str, str]
    owner: str
    expires_at: _dt.datetime
    _etag: str
    _rows: _Rows
    _ttl: _dt.timedelta
    _clock: Clock

    def renew(self) -> None:
        """Extend by the ttl. Raises LeaseLost if another run took the lease over."""
        expires = self._clock() + self._ttl
        etag = self._rows.replace(self.key, {"owner": self.owner, "expiresAt": _stamp(expires)}, self._etag)
        if etag is None:
            raise LeaseLost(f"The {self.key[1]} lease of connector '{self.key[0]}' was taken over by another run.")
        self._etag, self.expires_at = etag, expires

    def release(self) -> None:
        """Give the lease up; nothing happens if it is no longer ours."""
        self._rows.delete(self.key, self._etag)


class LeaseStore:
    """Takes the lease `name` of connectors, on rows of a `_Rows`; see the module docstring."""

    def __init__(self, rows: _Rows, *, name: str, clock: Clock = utc_now) -> None:
        self._rows, self.name, self._clock = rows, name, clock

    def acquire(self, connector: str, owner: str, *, ttl: _dt.timedelta) -> Lease | None:
        """The lease, or None when another run holds it (`holder()` says until when)."""
        key = (connector, self.name)
        now = self._clock()
        values = {"owner": owner, "expiresAt": _stamp(now + ttl)}
        current = self._rows.read(key)
        if current is None:
            etag = self._rows.create(key, values)
        else:
            row, etag_read = current
            expires = parse_iso(row.get("expiresAt"))
            if expires is not None and expires > now:
                return None
            etag = self._rows.replace(key, values, etag_read)
        if etag is None:
            return None
        return Lease(key, owner, now + ttl, etag, self._rows, ttl, self._clock)

    def holder(self, connector: str) -> dict[str, Any] | None:
        """`{"owner", "expiresAt"}` of the current lease row, if any."""
        current = self._rows.read((connector, self.name))
        return dict(current[0]) if current is not None else None


class _TableRows:
    def __init__(self, table: "TableClient | Callable[[], TableClient]") -> None:
        self._source = table
        self._client: "TableClient | None" = None

    @property
    def _table(self) -> "TableClient":
        if self._client is None:
            self._client = self._source() if callable(self._source) else self._source
        return self._client

    def read(self, key: tuple[str, str]) -> tuple[dict[str, Any], str] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            row = self._table.get_entity(*key)
        except ResourceNotFoundError:
            return None
        return {"owner": row.get("owner", ""), "expiresAt": row.get("expiresAt", "")}, row.metadata["etag"]

    def create(self, key: tuple[str, str], values: dict[str, Any]) -> str | None:
        from azure.core.exceptions import ResourceExistsError

        try:
            return self._table.create_entity({"PartitionKey": key[0], "RowKey": key[1], **values})["etag"]
        except ResourceExistsError:
            return None

    def replace(self, key: tuple[str, str], values: dict[str, Any], etag: str) -> str | None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            meta = self._table.update_entity({"PartitionKey": key[0], "RowKey": key[1], **values},
                                             mode=UpdateMode.REPLACE, etag=etag,
                                             match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            return None
        return meta["etag"]

    def delete(self, key: tuple[str, str], etag: str) -> None:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError

        try:
            self._table.delete_entity(key[0], key[1], etag=etag, match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            pass


class _MemoryRows:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self._lock = threading.Lock()
        self._etags = itertools.count(1)

    def read(self, key: tuple[str, str]) -> tuple[dict[str, Any], str] | None:
        with self._lock:
            current = self._rows.get(key)
            return (dict(current[0]), current[1]) if current else None

    def create(self, key: tuple[str, str], values: dict[str, Any]) -> str | None:
        with self._lock:
            if key in self._rows:
                return None
            etag = f'W/"{next(self._etags)}"'
            self._rows[key] = (dict(values), etag)
            return etag

    def replace(self, key: tuple[str, str], values: dict[str, Any], etag: str) -> str | None:
        with self._lock:
            current = self._rows.get(key)
            if current is None or current[1] != etag:
                return None
            new = f'W/"{next(self._etags)}"'
            self._rows[key] = (dict(values), new)
            return new

    def delete(self, key: tuple[str, str], etag: str) -> None:
        with self._lock:
            current = self._rows.get(key)
            if current is not None and current[1] == etag:
                del self._rows[key]


class TableLeaseStore(LeaseStore):
    """Leases `name` in table `Locks`: a TableClient, or a function that makes it on first use (so that
    building the ports needs no storage connection, as the consent flow's do not until a replay)."""

    def __init__(self, table: "TableClient | Callable[[], TableClient]", *, name: str,
                 clock: Clock = utc_now) -> None:
        super().__init__(_TableRows(table), name=name, clock=clock)


class InMemoryLeaseStore(LeaseStore):
    """Leases `name` in a dict, with the same semantics (ETags included), for use-case tests."""

    def __init__(self, *, name: str, clock: Clock = utc_now) -> None:
        super().__init__(_MemoryRows(), name=name, clock=clock)
