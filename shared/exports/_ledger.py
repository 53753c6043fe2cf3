"""The ledger: what happened to each host entity in BC, as a row model and the port the export uses.

The adapters (`shared.adapters.ledger`: `TableLedger` on table `SyncLedger`, `InMemoryLedger`) are the
only code that knows how a row is stored.

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
from dataclasses import dataclass, field, replace
from typing import Protocol

from shared.jsontypes import JsonObject

__all__ = ["LedgerRow", "Ledger", "PENDING", "SYNCED", "RETRY", "FAILED", "PARKED"]

PENDING, SYNCED, RETRY, FAILED, PARKED = "pending", "synced", "retry", "failed", "parked"


@dataclass
class LedgerRow:
    """One host entity's row: where it is in BC, the last attempt, and a failed message's text."""

    connector: str
    type: str
    host_id: str
    status: str = ""
    bc_id: str | None = None
    bc_number: str | None = None
    version: str | None = None
    content_hash: str | None = None
    last_error: JsonObject | None = None
    attempt_id: str | None = None
    attempt_message_id: str | None = None
    attempt_started_at: str | None = None
    attempts: int = 0
    may_exist: bool = False
    details: JsonObject = field(default_factory=dict)
    queue: str | None = None
    message: str | None = None
    failed_at: str | None = None
    failed_version: str | None = None
    updated_at: str = ""
    etag: str | None = None

    def copy(self, **changes: object) -> "LedgerRow":
        return replace(copy.deepcopy(self), **changes)  # type: ignore[arg-type]


class Ledger(Protocol):
    """The export's port to the ledger (`shared.adapters.ledger`)."""

    def get(self, connector: str, kind: str, host_id: str) -> LedgerRow | None: ...

    def create(self, row: LedgerRow) -> LedgerRow:
        """Insert; ConflictError if the row exists."""
        ...

    def update(self, row: LedgerRow) -> LedgerRow:
        """Replace, guarded by `row.etag`; ConflictError if it changed or vanished."""
        ...

    def list_failed(self, connector: str) -> list[LedgerRow]:
        """Failed rows that keep their message, oldest failure first."""
        ...
