"""The last export of each kind and how many ended how, shown on `GET /connectors/{name}` (docs/contract.md §2).

Kept apart from the connector's settings row on purpose: every export would otherwise update that row,
and its ETag guards settings saves and status transitions, which would then lose races to busy queues.
Table `ConnectorActivity`: PartitionKey = connector, RowKey = `export-{type}`; columns `lastAt`,
`lastStatus`, `lastId`, and one count column per outcome status. Counts are incremented through
`guarded_update`; activity is informational, so a write that still loses is logged, never raised.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable, Mapping

from shared.errors import ConflictError
from shared.guarded import guarded_update
from shared.jsontypes import JsonObject, JsonValue

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient, TableEntity

log = logging.getLogger(__name__)

__all__ = ["TableActivityLog", "OUTCOME_STATUSES", "ACTIVITY_TABLE"]

ACTIVITY_TABLE = "ConnectorActivity"
OUTCOME_STATUSES = ("created", "updated", "unchanged", "failed", "parked")

Row = dict[str, str | int | None]


class TableActivityLog:
    """Counts export outcomes per connector and type, and reads them back for the connector's view.

    `table` is called on first use, so building the log touches no storage (cold start, indexing).
    """

    def __init__(self, table: Callable[[], "TableClient"]) -> None:
        self._table = table

    def record_export_outcome(self, outcome: Mapping[str, JsonValue]) -> None:
        """Count one outcome (docs/contract.md §4 schema) for its connector and type. Never raises."""
        from azure.core.exceptions import AzureError

        connector, kind, status = outcome.get("connector"), outcome.get("type"), outcome.get("status")
        if not isinstance(connector, str) or not connector or not isinstance(kind, str) or not kind \
                or status not in OUTCOME_STATUSES:
            return
        key = f"export-{kind}"
        try:
            client = self._table()

            def decide(current: "TableEntity | None") -> tuple[Row, "TableEntity | None"]:
                values: Row = {"PartitionKey": connector, "RowKey": key, "lastAt": _scalar(outcome.get("completedAt")),
                               "lastStatus": str(status), "lastId": _scalar(outcome.get("id"))}
                for name in OUTCOME_STATUSES:
                    values[name] = int((current or {}).get(name, 0)) + (1 if name == status else 0)
                return values, current

            guarded_update(lambda: _read(client, connector, key), decide, lambda change: _write(client, *change),
                           what=f"export activity of {connector}/{kind}")
        except ConflictError:
            log.info("Export activity of %s/%s not counted: too many conflicting writers", connector, kind)
        except AzureError as err:
            log.warning("Export activity of %s/%s not recorded: %s", connector, kind, err)

    def read(self, connector: str) -> JsonObject:
        """`{"lastExports": {type: {"at", "status", "id", "counts": {...}}}}` for one connector."""
        rows = self._table().query_entities("PartitionKey eq @pk", parameters={"pk": connector})
        exports: JsonObject = {}
        for row in rows:
            key = row["RowKey"]
            if not key.startswith("export-"):
                continue
            exports[key[len("export-"):]] = {
                "at": row.get("lastAt"), "status": row.get("lastStatus"), "id": row.get("lastId"),
                "counts": {name: int(row.get(name, 0)) for name in OUTCOME_STATUSES},
            }
        return {"lastExports": exports} if exports else {}


def _scalar(value: JsonValue) -> str | int | None:
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _read(client: "TableClient", connector: str, key: str) -> "TableEntity | None":
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return client.get_entity(connector, key)
    except ResourceNotFoundError:
        return None


def _write(client: "TableClient", values: Row, current: "TableEntity | None") -> None:
    """Create the row, or replace it if nobody changed it since `current` was read; ConflictError if not."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceExistsError, ResourceModifiedError
    from azure.data.tables import UpdateMode

    try:
        if current is None:
            client.create_entity(values)
        else:
            client.update_entity(values, mode=UpdateMode.REPLACE, etag=current.metadata["etag"],
                                 match_condition=MatchConditions.IfNotModified)
    except (ResourceExistsError, ResourceModifiedError) as err:
        raise ConflictError("Another worker counted an outcome first.") from err
