"""Single-use consent states: what the callback needs to finish a consent, kept for 10 minutes.

Table `ConsentStates` (ARCHITECTURE §6): PartitionKey `state`, RowKey the state value; columns
`connector`, `codeVerifier`, `expiresAt`, `usedAt`, and what the redemption must repeat exactly:
`nonce`, `redirectUri`, `scope`, `tenant`, `clientId`; `purpose` (`consent` or `reconnect`) and
`createdAt`. The verifier and nonce are useless without the authorization code, which never touches
storage, and the row is dead after one use or 10 minutes.

`take()` is the single use: it marks the row used with an ETag-guarded update, so of two callbacks
with the same state (a replayed URL, a double click) exactly one proceeds. It marks the row used
before the code is redeemed: a failed redemption does not make the state usable again.

    ConsentStateError(kind=...)   unknown | reused | expired; `connector` when the row was found
"""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Protocol

from shared.clock import parse_iso
from shared.tokens import iso

from ._pkce import looks_like_state

if TYPE_CHECKING:  # pragma: no cover
    from azure.data.tables import TableClient

__all__ = [
    "ConsentState",
    "ConsentStateError",
    "ConsentStateStore",
    "TableConsentStateStore",
    "InMemoryConsentStateStore",
    "CONSENT_STATE_LIFETIME",
    "STATE_PARTITION",
]

#: How long a consent link works (ARCHITECTURE §6: single-use, 10-minute TTL). Entra's own codes live
#: 10 minutes too (the sandbox's AADSTS70008), so a longer state would not help a slow sign-in.
CONSENT_STATE_LIFETIME = _dt.timedelta(minutes=10)
STATE_PARTITION = "state"


@dataclass(frozen=True)
class ConsentState:
    state: str
    connector: str
    code_verifier: str = field(repr=False)
    nonce: str = field(repr=False)
    redirect_uri: str
    scope: str  # space-separated, as sent to the authorize endpoint
    tenant: str
    client_id: str
    purpose: str
    created_at: str
    expires_at: str
    used_at: str | None = None
    etag: str | None = None

    @property
    def scopes(self) -> list[str]:
        return self.scope.split()


class ConsentStateError(Exception):
    """The callback's state cannot be used. `kind`: unknown | reused | expired."""

    def __init__(self, kind: str, connector: str | None = None):
        super().__init__(f"consent state {kind}")
        self.kind = kind
        self.connector = connector


class ConsentStateStore(Protocol):
    def create(self, state: ConsentState) -> None: ...

    def take(self, state: str, *, now: _dt.datetime) -> ConsentState:
        """Mark `state` used and return it; raises ConsentStateError."""
        ...

    def purge_expired(self, *, before: _dt.datetime) -> int:
        """Delete rows that expired before `before`; returns how many."""
        ...


def _to_entity(s: ConsentState) -> dict[str, Any]:
    entity = {"PartitionKey": STATE_PARTITION, "RowKey": s.state, "connector": s.connector,
              "codeVerifier": s.code_verifier, "nonce": s.nonce, "redirectUri": s.redirect_uri, "scope": s.scope,
              "tenant": s.tenant, "clientId": s.client_id, "purpose": s.purpose, "createdAt": s.created_at,
              "expiresAt": s.expires_at, "usedAt": s.used_at}
    return {k: v for k, v in entity.items() if v is not None}


def _from_entity(e: Any, etag: str | None) -> ConsentState:
    return ConsentState(state=e["RowKey"], connector=e.get("connector", ""), code_verifier=e.get("codeVerifier", ""),
                        nonce=e.get("nonce", ""), redirect_uri=e.get("redirectUri", ""), scope=e.get("scope", ""),
                        tenant=e.get("tenant", ""), client_id=e.get("clientId", ""),
                        purpose=e.get("purpose", "consent"), created_at=e.get("createdAt", ""),
                        expires_at=e.get("expiresAt", ""), used_at=e.get("usedAt"), etag=etag)


def _check(row: ConsentState | None, now: _dt.datetime) -> ConsentState:
    if row is None:
        raise ConsentStateError("unknown")
    if row.used_at:
        raise ConsentStateError("reused", row.connector)
    expires = parse_iso(row.expires_at)
    if expires is None or expires <= now:
        raise ConsentStateError("expired", row.connector)
    return row


class TableConsentStateStore:
    """Consent states in Azure Table Storage."""

    def __init__(self, table: "TableClient"):
        self._table = table

    def create(self, state: ConsentState) -> None:
        self._table.create_entity(_to_entity(state))

    def take(self, state: str, *, now: _dt.datetime) -> ConsentState:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        if not looks_like_state(state):
            raise ConsentStateError("unknown")
        try:
            entity = self._table.get_entity(STATE_PARTITION, state)
        except ResourceNotFoundError:
            raise ConsentStateError("unknown") from None
        row = _check(_from_entity(entity, entity.metadata.get("etag")), now)
        used = replace(row, used_at=iso(now))
        try:
            self._table.update_entity(_to_entity(used), mode=UpdateMode.REPLACE, etag=row.etag,
                                      match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            raise ConsentStateError("reused", row.connector) from None
        return used

    def purge_expired(self, *, before: _dt.datetime) -> int:
        rows = list(self._table.query_entities("PartitionKey eq @pk and expiresAt lt @cutoff",
                                               parameters={"pk": STATE_PARTITION, "cutoff": iso(before)},
                                               select=["PartitionKey", "RowKey"]))
        for row in rows:
            self._table.delete_entity(partition_key=STATE_PARTITION, row_key=row["RowKey"])
        return len(rows)


class InMemoryConsentStateStore:
    """The same semantics in a dict, for use-case tests."""

    def __init__(self) -> None:
        self._rows: dict[str, ConsentState] = {}
        self._lock = threading.Lock()

    def create(self, state: ConsentState) -> None:
        with self._lock:
            if state.state in self._rows:
                raise ValueError("duplicate state")
            self._rows[state.state] = state

    def take(self, state: str, *, now: _dt.datetime) -> ConsentState:
        if not looks_like_state(state):
            raise ConsentStateError("unknown")
        with self._lock:
            row = _check(self._rows.get(state), now)
            used = replace(row, used_at=iso(now))
            self._rows[state] = used
            return used

    def purge_expired(self, *, before: _dt.datetime) -> int:
        with self._lock:
            dead = [k for k, v in self._rows.items() if (parse_iso(v.expires_at) or before) < before]
            for key in dead:
                del self._rows[key]
            return len(dead)

    def rows(self) -> Iterable[ConsentState]:
        with self._lock:
            return list(self._rows.values())
