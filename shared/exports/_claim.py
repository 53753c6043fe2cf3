"""The ledger claim: one attempt at a time per host entity, and knowing when BC needs a look-up first.

Protocol (ETag-guarded throughout, each read-decide-write round by `shared.guarded.guarded_update`):

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
import uuid
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from shared import clock as _clock
from shared.clock import Clock
from shared.errors import ConflictError
from shared.guarded import guarded_update

from ._errors import ClaimBusy
from ._ledger import PENDING, RETRY, Ledger, LedgerRow
from ._ports import ExportOptions

__all__ = ["Claim", "Claims", "EntityKey", "ledger_stamp", "record_failure"]

log = logging.getLogger(__name__)

Decision = TypeVar("Decision")


def ledger_stamp(moment: _dt.datetime) -> str:
    """The ledger's stamps: UTC, milliseconds, `Z` (`shared.clock.iso` at millisecond precision)."""
    return _clock.iso(moment, timespec="milliseconds")


@dataclass(frozen=True)
class EntityKey:
    connector: str
    kind: str
    host_id: str

    def describe(self) -> str:
        return f"{self.kind} '{self.host_id}' of connector '{self.connector}'"


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


@dataclass(frozen=True)
class _Found(Generic[Decision]):
    """A row as read, once it is this attempt's turn, and what `decide` said about it."""

    row: LedgerRow | None
    decision: Decision | None


class Claims:
    """The claim protocol of one ledger (see the module docstring)."""

    def __init__(self, ledger: Ledger, clock: Clock, options: ExportOptions) -> None:
        self._ledger, self._clock, self._options = ledger, clock, options

    def acquire(self, key: EntityKey, *, message_id: str, decide: Callable[[LedgerRow | None], Decision | None]
                ) -> tuple[Decision | None, Claim | None]:
        """(decision, None) when `decide` settled it without a claim, else (None, Claim). Raises ClaimBusy."""
        deadline = self._clock.monotonic() + self._options.claim_wait_seconds
        found: list[_Found[Decision]] = []

        def read() -> _Found[Decision]:
            found[:] = [self._await_turn(key, message_id, decide, deadline)]
            return found[0]

        def plan(current: _Found[Decision]) -> Claim | None:
            return None if current.decision is not None else self._claimed(key, current.row, message_id)

        # The default cap of rounds: a lost round means another worker's claim is now on the row, and the
        # next read waits for it, so more rounds would only add waiting; the queue retries after ClaimBusy.
        try:
            claim = guarded_update(read, plan, self._write, what=f"ledger row of {key.describe()}")
        except ConflictError as exc:
            raise ClaimBusy(f"The ledger row of {key.kind} '{key.host_id}' kept changing; the message is retried "
                            "later.") from exc
        if claim is None:
            return found[0].decision, None
        if claim.lookup_needed and claim.previous is not None:
            log.info("Ledger %s/%s/%s: the previous attempt (%s, %s) may have written to BC; looking it up "
                     "by key first", key.connector, key.kind, key.host_id, claim.previous.status,
                     claim.previous.attempt_started_at)
        return None, claim

    def _await_turn(self, key: EntityKey, message_id: str, decide: Callable[[LedgerRow | None], Decision | None],
                    deadline: float) -> _Found[Decision]:
        """Read and decide; while another message holds a fresh claim, wait for it (then ClaimBusy)."""
        while True:
            row = self._ledger.get(key.connector, key.kind, key.host_id)
            decision = decide(row)
            if decision is not None or not self._held_by_another(row, message_id):
                return _Found(row, decision)
            if self._clock.monotonic() >= deadline:
                assert row is not None
                raise ClaimBusy(f"Another worker is exporting {key.kind} '{key.host_id}' of connector "
                                f"'{key.connector}' right now (since {row.attempt_started_at}); the message is "
                                "retried later.")
            self._clock.sleep(self._options.claim_poll_seconds)

    def _held_by_another(self, row: LedgerRow | None, message_id: str) -> bool:
        return row is not None and row.status == PENDING and row.attempt_message_id != message_id \
            and not self._is_stale(row)

    def _is_stale(self, row: LedgerRow) -> bool:
        started = _clock.parse_iso(row.attempt_started_at)
        return started is None or (self._clock.now() - started).total_seconds() > self._options.stale_claim_seconds

    def _claimed(self, key: EntityKey, row: LedgerRow | None, message_id: str) -> Claim:
        moment = ledger_stamp(self._clock.now())
        base = row if row is not None else LedgerRow(connector=key.connector, type=key.kind, host_id=key.host_id)
        claimed = base.copy(status=PENDING, attempt_id=uuid.uuid4().hex, attempt_message_id=message_id,
                            attempt_started_at=moment, attempts=(row.attempts if row else 0) + 1, updated_at=moment)
        lookup = row is not None and (row.status == PENDING or row.may_exist)
        return Claim(claimed, row, lookup)

    def _write(self, claim: Claim) -> Claim:
        """Create the row (ConflictError if someone created it first) or replace it guarded by its ETag."""
        stored = self._ledger.update(claim.row) if claim.previous is not None else self._ledger.create(claim.row)
        return Claim(stored, claim.previous, claim.lookup_needed)

    def finish(self, claim: Claim, row: LedgerRow) -> LedgerRow:
        """Replace our claim with the attempt's result. If someone took the claim over meanwhile (they found
        it stale), our BC write still happened, so the newest BC state wins: we write over theirs once."""
        try:
            return self._ledger.update(row.copy(etag=claim.row.etag))
        except ConflictError:
            current = self._ledger.get(row.connector, row.type, row.host_id)
            log.warning("Ledger %s/%s/%s: the claim was taken over while this attempt ran (now %s); writing "
                        "this attempt's result over it", row.connector, row.type, row.host_id,
                        current.status if current else "deleted")
            if current is None:
                return self._ledger.create(row.copy(etag=None))
            return self._ledger.update(row.copy(etag=current.etag))

    def release(self, claim: Claim, *, status: str = RETRY, may_exist: bool, last_error: dict[str, object] | None,
                bc_id: str | None = None, bc_number: str | None = None) -> None:
        """End an attempt that did not finish (transient error, parked). Never raises: a row left `pending`
        is safe too (the next attempt looks BC up first)."""
        row = claim.row.copy(status=status, may_exist=bool(claim.row.may_exist or may_exist),
                             last_error=last_error, updated_at=ledger_stamp(self._clock.now()))
        if bc_id:
            row.bc_id, row.bc_number = bc_id, bc_number or row.bc_number
        try:
            self._ledger.update(row)
        except Exception as exc:  # noqa: BLE001 - best effort on an error path
            log.warning("Ledger %s/%s/%s: could not release the claim (%s: %s); the next attempt looks BC up "
                        "first", row.connector, row.type, row.host_id, type(exc).__name__, exc)


def record_failure(ledger: Ledger, key: EntityKey, fields: dict[str, object]) -> None:
    """Mark a row failed outside a claim (bad message, export disabled, …), keeping what BC already has."""
    def decide(row: LedgerRow | None) -> LedgerRow:
        if row is None:
            return LedgerRow(connector=key.connector, type=key.kind, host_id=key.host_id).copy(**fields)
        # A `pending` row is an attempt that never finished: BC may have the record, so the replay must
        # look it up first.
        return row.copy(**fields, may_exist=row.may_exist or row.status == PENDING)

    def write(row: LedgerRow) -> LedgerRow:
        return ledger.update(row) if row.etag else ledger.create(row)

    try:
        guarded_update(lambda: ledger.get(key.connector, key.kind, key.host_id), decide, write,
                       what=f"ledger row of {key.describe()}")
    except ConflictError:
        log.warning("Ledger %s/%s/%s: gave up recording a failure after repeated conflicts", key.connector,
                    key.kind, key.host_id)
