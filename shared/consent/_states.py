"""Single-use consent states: what the callback needs to finish a consent, kept for 10 minutes.

Table `ConsentStates` (docs/contract.md §6): PartitionKey `state`, RowKey the state value; columns
`connector`, `codeVerifier`, `expiresAt`, `usedAt`, and what the redemption must repeat exactly:
`nonce`, `redirectUri`, `scope`, `tenant`, `clientId`; `purpose` (`consent` or `reconnect`) and
`createdAt`. The verifier and nonce are useless without the authorization code, which never touches
storage, and the row is dead after one use or 10 minutes.

`take_state()` is the single use: it marks the row used with an ETag-guarded update, so of two
callbacks with the same state (a replayed URL, a double click) exactly one proceeds. It marks the row
used before the code is redeemed: a failed redemption does not make the state usable again. The stores
(`shared.adapters.consent_states`) only read, write and delete rows; the rules are here.

    ConsentStateError(kind=...)   unknown | reused | expired; `connector` when the row was found
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field, replace
from typing import Protocol

from shared.clock import iso, parse_iso
from shared.errors import ConflictError, InvalidInput

from ._pkce import looks_like_state

__all__ = [
    "ConsentState",
    "ConsentStateError",
    "ConsentStateStore",
    "CONSENT_STATE_LIFETIME",
    "take_state",
]

#: How long a consent link works (single-use, 10-minute TTL). Entra's own codes live 10 minutes too
#: (AADSTS70008), so a longer state would not help a slow sign-in.
CONSENT_STATE_LIFETIME = _dt.timedelta(minutes=10)

#: Expired states deleted by each consent start (the keep-alive's daily purge deletes the rest).
PURGE_PER_START = 20


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


class ConsentStateError(InvalidInput):
    """The callback's state cannot be used. `kind`: unknown | reused | expired; `connector` when known."""

    def __init__(self, kind: str, connector: str | None = None):
        super().__init__(f"consent state {kind}", code=f"ConsentState{kind.capitalize()}", field="(state)")
        self.kind = kind
        self.connector = connector


class ConsentStateStore(Protocol):
    def create(self, state: ConsentState) -> None: ...

    def get(self, state: str) -> ConsentState | None:
        """The row of `state` with its ETag, or None."""
        ...

    def replace(self, state: ConsentState) -> ConsentState:
        """Write `state` if its row is still at `state.etag`; raises ConflictError otherwise (or if gone)."""
        ...

    def purge_expired(self, *, before: _dt.datetime, limit: int | None = None) -> int:
        """Delete rows that expired before `before` (at most `limit` of them); returns how many."""
        ...


def take_state(store: ConsentStateStore, value: str, *, now: _dt.datetime) -> ConsentState:
    """Mark `value` used and return its row; raises ConsentStateError (unknown | reused | expired).

    One attempt, no retry: whoever changed the row first used it.
    """
    if not looks_like_state(value):
        raise ConsentStateError("unknown")  # before any storage call
    row = store.get(value)
    if row is None:
        raise ConsentStateError("unknown")
    if row.used_at:
        raise ConsentStateError("reused", row.connector)
    expires = parse_iso(row.expires_at)
    if expires is None or expires <= now:
        raise ConsentStateError("expired", row.connector)
    try:
        return store.replace(replace(row, used_at=iso(now, timespec="seconds")))
    except ConflictError:
        raise ConsentStateError("reused", row.connector) from None
