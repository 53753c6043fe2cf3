"""In-memory tables with BC's ordering, unique keys, secondary indexes and an undo journal.

One `Db` per environment (BC's database): deep inserts and `Isolation: snapshot` batches roll back through
its journal, so a failed request leaves no trace. Each table keeps its rows in a dict keyed by id plus a
sorted list of (primary key..., id), so paging can resume after the last key with a bisect and a lookup
by an indexed field does not scan. Records are flat dicts whose values are never mutated in place
(replace a nested dict, don't edit it), which is what makes the undo journal a cheap shallow copy.
"""

from __future__ import annotations

import bisect
import itertools
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["Db", "Table"]


class Db:
    """An environment's database: the undo journal and the row-version counter shared by its tables."""

    def __init__(self) -> None:
        self._journal: list[Callable[[], None]] | None = None
        self._versions = itertools.count(1)
        #: committed row changes not yet handed to the webhooks: (company id, table, kind, row id,
        #: lastModifiedDateTime, documentId). A rollback takes its own changes back out.
        self.changes: list[tuple] = []

    def note(self, table: "Table", kind: str, record: dict) -> None:
        """A row of a named table was created, updated or deleted (webhook notifications, `drain`)."""
        if table.name is None:
            return
        entry = (table.owner, table.name, kind, record["id"], record.get("lastModifiedDateTime"),
                 record.get("documentId"))
        changes = self.changes
        changes.append(entry)
        if self._journal is not None:
            self._journal.append(lambda: _unnote(changes, entry))

    def drain(self) -> list[tuple]:
        """The changes noted since the last drain (called once a request or data hook is done)."""
        out, self.changes = self.changes, []
        return out

    def next_version(self) -> int:
        return next(self._versions)

    def log(self, undo: Callable[[], None]) -> None:
        if self._journal is not None:
            self._journal.append(undo)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All or nothing. Nested calls are savepoints: an inner failure undoes only the inner work."""
        outer = self._journal is None
        if outer:
            self._journal = []
        mark = len(self._journal)
        try:
            yield
        except BaseException:
            self._rollback_to(mark)
            if outer:
                self._journal = None
            raise
        if outer:
            self._journal = None

    def begin(self) -> int:
        """Start (or join) a transaction explicitly; returns a savepoint for `rollback_to`."""
        if self._journal is None:
            self._journal = []
        return len(self._journal)

    def rollback_to(self, mark: int) -> None:
        self._rollback_to(mark)

    def end(self) -> None:
        self._journal = None

    def _rollback_to(self, mark: int) -> None:
        journal = self._journal
        assert journal is not None
        while len(journal) > mark:
            journal.pop()()


def _unnote(changes: list[tuple], entry: tuple) -> None:
    if changes and changes[-1] is entry:
        changes.pop()
        return
    for i in range(len(changes) - 1, -1, -1):
        if changes[i] is entry:
            del changes[i]
            return


class Table:
    """Rows of one entity set in one company."""

    #: entity set name and owning company id, set by the company; unnamed tables note no changes
    name: str | None = None
    owner: str | None = None

    def __init__(
        self,
        db: Db,
        sort_keys: tuple[str, ...],
        defaults: dict[str, Any],
        *,
        unique: dict[str, tuple[str, ...]] | None = None,
        indexes: tuple[str, ...] = (),
    ) -> None:
        self.db = db
        self.sort_keys = sort_keys
        self.defaults = defaults
        self.rows: dict[str, dict] = {}
        self._order: list[tuple] = []
        self._unique_fields = unique or {}
        self._unique: dict[str, dict[tuple, str]] = {name: {} for name in self._unique_fields}
        self._index_fields = indexes
        self._index: dict[str, dict[Any, dict[str, None]]] = {f: {} for f in indexes}

    # -- reading -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rows)

    def get(self, row_id: str) -> dict | None:
        return self.rows.get(row_id)

    def field(self, record: dict, key: str) -> Any:
        return record.get(key, self.defaults.get(key, ""))

    def order_key(self, record: dict) -> tuple:
        get = record.get
        defaults = self.defaults
        return tuple(get(k, defaults.get(k, "")) for k in self.sort_keys) + (record["id"],)

    def unique_key(self, name: str, record: dict) -> tuple:
        return tuple(self.field(record, f) for f in self._unique_fields[name])

    def find(self, name: str, *values: Any) -> dict | None:
        """Row by a unique key, e.g. find("number", "C10000")."""
        row_id = self._unique[name].get(tuple(values))
        return self.rows[row_id] if row_id is not None else None

    def by_index(self, field_name: str, value: Any) -> list[dict]:
        ids = self._index[field_name].get(value, {})
        rows = [self.rows[i] for i in ids]
        rows.sort(key=self.order_key)
        return rows

    def has_index(self, field_name: str) -> bool:
        return field_name in self._index

    def scan(self, after: tuple | None = None, start: tuple | None = None) -> Iterator[dict]:
        """Rows in primary-key order, strictly after `after` or from the first key >= `start`."""
        order = self._order
        if after is not None:
            pos = bisect.bisect_right(order, after)
        elif start is not None:
            pos = bisect.bisect_left(order, start)
        else:
            pos = 0
        rows = self.rows
        while pos < len(order):
            key = order[pos]
            pos += 1
            row = rows.get(key[-1])
            if row is not None:
                yield row

    # -- writing -----------------------------------------------------------------------------------
    def insert(self, record: dict) -> dict:
        record["_rv"] = self.db.next_version()
        self._add(record)
        row_id = record["id"]
        self.db.log(lambda: self._remove(self.rows[row_id]))
        self.db.note(self, "created", record)
        return record

    def update(self, record: dict, changes: dict[str, Any]) -> dict:
        """Apply changes in place (callers keep their reference) and bump the row version."""
        before = dict(record)
        self._remove(record)
        record.update(changes)
        record["_rv"] = self.db.next_version()
        self._add(record)
        self.db.log(lambda: self._restore(record, before))
        self.db.note(self, "updated", record)
        return record

    def touch(self, record: dict, changes: dict[str, Any] | None = None) -> dict:
        return self.update(record, changes or {})

    def delete(self, record: dict) -> None:
        self._remove(record)
        self.db.log(lambda: self._add(record))
        self.db.note(self, "deleted", record)

    def check_unique(self, name: str, values: tuple, ignore_id: str | None = None) -> str | None:
        """Id of the row holding `values` on unique key `name` (other than ignore_id), if any."""
        owner = self._unique[name].get(values)
        return owner if owner is not None and owner != ignore_id else None

    # -- internals ---------------------------------------------------------------------------------
    def _restore(self, record: dict, before: dict) -> None:
        self._remove(record)
        record.clear()
        record.update(before)
        self._add(record)

    def _add(self, record: dict) -> None:
        row_id = record["id"]
        for name in self._unique_fields:
            key = self.unique_key(name, record)
            holder = self._unique[name].get(key)
            if holder is not None and holder != row_id:
                raise KeyError("duplicate %s %r" % (name, key))
        self.rows[row_id] = record
        bisect.insort(self._order, self.order_key(record))
        for name in self._unique_fields:
            self._unique[name][self.unique_key(name, record)] = row_id
        for f in self._index_fields:
            self._index[f].setdefault(self.field(record, f), {})[row_id] = None

    def _remove(self, record: dict) -> None:
        row_id = record["id"]
        if self.rows.get(row_id) is not record:
            return
        del self.rows[row_id]
        key = self.order_key(record)
        pos = bisect.bisect_left(self._order, key)
        if pos < len(self._order) and self._order[pos] == key:
            del self._order[pos]
        for name in self._unique_fields:
            ukey = self.unique_key(name, record)
            if self._unique[name].get(ukey) == row_id:
                del self._unique[name][ukey]
        for f in self._index_fields:
            bucket = self._index[f].get(self.field(record, f))
            if bucket is not None:
                bucket.pop(row_id, None)
                if not bucket:
                    del self._index[f][self.field(record, f)]
