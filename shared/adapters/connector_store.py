"""The ConnectorStore port on Azure Table Storage, and its in-memory twin (one contract suite runs both).

Rows live in table `Connectors`, PartitionKey "connector", RowKey the connector name (docs/contract.md §6).
Settings and stats are stored as JSON strings; status, companyId, companyName, companyCountry, taxMode,
refreshTokenExpiresAt, createdAt and updatedAt are plain columns so operators and the keep-alive timer
can filter on them. Updates replace the whole row and are guarded by its ETag: a stale one raises
`ConflictError`, so callers re-read and decide again (`shared.guarded.guarded_update`). Timestamps are
the caller's (use cases stamp with their own clock); the store only fills blanks.

The settings document is parsed here, once per read, into `ConnectorSettings`.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable

from shared.adapters._tables import ensure_table
from shared.clock import SYSTEM_CLOCK, Clock, iso
from shared.connectors import ConnectorRecord, FieldError, SettingsInvalid, parse_connector_settings
from shared.adapters.secrets import client_secret_name
from shared.errors import ConflictError, TooLarge
from shared.jsontypes import JsonObject

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["TableConnectorStore", "InMemoryConnectorStore", "CONNECTORS_TABLE", "CONNECTOR_PARTITION"]

log = logging.getLogger(__name__)

CONNECTORS_TABLE = "Connectors"
CONNECTOR_PARTITION = "connector"

#: Table Storage limits (Learn, "Understanding the Table service data model"): a String property holds
#: up to 64 KiB (UTF-16, so 32 Ki characters); an entity, all properties included, up to 1 MiB.
MAX_STRING_PROPERTY_BYTES = 64 * 1024
MAX_ENTITY_BYTES = 1024 * 1024

_SCHEMA_VERSION = 1
_FORBIDDEN_KEY_CHARS = set("/\\#?")

#: An entity as the table returns it: plain columns and the JSON strings of settings and stats.
Entity = dict[str, str | int | None]


# --------------------------------------------------------------------------------------------------
# Mapping between records and table entities (shared by both implementations, so the twin enforces
# the same JSON and size rules as the table).


def _with_timestamps(record: ConnectorRecord, clock: Clock) -> ConnectorRecord:
    # Use cases stamp records with their own (injectable) clock; the store only fills blanks.
    if record.created_at and record.updated_at:
        return record
    now = iso(clock.now(), timespec="seconds")
    return replace(record, created_at=record.created_at or now, updated_at=record.updated_at or now)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name or len(name) > 255:
        raise ValueError("connector name must be a non-empty string of at most 255 characters")
    if any(ch in _FORBIDDEN_KEY_CHARS or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in name):
        raise ValueError("connector name %r contains a character Table Storage keys do not allow" % name)


def _to_entity(record: ConnectorRecord) -> Entity:
    _check_name(record.name)
    try:
        settings = json.dumps(record.settings.to_document(), ensure_ascii=False, separators=(",", ":"),
                              sort_keys=True)
        stats = json.dumps(record.stats, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "connector '%s': settings and stats must be JSON-serialisable (%s)" % (record.name, exc)
        ) from exc
    entity: Entity = {
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
        "clientSecretName": record.client_secret_name if record.client_secret_source == "connector" else None,
        "taxMode": record.tax_mode,
        "refreshTokenExpiresAt": record.refresh_token_expires_at,
        "createdAt": record.created_at,
        "updatedAt": record.updated_at,
    }
    # Table Storage has no null: an absent property is the null. Replace-mode writes drop old values.
    entity = {k: v for k, v in entity.items() if v is not None}
    _check_size(record.name, entity)
    return entity


def _sizes(entity: Entity) -> dict[str, int]:
    """Each property's size as stored (Learn, "Understanding the Table service data model": 8 bytes plus
    the name in UTF-16 per property; strings 4 bytes plus UTF-16, other types 8)."""
    sizes = {}
    for key, value in entity.items():
        if key in ("PartitionKey", "RowKey"):
            continue
        value_size = 4 + len(value.encode("utf-16-le", "surrogatepass")) if isinstance(value, str) else 8
        sizes[key] = 8 + len(key) * 2 + value_size
    return sizes


def _biggest_settings(entity: Entity) -> list[tuple[str, int]]:
    """The settings document's fields by their share of the stored JSON, largest first (dotted paths)."""
    document = json.loads(str(entity.get("settings") or "{}"))
    out: list[tuple[str, int]] = []

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict) and value:
            for key, child in value.items():
                walk(child, f"{path}.{key}" if path else key)
            return
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        out.append((path, len(text.encode("utf-16-le", "surrogatepass"))))

    walk(document, "")
    return sorted(out, key=lambda item: (-item[1], item[0]))


def _check_size(name: str, entity: Entity) -> None:
    sizes = _sizes(entity)
    total = 4 + (len(str(entity["PartitionKey"])) + len(str(entity["RowKey"]))) * 2 + sum(sizes.values())
    too_long = {key: len(value.encode("utf-16-le", "surrogatepass")) for key, value in entity.items()
                if isinstance(value, str)
                and len(value.encode("utf-16-le", "surrogatepass")) > MAX_STRING_PROPERTY_BYTES}
    if not too_long and total <= MAX_ENTITY_BYTES:
        return
    if too_long:
        what = "; ".join(f"{key} takes {size} bytes as stored" for key, size in too_long.items())
        limit = f"over Table Storage's limit of {MAX_STRING_PROPERTY_BYTES} bytes per string property"
    else:
        what = f"the row takes about {total} bytes"
        limit = f"over Table Storage's limit of {MAX_ENTITY_BYTES} bytes per entity"
    fields = tuple(key for key in too_long if key != "settings")
    if "settings" in too_long or not too_long:
        biggest = _biggest_settings(entity)[:3]
        fields += tuple(path for path, _ in biggest)
        what += " (the biggest settings: " + ", ".join(f"{path} {size} bytes" for path, size in biggest) + ")"
    raise TooLarge(f"Connector '{name}': {what}, {limit}. Shorten the biggest fields.",
                   fields=fields or ("settings",), code="ConnectorRecordTooLarge")


def _from_entity(entity: Entity, etag: str | None) -> ConnectorRecord:
    name = str(entity["RowKey"])
    document = json.loads(str(entity.get("settings") or "{}"))
    try:
        settings = parse_connector_settings(document)
    except SettingsInvalid as err:
        # Saved documents were valid when saved; one that no longer parses (a rule added since) must be
        # saved again, and says so wherever the connector is used.
        raise SettingsInvalid([FieldError(
            "connector", f"The stored settings of connector '{name}' cannot be read ({err}); save the "
                         "connector again.")]) from err
    stats: JsonObject = json.loads(str(entity.get("stats") or "{}"))
    return ConnectorRecord(
        name=name,
        settings=settings,
        status=str(entity.get("status") or ""),
        company_id=_text(entity.get("companyId")),
        company_name=_text(entity.get("companyName")),
        company_country=_text(entity.get("companyCountry")),
        client_secret_source=_text(entity.get("clientSecretSource")),
        client_secret_name=_secret_name(name, entity),
        tax_mode=_text(entity.get("taxMode")),
        refresh_token_expires_at=_text(entity.get("refreshTokenExpiresAt")),
        stats=stats,
        created_at=str(entity.get("createdAt") or ""),
        updated_at=str(entity.get("updatedAt") or ""),
        etag=etag,
    )


def _written(record: ConnectorRecord, etag: str | None) -> ConnectorRecord:
    """The record as written: its settings are already parsed, so they are not read back from the JSON."""
    return replace(record, stats=copy.deepcopy(record.stats), etag=etag)


def _secret_name(name: str, entity: Entity) -> str | None:
    """The secret the row uses; rows written before generations name none and use the old fixed name."""
    if entity.get("clientSecretSource") != "connector":
        return None
    return _text(entity.get("clientSecretName")) or client_secret_name(name)


def _text(value: str | int | None) -> str | None:
    return None if value is None else str(value)


def _readable(rows: Iterable[tuple[Entity, str | None]]) -> list[ConnectorRecord]:
    """The records of `rows` whose settings still parse; the others are logged and left out of lists."""
    records = []
    for entity, etag in rows:
        try:
            records.append(_from_entity(entity, etag))
        except SettingsInvalid as err:
            log.error("Connector %s left out of the list: %s", entity.get("RowKey"), err)
    return sorted(records, key=lambda r: r.name)


def _require_etag(record: ConnectorRecord) -> str:
    if not record.etag:
        raise ValueError(
            "update() of connector '%s' needs the etag of the record it changes: read it with get() first"
            % record.name
        )
    return record.etag


def _exists(name: str) -> ConflictError:
    return ConflictError("Connector '%s' already exists." % name, code="ConnectorAlreadyExists",
                         details={"connector": name})


def _changed(name: str) -> ConflictError:
    return ConflictError("Connector '%s' was changed by someone else since it was read." % name)


def _deleted(name: str) -> ConflictError:
    return ConflictError("Connector '%s' was deleted since it was read." % name)


# --------------------------------------------------------------------------------------------------


class TableConnectorStore:
    """ConnectorStore on Azure Table Storage (or Azurite). Creates the table on first use.

    Raises the tree errors of the port, and azure.core.exceptions.HttpResponseError for service failures.
    """

    def __init__(self, table: "TableClient", *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._table = table
        self._clock = clock
        self._ready = False

    def _client(self) -> "TableClient":
        if not self._ready:
            ensure_table(self._table)
            self._ready = True
        return self._table

    # The Azure SDK is imported inside the methods: it is heavy, and the functions' cold start imports
    # this module through the composition root before any request needs storage.

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
        return _readable((row, row.metadata.get("etag")) for row in rows)

    def create(self, record: ConnectorRecord) -> ConnectorRecord:
        from azure.core.exceptions import ResourceExistsError

        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        try:
            meta = self._client().create_entity(entity)
        except ResourceExistsError as exc:
            raise _exists(record.name) from exc
        return _written(stored, meta.get("etag"))

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
            raise _changed(record.name) from exc
        except ResourceNotFoundError as exc:
            raise _deleted(record.name) from exc
        return _written(stored, meta.get("etag"))

    def delete(self, name: str, etag: str | None = None) -> bool:
        from azure.core import MatchConditions
        from azure.data.tables import TableTransactionError

        _check_name(name)
        options = {} if etag is None else {"etag": etag, "match_condition": MatchConditions.IfNotModified}
        # delete_entity() hides a 404; a one-operation transaction reports it, in one round trip.
        try:
            self._client().submit_transaction(
                [("delete", {"PartitionKey": CONNECTOR_PARTITION, "RowKey": name}, options)]
            )
        except TableTransactionError as exc:
            if exc.status_code == 404:
                return False
            if exc.status_code == 412:
                raise _changed(name) from exc
            raise
        return True

    def check_fits(self, record: ConnectorRecord) -> None:
        _to_entity(_with_timestamps(record, self._clock))


class InMemoryConnectorStore:
    """The same semantics as TableConnectorStore (etags, conflicts, size limits) in a dict, for tests."""

    def __init__(self, records: Iterable[ConnectorRecord] = (), *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._rows: dict[str, tuple[Entity, str]] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._counter = itertools.count(1)
        for record in records:
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
        return _readable((copy.deepcopy(entity), etag) for _, (entity, etag) in rows)

    def create(self, record: ConnectorRecord) -> ConnectorRecord:
        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        with self._lock:
            if record.name in self._rows:
                raise _exists(record.name)
            etag = self._etag()
            self._rows[record.name] = (entity, etag)
        return _written(stored, etag)

    def update(self, record: ConnectorRecord) -> ConnectorRecord:
        etag = _require_etag(record)
        stored = _with_timestamps(record, self._clock)
        entity = _to_entity(stored)
        with self._lock:
            current = self._rows.get(record.name)
            if current is None:
                raise _deleted(record.name)
            if current[1] != etag:
                raise _changed(record.name)
            new_etag = self._etag()
            self._rows[record.name] = (entity, new_etag)
        return _written(stored, new_etag)

    def delete(self, name: str, etag: str | None = None) -> bool:
        _check_name(name)
        with self._lock:
            current = self._rows.get(name)
            if current is None:
                return False
            if etag is not None and current[1] != etag:
                raise _changed(name)
            del self._rows[name]
            return True

    def check_fits(self, record: ConnectorRecord) -> None:
        _to_entity(_with_timestamps(record, self._clock))
