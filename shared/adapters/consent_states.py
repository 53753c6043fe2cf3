"""Single-use consent states (`shared.consent.ConsentStateStore`) in table `ConsentStates`, and their
in-memory twin. PartitionKey `state`, RowKey the state value; the columns are listed in
`shared.consent._states`. A stale ETag on `replace` is `shared.errors.ConflictError`."""

from __future__ import annotations

import datetime as _dt
import itertools
import threading
from dataclasses import replace as _replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from shared.clock import iso, parse_iso
from shared.consent import ConsentState
from shared.errors import ConflictError

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = ["TableConsentStateStore", "InMemoryConsentStateStore", "STATE_PARTITION"]

STATE_PARTITION = "state"


def _to_entity(s: ConsentState) -> dict[str, Any]:
    entity = {"PartitionKey": STATE_PARTITION, "RowKey": s.state, "connector": s.connector,
              "codeVerifier": s.code_verifier, "nonce": s.nonce, "redirectUri": s.redirect_uri, "scope": s.scope,
              "tenant": s.tenant, "clientId": s.client_id, "purpose": s.purpose, "createdAt": s.created_at,
              "expiresAt": s.expires_at, "usedAt": s.used_at}
    return {k: v for k, v in entity.items() if v is not None}


def _from_entity(e: Mapping[str, Any], etag: str | None) -> ConsentState:
    return ConsentState(state=e["RowKey"], connector=e.get("connector", ""), code_verifier=e.get("codeVerifier", ""),
                        nonce=e.get("nonce", ""), redirect_uri=e.get("redirectUri", ""), scope=e.get("scope", ""),
                        tenant=e.get("tenant", ""), client_id=e.get("clientId", ""),
                        purpose=e.get("purpose", "consent"), created_at=e.get("createdAt", ""),
                        expires_at=e.get("expiresAt", ""), used_at=e.get("usedAt"), etag=etag)


def _conflict(state: ConsentState) -> ConflictError:
    return ConflictError(f"Consent state of connector '{state.connector}' changed since it was read.")


class TableConsentStateStore:
    """Consent states in Azure Table Storage."""

    def __init__(self, table: "TableClient"):
        self._table = table

    def create(self, state: ConsentState) -> None:
        self._table.create_entity(_to_entity(state))

    def get(self, state: str) -> ConsentState | None:
        # azure.* imported on use: the worker imports every blueprint at cold start.
        from azure.core.exceptions import ResourceNotFoundError

        try:
            entity = self._table.get_entity(STATE_PARTITION, state)
        except ResourceNotFoundError:
            return None
        return _from_entity(entity, entity.metadata.get("etag"))

    def replace(self, state: ConsentState) -> ConsentState:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            meta = self._table.update_entity(_to_entity(state), mode=UpdateMode.REPLACE, etag=state.etag,
                                             match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError) as exc:
            raise _conflict(state) from exc
        return _replace(state, etag=meta.get("etag"))

    def purge_expired(self, *, before: _dt.datetime, limit: int | None = None) -> int:
        found = self._table.query_entities("PartitionKey eq @pk and expiresAt lt @cutoff",
                                           parameters={"pk": STATE_PARTITION, "cutoff": iso(before, timespec="seconds")},
                                           select=["PartitionKey", "RowKey"], results_per_page=limit)
        rows = list(itertools.islice(found, limit))
        for row in rows:
            self._table.delete_entity(partition_key=STATE_PARTITION, row_key=row["RowKey"])
        return len(rows)


class InMemoryConsentStateStore:
    """The same semantics in a dict, for use-case tests."""

    def __init__(self) -> None:
        self._rows: dict[str, ConsentState] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def create(self, state: ConsentState) -> None:
        with self._lock:
            if state.state in self._rows:
                raise ConflictError("duplicate consent state")
            self._rows[state.state] = _replace(state, etag=self._etag())

    def get(self, state: str) -> ConsentState | None:
        with self._lock:
            return self._rows.get(state)

    def replace(self, state: ConsentState) -> ConsentState:
        with self._lock:
            current = self._rows.get(state.state)
            if current is None or current.etag != state.etag:
                raise _conflict(state)
            stored = _replace(state, etag=self._etag())
            self._rows[state.state] = stored
            return stored

    def purge_expired(self, *, before: _dt.datetime, limit: int | None = None) -> int:
        with self._lock:
            dead = [k for k, v in self._rows.items() if (parse_iso(v.expires_at) or before) < before][:limit]
            for key in dead:
                del self._rows[key]
            return len(dead)

    def rows(self) -> Iterable[ConsentState]:
        with self._lock:
            return list(self._rows.values())

    def _etag(self) -> str:
        return 'W/"%d"' % next(self._counter)
