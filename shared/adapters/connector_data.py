"""Deleting a connector's data: the one list of tables that hold rows per connector, and how each is keyed.

A deleted connector leaves nothing behind but its settings row, which the use case deletes last.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from shared.adapters._tables import delete_partitions

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["TableConnectorDataPurger", "PER_CONNECTOR_TABLES"]

#: Table (by its key in the composition root's table names) -> True when partitions are `{name}|...`
#: (one per connector and entity type), False when the partition is the connector name itself.
PER_CONNECTOR_TABLES: dict[str, bool] = {
    "ledger": True,
    "cursors": False,
    "parked": False,
    "tokens": False,
    "locks": False,
    "activity": False,
    "subscriptions": False,
    "requests": False,
}


class TableConnectorDataPurger:
    """`ConnectorDataPurger` on Table Storage; `table(key)` returns the table client of a table key."""

    def __init__(self, table: Callable[[str], "TableClient"]) -> None:
        self._table = table

    def purge(self, name: str) -> None:
        for key, by_prefix in PER_CONNECTOR_TABLES.items():
            if by_prefix:
                delete_partitions(self._table(key), prefixes=[f"{name}|"])
            else:
                delete_partitions(self._table(key), partitions=[name])
