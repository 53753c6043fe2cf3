"""The last export of each kind and how many ended how, shown on `GET /connectors/{name}` (ARCHITECTURE §2).

Kept apart from the connector's settings row on purpose: every export would otherwise update that row,
and its ETag guards settings saves and status transitions, which would then lose races to busy queues.
Table `ConnectorActivity`: PartitionKey = connector, RowKey = `export-{type}`; columns `lastAt`,
`lastStatus`, `lastId`, and one count column per outcome status. Counts are incremented with an ETag
guard and a few retries; activity is informational, so a write that still loses is logged, never raised.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

log = logging.getLogger(__name__)

__all__ = ["record_export_outcome", "read_activity", "OUTCOME_STATUSES"]

OUTCOME_STATUSES = ("created", "updated", "unchanged", "failed", "parked")
_ATTEMPTS = 5


def record_export_outcome(table: "TableClient | Callable[[], TableClient]", outcome: dict[str, Any]) -> None:
    """Count one outcome (ARCHITECTURE §4 schema) for its connector and type. Never raises."""
    from azure.core import MatchConditions
    from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import UpdateMode

    connector, kind, status = outcome.get("connector"), outcome.get("type"), outcome.get("status")
    if not connector or not kind or status not in OUTCOME_STATUSES:
        return
    try:
        client = table() if callable(table) else table
        for _ in range(_ATTEMPTS):
            try:
                row = client.get_entity(connector, f"export-{kind}")
            except ResourceNotFoundError:
                row = None
            values = {"PartitionKey": connector, "RowKey": f"export-{kind}", "lastAt": outcome.get("completedAt"),
                      "lastStatus": status, "lastId": outcome.get("id")}
            for name in OUTCOME_STATUSES:
                values[name] = int((row or {}).get(name, 0)) + (1 if name == status else 0)
            try:
                if row is None:
                    client.create_entity(values)
                else:
                    client.update_entity(values, mode=UpdateMode.REPLACE, etag=row.metadata["etag"],
                                         match_condition=MatchConditions.IfNotModified)
                return
            except (ResourceExistsError, ResourceModifiedError):
                continue  # another worker counted first: read again
        log.info("Export activity of %s/%s not counted: %d conflicting writers", connector, kind, _ATTEMPTS)
    except AzureError as err:
        log.warning("Export activity of %s/%s not recorded: %s", connector, kind, err)


def read_activity(table: "TableClient", connector: str) -> dict[str, Any]:
    """`{"lastExports": {type: {"at", "status", "id", "counts": {...}}}}` for one connector."""
    rows = table.query_entities("PartitionKey eq @pk", parameters={"pk": connector})
    exports: dict[str, Any] = {}
    for row in rows:
        key = row["RowKey"]
        if not key.startswith("export-"):
            continue
        exports[key[len("export-"):]] = {
            "at": row.get("lastAt"), "status": row.get("lastStatus"), "id": row.get("lastId"),
            "counts": {name: int(row.get(name, 0)) for name in OUTCOME_STATUSES},
        }
    return {"lastExports": exports} if exports else {}
