"""The guard row of a connector's refresh token: which generation is current, and since when.

Key Vault keeps the token itself (`connector-{name}-refresh-token`) but has no ETags on values, so a
write there cannot be made conditional. The row here can: table `TokenVersions`, PartitionKey = the
connector, RowKey `refresh-token`, columns `generation` (counts stored tokens), `grantId` (one per
consent), `consentedBy`, `consentedAt`, `refreshedAt`, `expiresAt` (90 days of inactivity after
`refreshedAt`), `expiringNotice` (the last `token_expiring` notice sent). Every write is
ETag-guarded; `TokenVersionConflict` means someone else wrote first: re-read and decide again.
No token, hash or other secret is stored in the row.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from shared import clock

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = [
    "TokenVersion",
    "TokenVersionStore",
    "TokenVersionConflict",
    "TableTokenVersionStore",
    "InMemoryTokenVersionStore",
    "REFRESH_TOKEN_ROW",
    "REFRESH_TOKEN_INACTIVITY",
    "iso",
]

REFRESH_TOKEN_ROW = "refresh-token"
#: Entra refresh tokens lapse after 90 days without use (bc_api.md §3; learn.microsoft.com
#: entra/identity-platform/refresh-tokens). Every redemption starts the 90 days again.
REFRESH_TOKEN_INACTIVITY = _dt.timedelta(days=90)


def iso(moment: _dt.datetime) -> str:
    """UTC, seconds precision, `Z`: sorts as text, so table filters can compare it."""
    return clock.iso(moment, timespec="seconds")


@dataclass(frozen=True)
class TokenVersion:
    connector: str
    generation: int
    grant_id: str
    consented_by: str | None
    consented_at: str
    refreshed_at: str
    expires_at: str
    expiring_notice: str | None = None
    etag: str | None = None  # None: not stored yet


class TokenVersionConflict(Exception):
    """The row changed (or appeared, or vanished) since it was read."""

    def __init__(self, connector: str):
        super().__init__(f"The refresh-token guard of connector '{connector}' changed since it was read.")
        self.connector = connector


class TokenVersionStore(Protocol):
    def get(self, connector: str) -> TokenVersion | None: ...

    def put(self, version: TokenVersion) -> TokenVersion:
        """Create (etag None) or replace (etag of the row read); raises TokenVersionConflict."""
        ...

    def delete(self, connector: str) -> None: ...


def _to_entity(v: TokenVersion) -> dict[str, Any]:
    entity = {"PartitionKey": v.connector, "RowKey": REFRESH_TOKEN_ROW, "generation": v.generation,
              "grantId": v.grant_id, "consentedBy": v.consented_by, "consentedAt": v.consented_at,
              "refreshedAt": v.refreshed_at, "expiresAt": v.expires_at, "expiringNotice": v.expiring_notice}
    return {k: value for k, value in entity.items() if value is not None}


def _from_entity(entity: Any, etag: str | None) -> TokenVersion:
    return TokenVersion(connector=entity["PartitionKey"], generation=int(entity.get("generation", 0)),
                        grant_id=entity.get("grantId", ""), consented_by=entity.get("consentedBy"),
                        consented_at=entity.get("consentedAt", ""), refreshed_at=entity.get("refreshedAt", ""),
                        expires_at=entity.get("expiresAt", ""), expiring_notice=entity.get("expiringNotice"),
                        etag=etag)


class TableTokenVersionStore:
    """Guard rows in Azure Table Storage (the table is created by the caller, `Services.table`)."""

    def __init__(self, table: "TableClient"):
        self._table = table

    def get(self, connector: str) -> TokenVersion | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(connector, REFRESH_TOKEN_ROW)
        except ResourceNotFoundError:
            return None
        return _from_entity(entity, entity.metadata.get("etag"))

    def put(self, version: TokenVersion) -> TokenVersion:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        entity = _to_entity(version)
        try:
            if version.etag is None:
                meta = self._table.create_entity(entity)
            else:
                meta = self._table.update_entity(entity, mode=UpdateMode.REPLACE, etag=version.etag,
                                                 match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as exc:
            raise TokenVersionConflict(version.connector) from exc
        return replace(version, etag=meta.get("etag"))

    def delete(self, connector: str) -> None:
        self._table.delete_entity(partition_key=connector, row_key=REFRESH_TOKEN_ROW)


class InMemoryTokenVersionStore:
    """The same semantics in a dict, for use-case tests."""

    def __init__(self) -> None:
        self._rows: dict[str, TokenVersion] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def get(self, connector: str) -> TokenVersion | None:
        with self._lock:
            return self._rows.get(connector)

    def put(self, version: TokenVersion) -> TokenVersion:
        with self._lock:
            current = self._rows.get(version.connector)
            if (current.etag if current else None) != version.etag:
                raise TokenVersionConflict(version.connector)
            stored = replace(version, etag='W/"%d"' % next(self._counter))
            self._rows[version.connector] = stored
            return stored

    def delete(self, connector: str) -> None:
        with self._lock:
            self._rows.pop(connector, None)
