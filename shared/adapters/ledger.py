"""The SyncLedger: the export's `Ledger` port on Azure Table Storage, and its in-memory twin.

The only code that knows how a ledger row is stored (docs/storage.md):

Table `SyncLedger`, PartitionKey `{connector}|{type}`, RowKey the host id through `table_key()`.
Columns: `hostId`, `bcId`, `bcNumber`, `version` (JSON text of the host's stamp last applied),
`contentHash`, `status`, `lastError` (JSON), `attemptId`, `attemptMessageId`, `attemptStartedAt`,
`attempts`, `mayExist`, `updatedAt`, `details` (JSON), and for a permanently failed message `queue`,
`failedAt`, `failedVersion` and its original text in `message` (split over `message`, `message1`, …
because a string property holds 32 Ki characters and a queue message up to 64 KiB).

Both adapters also answer the expense import's `projects(connector)`: the host projects by the
dimension value code the projects export wrote to `bcNumber` of partition `{connector}|project`.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import threading
from typing import TYPE_CHECKING, Any, Iterable

from shared.adapters._tables import from_table_key, table_key
from shared.errors import ConflictError
from shared.expenses import HostProject
from shared.exports import FAILED, LedgerRow

if TYPE_CHECKING:  # pragma: no cover - typing only; azure.* is imported where it is used (cold start)
    from azure.data.tables import TableClient

__all__ = ["TableLedger", "InMemoryLedger", "TABLE"]

log = logging.getLogger(__name__)

TABLE = "SyncLedger"
_PROJECT = "project"
# Characters per string property: the limit is 64 KiB of UTF-16 (32,768 code units), and a character outside
# the Basic Multilingual Plane (an emoji) takes two units, so 16,000 characters always fit.
_CHUNK = 16_000
_MAX_CHUNKS = 8

Entity = dict[str, Any]


def _partition(connector: str, kind: str) -> str:
    return f"{connector}|{kind}"


def _to_entity(row: LedgerRow) -> Entity:
    entity: Entity = {
        "PartitionKey": _partition(row.connector, row.type),
        "RowKey": table_key(row.host_id),
        "hostId": row.host_id,
        "status": row.status,
        "bcId": row.bc_id,
        "bcNumber": row.bc_number,
        "version": row.version,
        "contentHash": row.content_hash,
        "lastError": json.dumps(row.last_error, ensure_ascii=False) if row.last_error else None,
        "attemptId": row.attempt_id,
        "attemptMessageId": row.attempt_message_id,
        "attemptStartedAt": row.attempt_started_at,
        "attempts": int(row.attempts),
        "mayExist": bool(row.may_exist),
        "details": json.dumps(row.details, ensure_ascii=False, sort_keys=True) if row.details else None,
        "queue": row.queue,
        "failedAt": row.failed_at,
        "failedVersion": row.failed_version,
        "updatedAt": row.updated_at,
    }
    if row.message is not None:
        chunks = [row.message[i:i + _CHUNK] for i in range(0, len(row.message), _CHUNK)] or [""]
        if len(chunks) > _MAX_CHUNKS:
            raise ValueError("a message of %d characters does not fit a ledger row" % len(row.message))
        entity["messageChunks"] = len(chunks)
        for index, chunk in enumerate(chunks):
            entity["message" if index == 0 else f"message{index}"] = chunk
    return {k: v for k, v in entity.items() if v is not None}


def _from_entity(entity: Entity, etag: str | None) -> LedgerRow:
    connector, _, kind = str(entity["PartitionKey"]).partition("|")
    message = None
    chunks = int(entity.get("messageChunks") or 0)
    if chunks:
        message = "".join(str(entity.get("message" if i == 0 else f"message{i}") or "") for i in range(chunks))
    return LedgerRow(
        connector=connector,
        type=kind,
        host_id=entity.get("hostId") or from_table_key(entity["RowKey"]),
        status=entity.get("status", ""),
        bc_id=entity.get("bcId"),
        bc_number=entity.get("bcNumber"),
        version=entity.get("version"),
        content_hash=entity.get("contentHash"),
        last_error=json.loads(entity["lastError"]) if entity.get("lastError") else None,
        attempt_id=entity.get("attemptId"),
        attempt_message_id=entity.get("attemptMessageId"),
        attempt_started_at=entity.get("attemptStartedAt"),
        attempts=int(entity.get("attempts") or 0),
        may_exist=bool(entity.get("mayExist")),
        details=json.loads(entity["details"]) if entity.get("details") else {},
        queue=entity.get("queue"),
        message=message,
        failed_at=entity.get("failedAt"),
        failed_version=entity.get("failedVersion"),
        updated_at=entity.get("updatedAt", ""),
        etag=etag,
    )


def _failed_sorted(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    return sorted((r for r in rows if r.status == FAILED and r.message is not None),
                  key=lambda r: (r.failed_at or "", r.type, r.host_id))


def _project_map(connector: str, rows: Iterable[tuple[str, str]]) -> dict[str, HostProject]:
    """Host projects by dimension value code (upper-case, as BC stores Code fields), from (RowKey, code)
    pairs in RowKey order; of two host projects on one value, the first wins (expenses cannot tell them
    apart)."""
    out: dict[str, HostProject] = {}
    for row_key, code in sorted(rows):
        key = code.strip().upper()
        host_id = from_table_key(row_key)
        if not key:
            continue
        if key in out and out[key].id != host_id:
            log.warning("Connector %s: projects %s and %s both map to dimension value %s; expenses go to %s",
                        connector, out[key].id, host_id, key, out[key].id)
            continue
        out[key] = HostProject(host_id, key)
    return out


def _require_etag(row: LedgerRow) -> str:
    if not row.etag:
        raise ValueError("update() needs the etag of the row it replaces; read it with get() first")
    return row.etag


# -- the conditional writes (to be swapped for the shared helpers of shared.adapters) -----------------


def _insert(table: "TableClient", entity: Entity) -> str | None:
    """Create the entity; ConflictError when it exists. Its new ETag."""
    from azure.core.exceptions import ResourceExistsError

    try:
        return table.create_entity(entity).get("etag")
    except ResourceExistsError as exc:
        raise ConflictError(f"ledger row {entity['PartitionKey']}/{entity.get('hostId')} already exists") from exc


def _replace_if_unchanged(table: "TableClient", entity: Entity, etag: str) -> str | None:
    """Replace the entity if its ETag is still `etag`; ConflictError (412, or gone) otherwise. Its new ETag."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
    from azure.data.tables import UpdateMode

    try:
        return table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag,
                                   match_condition=MatchConditions.IfNotModified).get("etag")
    except (ResourceModifiedError, ResourceNotFoundError) as exc:
        raise ConflictError(f"ledger row {entity['PartitionKey']}/{entity.get('hostId')} changed meanwhile") from exc


class TableLedger:
    """The ledger in Azure Table Storage (or Azurite); the caller passes a client of an existing table."""

    def __init__(self, table: "TableClient") -> None:
        self._table = table

    def get(self, connector: str, kind: str, host_id: str) -> LedgerRow | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(_partition(connector, kind), table_key(host_id))
        except ResourceNotFoundError:
            return None
        return _from_entity(entity, entity.metadata.get("etag"))

    def create(self, row: LedgerRow) -> LedgerRow:
        entity = _to_entity(row)
        return _from_entity(entity, _insert(self._table, entity))

    def update(self, row: LedgerRow) -> LedgerRow:
        etag = _require_etag(row)
        entity = _to_entity(row)
        return _from_entity(entity, _replace_if_unchanged(self._table, entity, etag))

    def list_failed(self, connector: str) -> list[LedgerRow]:
        from azure.core.exceptions import ResourceNotFoundError

        prefix = f"{connector}|"
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        try:
            rows = self._table.query_entities(
                "PartitionKey ge @lo and PartitionKey lt @hi and status eq @failed",
                parameters={"lo": prefix, "hi": upper, "failed": FAILED})
            return _failed_sorted(_from_entity(e, e.metadata.get("etag")) for e in rows)
        except ResourceNotFoundError:
            return []

    def projects(self, connector: str) -> dict[str, HostProject]:
        """The expense import's project map: one read of partition `{connector}|project`."""
        from azure.core.exceptions import ResourceNotFoundError

        try:
            rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": _partition(connector, _PROJECT)},
                                              select=["RowKey", "bcNumber"])
            return _project_map(connector, [(r["RowKey"], str(r["bcNumber"])) for r in rows if r.get("bcNumber")])
        except ResourceNotFoundError:  # no project exported yet: the table may not exist
            return {}


class InMemoryLedger:
    """The same rules (ETags, conflicts, chunking) in a dict, for use-case tests."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[Entity, str]] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def get(self, connector: str, kind: str, host_id: str) -> LedgerRow | None:
        with self._lock:
            found = self._rows.get((_partition(connector, kind), table_key(host_id)))
        return None if found is None else _from_entity(copy.deepcopy(found[0]), found[1])

    def create(self, row: LedgerRow) -> LedgerRow:
        entity = _to_entity(row)
        key = (entity["PartitionKey"], entity["RowKey"])
        with self._lock:
            if key in self._rows:
                raise ConflictError(f"ledger row {key} already exists")
            etag = f'W/"{next(self._counter)}"'
            self._rows[key] = (entity, etag)
        return _from_entity(copy.deepcopy(entity), etag)

    def update(self, row: LedgerRow) -> LedgerRow:
        etag = _require_etag(row)
        entity = _to_entity(row)
        key = (entity["PartitionKey"], entity["RowKey"])
        with self._lock:
            current = self._rows.get(key)
            if current is None or current[1] != etag:
                raise ConflictError(f"ledger row {key} changed meanwhile")
            new_etag = f'W/"{next(self._counter)}"'
            self._rows[key] = (entity, new_etag)
        return _from_entity(copy.deepcopy(entity), new_etag)

    def list_failed(self, connector: str) -> list[LedgerRow]:
        with self._lock:
            rows = [(copy.deepcopy(e), t) for (pk, _), (e, t) in self._rows.items()
                    if pk.startswith(f"{connector}|")]
        return _failed_sorted(_from_entity(e, t) for e, t in rows)

    def projects(self, connector: str) -> dict[str, HostProject]:
        with self._lock:
            rows = [(rk, str(e["bcNumber"])) for (pk, rk), (e, _) in self._rows.items()
                    if pk == _partition(connector, _PROJECT) and e.get("bcNumber")]
        return _project_map(connector, rows)

    def rows(self) -> list[LedgerRow]:
        """Every row (tests)."""
        with self._lock:
            items = [(copy.deepcopy(e), t) for e, t in self._rows.values()]
        return [_from_entity(e, t) for e, t in items]
