"""The refresh-token guard rows (`shared.tokens.TokenVersionStore`) in table `TokenVersions`, and their
in-memory twin; both answer a stale ETag with `shared.errors.ConflictError`."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Mapping

from shared.errors import ConflictError
from shared.tokens import REFRESH_TOKEN_ROW, TokenVersion

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = ["TableTokenVersionStore", "InMemoryTokenVersionStore"]


def _conflict(connector: str) -> ConflictError:
    return ConflictError(f"The refresh-token guard of connector '{connector}' changed since it was read.",
                         code="TokenVersionConflict")


def _to_entity(v: TokenVersion) -> dict[str, Any]:
    entity = {"PartitionKey": v.connector, "RowKey": REFRESH_TOKEN_ROW, "generation": v.generation,
              "grantId": v.grant_id, "consentedBy": v.consented_by, "consentedAt": v.consented_at,
              "refreshedAt": v.refreshed_at, "expiresAt": v.expires_at, "expiringNotice": v.expiring_notice}
    return {k: value for k, value in entity.items() if value is not None}


def _from_entity(entity: Mapping[str, Any], etag: str | None) -> TokenVersion:
    return TokenVersion(connector=entity["PartitionKey"], generation=int(entity.get("generation", 0)),
                        grant_id=entity.get("grantId", ""), consented_by=entity.get("consentedBy"),
                        consented_at=entity.get("consentedAt", ""), refreshed_at=entity.get("refreshedAt", ""),
                        expires_at=entity.get("expiresAt", ""), expiring_notice=entity.get("expiringNotice"),
                        etag=etag)


class TableTokenVersionStore:
    """Guard rows in Azure Table Storage (the caller creates the table)."""

    def __init__(self, table: "TableClient"):
        self._table = table

    def get(self, connector: str) -> TokenVersion | None:
        # azure.* imported on use: the worker imports every blueprint at cold start.
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
            raise _conflict(version.connector) from exc
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
                raise _conflict(version.connector)
            stored = replace(version, etag='W/"%d"' % next(self._counter))
            self._rows[version.connector] = stored
            return stored

    def delete(self, connector: str) -> None:
        with self._lock:
            self._rows.pop(connector, None)
