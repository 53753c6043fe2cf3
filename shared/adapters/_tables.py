"""Table helpers: create a table on first use, and purge whole partitions.

Tables are created lazily, once per process per table, rather than at import time: a Functions worker
imports every blueprint while indexing, and a storage call there would slow cold start and fail
indexing when the setting is missing (STYLE.md "Layout and boundaries").
"""

from __future__ import annotations

import logging
import threading
from itertools import groupby
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["ensure_table", "delete_partitions", "MAX_TRANSACTION_OPERATIONS"]

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
    from urllib.parse import unquote

    return unquote(key)
