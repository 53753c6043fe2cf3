"""The ledger claim: one attempt at a time per host entity, and knowing when BC needs a look-up first.

Protocol (ETag-guarded throughout, STYLE.md "Persistence and idempotency"):

1. Read the row and `decide`: a stale version or unchanged content ends here, costing no BC request.
2. If another message holds a fresh claim (status `pending`, a different queue message id, started less
   than `stale_seconds` ago), wait for it briefly, re-reading, then decide again (usually "unchanged");
   if it is still busy, raise ClaimBusy so the queue redelivers later.
3. Claim: write status `pending` with a new attempt id, our queue message id and the start time,
   creating the row (fails if someone created it first) or replacing it guarded by its ETag. Losing the
   race means reading and deciding again.
4. Only if the row as found was `pending` (an attempt that never finished: the process died, possibly
   after BC acted) or `mayExist` (the last attempt lost BC's answer to a write) must BC be asked first,
   by the record's key. A new row, or one a finished attempt left `synced`, `failed` or `retry`, needs
   no read before the write: that is what keeps a new invoice at one BC request.
5. End the attempt by replacing the claimed row (ETag of the claim) with `synced` or `failed`; on a
   transient error, `release` it as `retry`, remembering whether BC may have acted.

A redelivery of the same queue message finds its own `pending` claim (same message id): the earlier
delivery died, so it takes over at once, with the look-up. The host renews a running message's lease,
so the same message id never runs twice at once.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from shared import clock

from ._errors import ClaimBusy
from ._ledger import PENDING, RETRY, Ledger, LedgerConflict, LedgerRow

__all__ = ["Claim", "acquire", "finish", "release", "iso"]

log = logging.getLogger(__name__)

_MAX_CONFLICTS = 50


def iso(moment: _dt.datetime) -> str:
    """The ledger's stamps: UTC, milliseconds, `Z`."""
    return clock.iso(moment, timespec="milliseconds")


@dataclass
class Claim:
    """A claimed ledger row: `row` as written (status pending, our ETag), `previous` as found."""

    row: LedgerRow
    previous: LedgerRow | None
    #: An earlier attempt may have written to BC without recording it: look the record up by key first.
    lookup_needed: bool

    @property
    def known_bc_id(self) -> str | None:
        return self.previous.bc_id if self.previous is not None else None


def acquire(ledger: Ledger, connector: str, kind: str, host_id: str, *, message_id: str,
            decide: Callable[[LedgerRow | None], Any], now: Callable[[], _dt.datetime],
            wait_seconds: float, stale_seconds: float, sleep: Callable[[float], None] = time.sleep,
            poll_seconds: float = 0.2) -> tuple[Any, Claim | None]:
    """(decision, None) when `decide` settled it without a claim, else (None, Claim). Raises ClaimBusy."""
    deadline = time.monotonic() + wait_seconds
    conflicts = 0
    while conflicts < _MAX_CONFLICTS:
        row = ledger.get(connector, kind, host_id)
        decision = decide(row)
        if decision is not None:
            return decision, None
        if row is not None and row.status == PENDING and row.attempt_message_id != message_id \
                and not _is_stale(row, now(), stale_seconds):
            if time.monotonic() < deadline:
                sleep(poll_seconds)
                continue
            raise ClaimBusy(f"Another worker is exporting {kind} '{host_id}' of connector '{connector}' right "
                            f"now (since {row.attempt_started_at}); the message is retried later.")
        moment = now()
        base = row if row is not None else LedgerRow(connector=connector, type=kind, host_id=host_id)
        claimed = base.copy(status=PENDING, attempt_id=uuid.uuid4().hex, attempt_message_id=message_id,
                            attempt_started_at=iso(moment), attempts=(row.attempts if row else 0) + 1,
                            updated_at=iso(moment))
        try:
            stored = ledger.update(claimed) if row is not None else ledger.create(claimed)
        except LedgerConflict:
            conflicts += 1
            continue  # someone else wrote it first: read again, decide again
        lookup = row is not None and (row.status == PENDING or row.may_exist)
        if lookup:
            log.info("Ledger %s/%s/%s: the previous attempt (%s, %s) may have written to BC; looking it up "
                     "by key first", connector, kind, host_id, row.status, row.attempt_started_at)
        return None, Claim(stored, row, lookup)
    raise ClaimBusy(f"The ledger row of {kind} '{host_id}' kept changing; the message is retried later.")


def _is_stale(row: LedgerRow, moment: _dt.datetime, stale_seconds: float) -> bool:
    started = clock.parse_iso(row.attempt_started_at)
    return started is None or (moment - started).total_seconds() > stale_seconds


def finish(ledger: Ledger, claim: Claim, row: LedgerRow) -> LedgerRow:
    """Replace our claim with the attempt's result. If someone took the claim over meanwhile (they found
    it stale), our BC write still happened, so the newest BC state wins: we write over theirs once."""
    try:
        return ledger.update(row.copy(etag=claim.row.etag))
    except LedgerConflict:
        current = ledger.get(row.connector, row.type, row.host_id)
        log.warning("Ledger %s/%s/%s: the claim was taken over while this attempt ran (now %s); writing "
                    "this attempt's result over it", row.connector, row.type, row.host_id,
                    current.status if current else "deleted")
        if current is None:
            return ledger.create(row.copy(etag=None))
        return ledger.update(row.copy(etag=current.etag))


def release(ledger: Ledger, claim: Claim, *, status: str = RETRY, may_exist: bool, last_error: dict | None,
            now: _dt.datetime, bc_id: str | None = None, bc_number: str | None = None) -> None:
    """End an attempt that did not finish (transient error, parked). Never raises: a row left `pending`
    is safe too (the next attempt looks BC up first)."""
    row = claim.row.copy(status=status, may_exist=bool(claim.row.may_exist or may_exist),
                         last_error=last_error, updated_at=iso(now))
    if bc_id:
        row.bc_id, row.bc_number = bc_id, bc_number or row.bc_number
    try:
        ledger.update(row)
    except Exception as exc:  # noqa: BLE001 - best effort on an error path
        log.warning("Ledger %s/%s/%s: could not release the claim (%s: %s); the next attempt looks BC up "
                    "first", row.connector, row.type, row.host_id, type(exc).__name__, exc)
