"""The SyncLedger: what happened to each host entity in BC (docs/storage.md), as a port with a Table
Storage adapter and an in-memory fake that keep the same ETag rules.

Table `SyncLedger`, PartitionKey `{connector}|{type}`, RowKey the host id through `table_key()`.
Columns: `bcId`, `bcNumber`, `version` (JSON text of the host's stamp last applied), `contentHash`,
`status`, `lastError` (JSON), `attemptId`, `attemptMessageId`, `attemptStartedAt`, `attempts`,
`mayExist`, `updatedAt`, `details` (JSON), and for a permanently failed message `queue`, `failedAt`,
`failedVersion` and its original text in `message` (split over `message`, `message1`, … because a
string property holds 32 Ki characters and a queue message up to 64 KiB).

Statuses:
    pending   an attempt holds the row (claimed, ETag-guarded); found by another attempt it means
              "maybe unfinished": a BC look-up by key comes before any create
    synced    BC has the content of `version`/`contentHash`
    retry     the last attempt ended with a transient error; `mayExist` says whether BC may have acted
    failed    permanent failure; `lastError` says why, `message` keeps the text for replay
    parked    the connector needs reconnecting; the message waits in `Parked`
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = [
    "LedgerRow",
    "Ledger",
    "LedgerConflict",
    "TableLedger",
    "InMemoryLedger",
    "PENDING",
    "SYNCED",
    "RETRY",
    "FAILED",
    "PARKED",
    "partition_of",
]

PENDING, SYNCED, RETRY, FAILED, PARKED = "pending", "synced", "retry", "failed", "parked"

_CHUNK = 30_000  # characters per string property (limit: 64 KiB of UTF-16 = 32,768 characters)
_MAX_CHUNKS = 8


class LedgerConflict(Exception):
    """The row was created, changed or deleted by someone else since it was read: read again, decide again."""


@dataclass
class LedgerRow:
    connector: str
    type: str
    host_id: str
    status: str = ""
    bc_id: str | None = None
    bc_number: str | None = None
    version: str | None = None
    content_hash: str | None = None
    last_error: dict | None = None
    attempt_id: str | None = None
    attempt_message_id: str | None = None
    attempt_started_at: str | None = None
    attempts: int = 0
    may_exist: bool = False
    details: dict = field(default_factory=dict)
    queue: str | None = None
    message: str | None = None
    failed_at: str | None = None
    failed_version: str | None = None
    updated_at: str = ""
    etag: str | None = None

    def copy(self, **changes: Any) -> "LedgerRow":
        return replace(copy.deepcopy(self), **changes)


def partition_of(connector: str, kind: str) -> str:
    return f"{connector}|{kind}"


class Ledger(Protocol):
    def get(self, connector: str, kind: str, host_id: str) -> LedgerRow | None: ...

    def create(self, row: LedgerRow) -> LedgerRow:
        """Insert; LedgerConflict if the row exists."""
        ...

    def update(self, row: LedgerRow) -> LedgerRow:
        """Replace, guarded by `row.etag`; LedgerConflict if it changed or vanished."""
        ...

    def list_failed(self, connector: str) -> list[LedgerRow]:
        """Failed rows that keep their message, oldest failure first."""
        ...


# -- entity mapping (shared, so the fake enforces the table's rules) ---------------------------------


def _to_entity(row: LedgerRow) -> dict[str, Any]:
    from shared.adapters import table_key

    entity: dict[str, Any] = {
        "PartitionKey": partition_of(row.connector, row.type),
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


def _from_entity(entity: dict[str, Any], etag: str | None) -> LedgerRow:
    connector, _, kind = str(entity["PartitionKey"]).partition("|")
    message = None
    chunks = int(entity.get("messageChunks") or 0)
    if chunks:
        message = "".join(str(entity.get("message" if i == 0 else f"message{i}") or "") for i in range(chunks))
    from shared.adapters import from_table_key

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


class TableLedger:
    """The ledger in Azure Table Storage (or Azurite); the caller passes a client of an existing table."""

    def __init__(self, table: "TableClient") -> None:
        self._table = table

    def get(self, connector: str, kind: str, host_id: str) -> LedgerRow | None:
        from azure.core.exceptions import ResourceNotFoundError

        from shared.adapters import table_key

        try:
            entity = self._table.get_entity(partition_of(connector, kind), table_key(host_id))
        except ResourceNotFoundError:
            return None
        return _from_entity(entity, entity.metadata.get("etag"))

    def create(self, row: LedgerRow) -> LedgerRow:
        from azure.core.exceptions import ResourceExistsError

        entity = _to_entity(row)
        try:
            meta = self._table.create_entity(entity)
        except ResourceExistsError as exc:
            raise LedgerConflict(f"ledger row {entity['PartitionKey']}/{row.host_id} already exists") from exc
        return _from_entity(entity, meta.get("etag"))

    def update(self, row: LedgerRow) -> LedgerRow:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        if not row.etag:
            raise ValueError("update() needs the etag of the row it replaces; read it with get() first")
        entity = _to_entity(row)
        try:
            meta = self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=row.etag,
                                             match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise LedgerConflict(f"ledger row {entity['PartitionKey']}/{row.host_id} changed meanwhile") from exc
        return _from_entity(entity, meta.get("etag"))

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


class InMemoryLedger:
    """The same rules (ETags, conflicts, chunking) in a dict, for use-case tests."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def _key(self, row: LedgerRow) -> tuple[str, str]:
        entity = _to_entity(row)
        return entity["PartitionKey"], entity["RowKey"]

    def get(self, connector: str, kind: str, host_id: str) -> LedgerRow | None:
        from shared.adapters import table_key

        with self._lock:
            found = self._rows.get((partition_of(connector, kind), table_key(host_id)))
        return None if found is None else _from_entity(copy.deepcopy(found[0]), found[1])

    def create(self, row: LedgerRow) -> LedgerRow:
        entity = _to_entity(row)
        key = (entity["PartitionKey"], entity["RowKey"])
        with self._lock:
            if key in self._rows:
                raise LedgerConflict(f"ledger row {key} already exists")
            etag = f'W/"{next(self._counter)}"'
            self._rows[key] = (entity, etag)
        return _from_entity(copy.deepcopy(entity), etag)

    def update(self, row: LedgerRow) -> LedgerRow:
        if not row.etag:
            raise ValueError("update() needs the etag of the row it replaces; read it with get() first")
        entity = _to_entity(row)
        key = (entity["PartitionKey"], entity["RowKey"])
        with self._lock:
            current = self._rows.get(key)
            if current is None or current[1] != row.etag:
                raise LedgerConflict(f"ledger row {key} changed meanwhile")
            etag = f'W/"{next(self._counter)}"'
            self._rows[key] = (entity, etag)
        return _from_entity(copy.deepcopy(entity), etag)

    def list_failed(self, connector: str) -> list[LedgerRow]:
        with self._lock:
            rows = [(copy.deepcopy(e), t) for (pk, _), (e, t) in self._rows.items()
                    if pk.startswith(f"{connector}|")]
        return _failed_sorted(_from_entity(e, t) for e, t in rows)

    def rows(self) -> list[LedgerRow]:
        """Every row (tests)."""
        with self._lock:
            items = [(copy.deepcopy(e), t) for e, t in self._rows.values()]
        return [_from_entity(e, t) for e, t in items]
