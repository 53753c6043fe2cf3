"""A short ETag-guarded lease per connector and job, so that one run of that job at a time does the work.

Used by the expense import (lease `expense-import`: the timer on every instance and `POST .../import` never
overlap) and by replay (lease `replay`: two replays never send the same parked message). Table `Locks`
(docs/storage.md): PartitionKey = connector, RowKey = the lease name, columns `owner` (the run's id) and
`expiresAt`. Taking it:

- no row: create it;
- a row whose `expiresAt` has passed, or cannot be read (its run crashed or hung): replace it, guarded by
  the ETag read;
- otherwise: busy.

Taking it is one `guarded_update`: when another run wrote first (409 or 412), the row is read again and
the decision made again, which then says busy.

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
from typing import TYPE_CHECKING, Callable, Protocol

from shared.clock import SYSTEM_CLOCK, Clock, iso, parse_iso
from shared.errors import ConflictError
from shared.guarded import guarded_update

from ._tables import LazyTable, delete_if_unchanged, row_etag, write_if_unchanged

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["Lease", "LeaseLost", "LeaseStore", "TableLeaseStore", "InMemoryLeaseStore"]

#: A lease row's columns: `owner` and `expiresAt`.
Values = dict[str, str]
Key = tuple[str, str]


class LeaseLost(ConflictError):
    """Another run took the lease over (this one outlived its expiry); stop without writing more."""

    default_code = "LeaseLost"


def _stamp(moment: _dt.datetime) -> str:
    return iso(moment, timespec="milliseconds")


class _Rows(Protocol):
    """The conditional operations a lease needs; a table and a dict both offer them."""

    def read(self, key: Key) -> tuple[Values, str] | None: ...

    def write(self, key: Key, values: Values, etag: str | None) -> str:
        """Create (etag None) or replace the row if it still has `etag`; the new ETag. Raises ConflictError."""
        ...

    def delete(self, key: Key, etag: str) -> None:
        """Delete the row if it still has `etag`; nothing happens otherwise."""
        ...


@dataclass
class Lease:
    """A held lease. `renew()` before each step; `release()` at the end (in a finally)."""

    key: Key
    owner: str
    expires_at: _dt.datetime
    _etag: str
    _rows: _Rows
    _ttl: _dt.timedelta
    _clock: Clock

    def renew(self) -> None:
        """Extend by the ttl. Raises LeaseLost if another run took the lease over."""
        expires = self._clock.now() + self._ttl
        try:
            etag = self._rows.write(self.key, {"owner": self.owner, "expiresAt": _stamp(expires)}, self._etag)
        except ConflictError as exc:
            raise LeaseLost(f"The {self.key[1]} lease of connector '{self.key[0]}' was taken over by another "
                            "run.") from exc
        self._etag, self.expires_at = etag, expires

    def release(self) -> None:
        """Give the lease up; nothing happens if it is no longer ours."""
        self._rows.delete(self.key, self._etag)


class LeaseStore:
    """Takes the lease `name` of connectors, on rows of a `_Rows`; see the module docstring."""

    def __init__(self, rows: _Rows, *, name: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self._rows, self.name, self._clock = rows, name, clock

    def acquire(self, connector: str, owner: str, *, ttl: _dt.timedelta) -> Lease | None:
        """The lease, or None when another run holds it (`holder()` says until when)."""
        key = (connector, self.name)
        now = self._clock.now()
        values = {"owner": owner, "expiresAt": _stamp(now + ttl)}

        def decide(current: tuple[Values, str] | None) -> tuple[str | None] | None:
            if current is None:
                return (None,)  # create
            row, etag_read = current
            expires = parse_iso(row.get("expiresAt"))
            return None if expires is not None and expires > now else (etag_read,)

        etag = guarded_update(lambda: self._rows.read(key), decide,
                              lambda change: self._rows.write(key, values, change[0]), what=f"lease {key}")
        if etag is None:
            return None
        return Lease(key, owner, now + ttl, etag, self._rows, ttl, self._clock)

    def holder(self, connector: str) -> Values | None:
        """`{"owner", "expiresAt"}` of the current lease row, if any."""
        current = self._rows.read((connector, self.name))
        return dict(current[0]) if current is not None else None


class _TableRows(LazyTable):
    """Rows of one table, read and written under their ETags."""

    def read(self, key: Key) -> tuple[Values, str] | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            row = self._table.get_entity(*key)
        except ResourceNotFoundError:
            return None
        return {"owner": row.get("owner", ""), "expiresAt": row.get("expiresAt", "")}, row_etag(row)

    def write(self, key: Key, values: Values, etag: str | None) -> str:
        return write_if_unchanged(self._table, {"PartitionKey": key[0], "RowKey": key[1], **values}, etag=etag,
                                  what=f"the {key[1]} lease of connector '{key[0]}'")

    def delete(self, key: Key, etag: str) -> None:
        delete_if_unchanged(self._table, key[0], key[1], etag=etag)


class _MemoryRows:
    def __init__(self) -> None:
        self._rows: dict[Key, tuple[Values, str]] = {}
        self._lock = threading.Lock()
        self._etags = itertools.count(1)

    def read(self, key: Key) -> tuple[Values, str] | None:
        with self._lock:
            current = self._rows.get(key)
            return (dict(current[0]), current[1]) if current else None

    def write(self, key: Key, values: Values, etag: str | None) -> str:
        with self._lock:
            current = self._rows.get(key)
            if (current[1] if current else None) != etag:
                raise ConflictError(f"the {key[1]} lease of connector '{key[0]}' changed meanwhile.")
            new = f'W/"{next(self._etags)}"'
            self._rows[key] = (dict(values), new)
            return new

    def delete(self, key: Key, etag: str) -> None:
        with self._lock:
            current = self._rows.get(key)
            if current is not None and current[1] == etag:
                del self._rows[key]


class TableLeaseStore(LeaseStore):
    """Leases `name` in table `Locks`: a TableClient, or a function that makes it on first use (so that
    building the ports needs no storage connection, as the consent flow's do not until a replay)."""

    def __init__(self, table: "TableClient | Callable[[], TableClient]", *, name: str,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(_TableRows(table), name=name, clock=clock)


class InMemoryLeaseStore(LeaseStore):
    """Leases `name` in a dict, with the same semantics (ETags included), for use-case tests."""

    def __init__(self, *, name: str, clock: Clock = SYSTEM_CLOCK) -> None:
        super().__init__(_MemoryRows(), name=name, clock=clock)
