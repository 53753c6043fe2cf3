"""The ConnectorStore port, its Table Storage adapter and an in-memory fake.

Errors (all carry the connector `name`):

    ConnectorStoreError
     ├── ConnectorAlreadyExists    create() of a name that exists (Table Storage 409)
     ├── ConcurrentUpdateError     update() lost a race: the row changed (412) or was deleted (404)
     │                             since it was read; re-read and decide again
     └── ConnectorRecordTooLarge   settings/stats exceed Table Storage's limits (also a ValueError)

Rows live in table `Connectors`, PartitionKey "connector", RowKey the connector name (ARCHITECTURE §6).
Settings and stats are stored as JSON strings; status, companyId, companyName, companyCountry, taxMode,
refreshTokenExpiresAt, createdAt and updatedAt are plain columns so operators and the keep-alive timer
can filter on them. Updates replace the whole row and are guarded by its ETag (STYLE.md "Persistence
and idempotency"). Timestamps are the caller's (use cases stamp with their own clock); the store only
fills blanks.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Protocol

from shared.clock import iso, utc_now

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient, TableServiceClient

__all__ = [
    "ConnectorRecord",
    "ConnectorStore",
    "TableConnectorStore",
    "InMemoryConnectorStore",
    "ConnectorStoreError",
    "ConnectorAlreadyExists",
    "ConcurrentUpdateError",
    "ConnectorRecordTooLarge",
    "CONNECTORS_TABLE",
    "CONNECTOR_PARTITION",
]

CONNECTORS_TABLE = "Connectors"
CONNECTOR_PARTITION = "connector"

#: Table Storage limits (Learn, "Understanding the Table service data model"): a String property holds
#: up to 64 KiB (UTF-16, so 32 Ki characters); an entity, all properties included, up to 1 MiB.
MAX_STRING_PROPERTY_BYTES = 64 * 1024
MAX_ENTITY_BYTES = 1024 * 1024

_SCHEMA_VERSION = 1
_FORBIDDEN_KEY_CHARS = set("/\\#?")

Clock = Callable[[], datetime]


@dataclass
class ConnectorRecord:
    """One connector as stored: settings without secrets, status and resolved BC ids."""

    name: str
    settings: dict
    status: str  # consent_required | connected | reconnect_required | disabled
    company_id: str | None
    company_name: str | None
    tax_mode: str | None  # salesTax | vat
    refresh_token_expires_at: str | None
    stats: dict = field(default_factory=dict)
    company_country: str | None = None  # the company's country code: domestic vs abroad customers
    client_secret_source: str | None = None  # "connector" (own Key Vault secret) | "app" (bc-client-secret)
    created_at: str = ""  # ISO-8601 UTC; the caller's clock, or the store's when left empty
    updated_at: str = ""  # the caller sets it on each write; the store fills it only when empty
    etag: str | None = None


class ConnectorStoreError(Exception):
    """Base of the store's errors; `name` is the connector concerned."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name


class ConnectorAlreadyExists(ConnectorStoreError):
    """create() found a connector with that name already stored."""

    def __init__(self, name: str):
        super().__init__(name, "Connector '%s' already exists." % name)


class ConcurrentUpdateError(ConnectorStoreError):
    """The row changed or disappeared since it was read; re-read it and decide again."""


class ConnectorRecordTooLarge(ConnectorStoreError, ValueError):
    """The record would not fit in a Table Storage entity."""


class ConnectorStore(Protocol):
    """Port used by the use cases; see TableConnectorStore and InMemoryConnectorStore."""

    def get(self, name: str) -> ConnectorRecord | None: ...

    def list(self) -> list[ConnectorRecord]: ...

    def create(self, record: ConnectorRecord) -> ConnectorRecord: ...

    def update(self, record: ConnectorRecord) -> ConnectorRecord: ...

    def delete(self, name: str) -> bool: ...


# --------------------------------------------------------------------------------------------------
# Mapping between records and table entities (shared by both implementations, so the fake enforces
# the same JSON and size rules as the table).


def _stamp(clock: Clock) -> str:
    return iso(clock(), timespec="seconds")


def _with_timestamps(record: ConnectorRecord, clock: Clock) -> ConnectorRecord:
    # Use cases stamp records with their own (injectable) clock; the store only fills blanks.
    if record.created_at and record.updated_at:
        return record
    now = _stamp(clock)
    return replace(record, created_at=record.created_at or now, updated_at=record.updated_at or now)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or len(name) > 255:
        raise ValueError("connector name must be a non-empty string of at most 255 characters")
    if any(ch in _FORBIDDEN_KEY_CHARS or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in name):
        raise ValueError("connector name %r contains a character Table Storage keys do not allow" % name)


def _to_entity(record: ConnectorRecord) -> dict[str, Any]:
    _check_name(record.name)
    try:
        settings = json.dumps(record.settings, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        stats = json.dumps(record.stats, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "connector '%s': settings and stats must be JSON-serialisable (%s)" % (record.name, exc)
        ) from exc
    entity: dict[str, Any] = {
        "PartitionKey": CONNECTOR_PARTITION,
        "RowKey": record.name,
        "schemaVersion": _SCHEMA_VERSION,
        "settings": settings,
        "stats": stats,
        "status": record.status,
        "companyId": record.company_id,
        "companyName": record.company_name,
        "companyCountry": record.company_country,
        "clientSecretSource": record.client_secret_source,
        "taxMode": record.tax_mode,
        "refreshTokenExpiresAt": record.refresh_token_expires_at,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }
    # Table Storage has no null: an absent property is the null. Replace-mode writes drop old values.
    entity = {k: v for k, v in entity.items() if v is not None}
    _check_size(record.name, entity)
    return entity


def _check_size(name: str, entity: dict[str, Any]) -> None:
    # Size formula from Learn "Understanding the Table service data model" (entity size estimate):
    # 4 + len(PartitionKey + RowKey) * 2 + sum(8 + len(property name) * 2 + size of value).
    total = 4 + (len(entity["PartitionKey"]) + len(entity["RowKey"])) * 2
    for key, value in entity.items():
        if key in ("PartitionKey", "RowKey"):
            continue
        if isinstance(value, str):
            size = len(value.encode("utf-16-le"))
            if size > MAX_STRING_PROPERTY_BYTES:
                raise ConnectorRecordTooLarge(
                    name,
                    "Connector '%s': %s takes %d bytes as stored, over Table Storage's limit of %d bytes per "
                    "string property. Shorten it (for example notes or stored summaries)."
                    % (name, key, size, MAX_STRING_PROPERTY_BYTES),
                )
            value_size = 4 + size
        else:
            value_size = 8
        total += 8 + len(key) * 2 + value_size
    if total > MAX_ENTITY_BYTES:
        raise ConnectorRecordTooLarge(
            name,
            "Connector '%s' takes about %d bytes as stored, over Table Storage's limit of %d bytes per entity."
            % (name, total, MAX_ENTITY_BYTES),
        )


def _from_entity(entity: dict[str, Any], etag: str | None) -> ConnectorRecord:
    return ConnectorRecord(
        name=entity["RowKey"],
        settings=json.loads(entity.get("settings") or "{}"),
        status=entity.get("status", ""),
        company_id=entity.get("companyId"),
        company_name=entity.get("companyName"),
        company_country=entity.get("companyCountry"),
        client_secret_source=entity.get("clientSecretSource"),
        tax_mode=entity.get("taxMode"),
        refresh_token_expires_at=entity.get("refreshTokenExpiresAt"),
        stats=json.loads(entity.get("stats") or "{}"),
        created_at=entity.get("createdAt", ""),
        updated_at=entity.get("updatedAt", ""),
        etag=etag,
    )


def _require_etag(record: ConnectorRecord) -> str:
    if not record.etag:
        raise ValueError(
            "update() of connector '%s' needs the etag of the record it changes: read it with get() first"
            % record.name
        )
    return record.etag


# --------------------------------------------------------------------------------------------------


class TableConnectorStore:
    """ConnectorStore on Azure Table Storage (or Azurite). Creates the table on first use.

    Raises the errors above, and azure.core.exceptions.HttpResponseError for service failures.
    """

    def __init__(self, table: "TableClient", *, clock: Clock = utc_now):
        self._table = table
        self._clock = clock
        self._ready = False

    @classmethod
    def from_service(
        cls, service: "TableServiceClient", table_name: str = CONNECTORS_TABLE, *, clock: Clock = utc_now
    ) -> "TableConnectorStore":
        return cls(service.get_table_client(table_name), clock=clock)

    def _client(self) -> "TableClient":
        if not self._ready:
            from shared.adapters import ensure_table

            ensure_table(self._table)
            self._ready = True
        return self._table

    def get(self, name: str) -> ConnectorRecord | None:
        from azure.core.exceptions import ResourceNotFoundError

        _check_name(name)
        try:
            entity = self._client().get_entity(CONNECTOR_PARTITION, name)
        except ResourceNotFoundError:
            return None
        return _from_entity(entity, entity.metadata.get("etag"))

    def list(self) -> list[ConnectorRecord]:
        rows = self._client().query_entities("PartitionKey eq @pk", parameters={"pk": CONNECTOR_PARTITION})
        records = [_from_entity(row, row.metadata.get("etag")) for row in rows]
        return sorted(records, key=lambda r: r.name)

    def create(self, record: ConnectorRecord) -> ConnectorRecord:
        from azure.core.exceptions import ResourceExistsError

        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        try:
            meta = self._client().create_entity(entity)
        except ResourceExistsError as exc:
            raise ConnectorAlreadyExists(record.name) from exc
        return _from_entity(entity, meta.get("etag"))

    def update(self, record: ConnectorRecord) -> ConnectorRecord:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        etag = _require_etag(record)
        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        try:
            meta = self._client().update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except ResourceModifiedError as exc:
            raise ConcurrentUpdateError(
                record.name, "Connector '%s' was changed by someone else since it was read." % record.name
            ) from exc
        except ResourceNotFoundError as exc:
            raise ConcurrentUpdateError(
                record.name, "Connector '%s' was deleted since it was read." % record.name
            ) from exc
        return _from_entity(entity, meta.get("etag"))

    def delete(self, name: str) -> bool:
        from azure.data.tables import TableTransactionError

        _check_name(name)
        # delete_entity() hides a 404; a one-operation transaction reports it, in one round trip.
        try:
            self._client().submit_transaction(
                [("delete", {"PartitionKey": CONNECTOR_PARTITION, "RowKey": name})]
            )
        except TableTransactionError as exc:
            if exc.status_code == 404:
                return False
            raise
        return True


class InMemoryConnectorStore:
    """The same semantics as TableConnectorStore (etags, conflicts, size limits) in a dict, for tests."""

    def __init__(self, records: list[ConnectorRecord] | None = None, *, clock: Clock = utc_now):
        self._rows: dict[str, tuple[dict[str, Any], str]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._counter = itertools.count(1)
        for record in records or []:
            self.create(record)

    def _etag(self) -> str:
        return 'W/"%d"' % next(self._counter)

    def get(self, name: str) -> ConnectorRecord | None:
        _check_name(name)
        with self._lock:
            row = self._rows.get(name)
        return None if row is None else _from_entity(copy.deepcopy(row[0]), row[1])

    def list(self) -> list[ConnectorRecord]:
        with self._lock:
            rows = sorted(self._rows.items())
        return [_from_entity(copy.deepcopy(entity), etag) for _, (entity, etag) in rows]

    def create(self, record: ConnectorRecord) -> ConnectorRecord:
        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        with self._lock:
            if record.name in self._rows:
                raise ConnectorAlreadyExists(record.name)
            etag = self._etag()
            self._rows[record.name] = (entity, etag)
        return _from_entity(copy.deepcopy(entity), etag)

    def update(self, record: ConnectorRecord) -> ConnectorRecord:
        etag = _require_etag(record)
        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        with self._lock:
            current = self._rows.get(record.name)
            if current is None:
                raise ConcurrentUpdateError(
                    record.name, "Connector '%s' was deleted since it was read." % record.name
                )
            if current[1] != etag:
                raise ConcurrentUpdateError(
                    record.name, "Connector '%s' was changed by someone else since it was read." % record.name
                )
            new_etag = self._etag()
            self._rows[record.name] = (entity, new_etag)
        return _from_entity(copy.deepcopy(entity), new_etag)

    def delete(self, name: str) -> bool:
        _check_name(name)
        with self._lock:
            return self._rows.pop(name, None) is not None
