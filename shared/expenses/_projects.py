"""The ProjectMap port: which host project a value of the project dimension stands for (read-only).

The projects export writes each exported project to table `SyncLedger`, PartitionKey `{connector}|project`,
RowKey `table_key(host project id)`, with the dimension value code in column `bcNumber` (docs/storage.md).
An import reads that partition once per run: a connector has at most thousands of projects, so the map
is small whatever the number of expenses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["HostProject", "ProjectMap", "LedgerProjectMap", "InMemoryProjectMap"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostProject:
    id: str  # the host's project id
    number: str  # the dimension value code in BC


class ProjectMap(Protocol):
    def projects(self, connector: str) -> dict[str, HostProject]:
        """Host projects of a connector by dimension value code (upper-case, as BC stores Code fields)."""
        ...


def _add(out: dict[str, HostProject], connector: str, host_id: str, code: str) -> None:
    key = code.strip().upper()
    if not key:
        return
    if key in out and out[key].id != host_id:
        # Two host projects on one dimension value: expenses cannot tell them apart; keep the first.
        log.warning("Connector %s: projects %s and %s both map to dimension value %s; expenses go to %s",
                    connector, out[key].id, host_id, key, out[key].id)
        return
    out[key] = HostProject(host_id, key)


class LedgerProjectMap:
    """Reads partition `{connector}|project` of table `SyncLedger`."""

    def __init__(self, table: "TableClient") -> None:
        self._table = table

    def projects(self, connector: str) -> dict[str, HostProject]:
        from azure.core.exceptions import ResourceNotFoundError

        from shared.adapters import from_table_key

        out: dict[str, HostProject] = {}
        try:
            rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": f"{connector}|project"},
                                              select=["RowKey", "bcNumber"])
            for row in sorted(rows, key=lambda r: r["RowKey"]):
                if row.get("bcNumber"):
                    _add(out, connector, from_table_key(row["RowKey"]), str(row["bcNumber"]))
        except ResourceNotFoundError:  # no project exported yet: the table may not exist
            return {}
        return out


class InMemoryProjectMap:
    """A fake ledger: `set(connector, host_id, code)`."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, str]] = {}

    def set(self, connector: str, host_id: str, code: str) -> None:
        self._rows.setdefault(connector, {})[host_id] = code

    def projects(self, connector: str) -> dict[str, HostProject]:
        out: dict[str, HostProject] = {}
        for host_id, code in sorted(self._rows.get(connector, {}).items()):
            _add(out, connector, host_id, code)
        return out
