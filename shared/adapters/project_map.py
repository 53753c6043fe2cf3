"""Interim: the expense import's `ProjectMap` (`shared.expenses`) read from table `SyncLedger`.

The ledger adapter (`shared.adapters.ledger`, the only code meant to know the `SyncLedger` layout)
implements `projects(connector)` itself; when it is in, the composition root passes it and this module
goes. Until then it reads partition `{connector}|project`, RowKey `table_key(host project id)`, the
dimension value code in column `bcNumber`, once per run (a connector has at most thousands of projects).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shared.adapters._tables import from_table_key
from shared.expenses import HostProject

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["TableProjectMap"]

log = logging.getLogger(__name__)


class TableProjectMap:
    """Host projects of a connector by dimension value code (upper-case, as BC stores Code fields)."""

    def __init__(self, table: "TableClient") -> None:
        self._table = table

    def projects(self, connector: str) -> dict[str, HostProject]:
        from azure.core.exceptions import ResourceNotFoundError  # the SDK loads on first use (cold start)

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
