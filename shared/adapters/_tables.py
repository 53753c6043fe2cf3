"""Table helpers: create a table on first use, purge whole partitions, and write a row only if nobody
changed it since it was read (`write_if_unchanged`, `delete_if_unchanged`: the write half of
`shared.guarded.guarded_update`).

Tables are created lazily, once per process per table, rather than at import time: a Functions worker
imports every blueprint while indexing, and a storage call there would slow cold start and fail
indexing when the setting is missing.
"""

from __future__ import annotations

import logging
import threading
from urllib.parse import unquote
from itertools import groupby
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Literal, Mapping

from shared.errors import ConflictError

from ._errors import storage_errors

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["LazyTable", "ensure_table", "delete_partitions", "write_if_unchanged", "delete_if_unchanged", "row_etag",
           "MAX_TRANSACTION_OPERATIONS", "table_key", "from_table_key"]

#: A table row as the SDK takes it: PartitionKey, RowKey and scalar columns.
Row = Mapping[str, Any]

log = logging.getLogger(__name__)

#: Table Storage accepts at most 100 operations in one entity group transaction, all in one partition.
MAX_TRANSACTION_OPERATIONS = 100

_created: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


def ensure_table(table: "TableClient") -> "TableClient":
    """Create `table` if needed, once per process; later calls cost nothing.

    Raises azure.core.exceptions.HttpResponseError for anything but "already exists".
    """
    from azure.core.exceptions import ResourceExistsError

    key = (table.url.lower(), table.table_name.lower())
    if key in _created:
        return table
    with _created_lock:
        if key in _created:
            return table
        try:
            table.create_table()
            log.info("Created table %s", table.table_name)
        except ResourceExistsError as exc:
            # A table that is still being deleted also answers 409: that one is not usable yet.
            if getattr(exc, "error_code", None) == "TableBeingDeleted":
                raise
        _created.add(key)
    return table


class LazyTable:
    """A table client given as one, or as a function that makes it on first use (so building an adapter
    needs no storage connection)."""

    def __init__(self, table: "TableClient | Callable[[], TableClient]") -> None:
        self._source = table
        self._client: "TableClient | None" = None

    @property
    def _table(self) -> "TableClient":
        if self._client is None:
            self._client = self._source() if callable(self._source) else self._source
        return self._client


def row_etag(row: object) -> str:
    """The ETag of a row read with the SDK (`TableEntity.metadata["etag"]`)."""
    metadata = getattr(row, "metadata", None) or {}
    etag = metadata.get("etag")
    if not isinstance(etag, str):
        raise ValueError("The row was not read from a table: it carries no ETag.")
    return etag


def write_if_unchanged(table: "TableClient", row: Row, *, etag: str | None,
                       mode: Literal["replace", "merge"] = "replace", what: str = "the row") -> str:
    """Write `row` only if it is still as read; the new ETag.

    `etag` None: create the row, which must not exist yet. Otherwise: update it if its ETag is still
    `etag` (`match_condition=IfNotModified`; `mode` replace or merge the columns). Raises
    `shared.errors.ConflictError` when another writer came first (the row exists, changed or vanished):
    the write of `guarded_update(read, decide, write)`. Storage outages raise `TransientError`.
    """
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import UpdateMode

    with storage_errors(what):
        try:
            if etag is None:
                meta = table.create_entity(dict(row))
            else:
                meta = table.update_entity(dict(row), mode=UpdateMode.REPLACE if mode == "replace" else UpdateMode.MERGE,
                                           etag=etag, match_condition=MatchConditions.IfNotModified)
        except ResourceNotFoundError as exc:
            raise ConflictError(f"{what} was deleted meanwhile.", code="Gone") from exc
    return str(meta["etag"])


def delete_if_unchanged(table: "TableClient", partition_key: str, row_key: str, *, etag: str,
                        what: str = "the row") -> bool:
    """Delete the row if it still has `etag`; False (nothing deleted) when it changed or is gone."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceNotFoundError

    try:
        with storage_errors(what):
            table.delete_entity(partition_key, row_key, etag=etag, match_condition=MatchConditions.IfNotModified)
    except (ConflictError, ResourceNotFoundError):
        return False
    return True


def delete_partitions(
    table: "TableClient",
    *,
    partitions: Iterable[str] = (),
    prefixes: Iterable[str] = (),
) -> int:
    """Delete every row of the given partitions and of every partition starting with a prefix.

    Used when a connector is deleted: its ledger partitions are `{connector}|{type}`, so the prefix
    `{connector}|` finds them all. Deletes go in entity group transactions of at most 100 rows, one
    partition each. Rows that disappear meanwhile are fine (deleting is idempotent). Returns the number
    of rows deleted. A missing table counts as empty.
    """
    partitions = list(dict.fromkeys(partitions))
    prefixes = list(dict.fromkeys(prefixes))
    for prefix in prefixes:
        if not prefix:
            raise ValueError("an empty partition prefix would delete the whole table")
    deleted = 0
    for pk in partitions:
        deleted += _delete_keys(
            table, _keys(table, "PartitionKey eq @pk", {"pk": pk})
        )
    for prefix in prefixes:
        # Partition keys sort as strings, so a prefix is the range [prefix, prefix with last char + 1).
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        deleted += _delete_keys(
            table, _keys(table, "PartitionKey ge @lo and PartitionKey lt @hi", {"lo": prefix, "hi": upper})
        )
    if deleted:
        log.info("Deleted %s rows from table %s", deleted, table.table_name)
    return deleted


def _keys(table: "TableClient", query: str, parameters: dict[str, str]) -> list[tuple[str, str]]:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        rows = table.query_entities(query, parameters=parameters, select=["PartitionKey", "RowKey"])
        # Collect first: deleting while following continuation tokens could skip rows.
        return sorted((row["PartitionKey"], row["RowKey"]) for row in rows)
    except ResourceNotFoundError:
        return []


def _delete_keys(table: "TableClient", keys: list[tuple[str, str]]) -> int:
    from azure.data.tables import TableTransactionError

    deleted = 0
    for pk, rows in groupby(keys, key=lambda k: k[0]):
        for chunk in _chunks([rk for _, rk in rows], MAX_TRANSACTION_OPERATIONS):
            operations = [("delete", {"PartitionKey": pk, "RowKey": rk}) for rk in chunk]
            try:
                table.submit_transaction(operations)
            except TableTransactionError as exc:
                if exc.status_code != 404:
                    raise
                # A row vanished since the query (another deleter): the whole batch was rejected, so
                # fall back to single deletes, which succeed when the row is already gone.
                for rk in chunk:
                    table.delete_entity(partition_key=pk, row_key=rk)
            deleted += len(chunk)
    return deleted


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_KEY_UNSAFE = set("/\\#?%") | {chr(c) for c in range(0x20)} | {chr(c) for c in range(0x7F, 0xA0)}


def table_key(value: str) -> str:
    """`value` made safe as a PartitionKey/RowKey: `/ \\ # ?`, `%` and control characters percent-encoded.

    Table Storage refuses those characters in keys; host ids are free text, so they pass through here.
    The encoding is reversible (`from_table_key`) and leaves ordinary ids unchanged.
    """
    return "".join("%%%02X" % ord(ch) if ch in _KEY_UNSAFE else ch for ch in value)


def from_table_key(key: str) -> str:
    """Inverse of `table_key`."""
    return unquote(key)
