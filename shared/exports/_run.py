"""One export attempt of one entity, around the ledger claim: decide, claim, work, record.

Every entity export (customers, projects, invoices) runs its BC work through `run_entity`, which owns
the ledger: "unchanged" without a claim, the claim itself, and the final row (synced, failed with the
message text for replay, or released for a retry).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from shared.messages import Version

from ._claim import Claim, acquire, finish, iso, release
from ._context import ExportContext, ExportResult
from ._errors import ExportFailed, failed_from_bc
from ._ledger import FAILED, PARKED, PENDING, RETRY, SYNCED, LedgerConflict, LedgerRow

__all__ = ["Attempt", "Work", "run_entity", "content_hash", "Unchanged", "record_failure", "failure_fields"]

log = logging.getLogger(__name__)


def content_hash(value: Any) -> str:
    """A stable hash of what would be written to BC (canonical JSON), so equal content is recognised."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass
class Attempt:
    """What one claimed attempt has done in BC so far (for the ledger if it stops half way)."""

    ctx: ExportContext
    claim: Claim
    bc_id: str | None = None
    bc_number: str | None = None

    @property
    def previous(self) -> LedgerRow | None:
        return self.claim.previous

    @property
    def lookup_needed(self) -> bool:
        return self.claim.lookup_needed

    def created(self, bc_id: str | None, bc_number: str | None) -> None:
        """BC confirmed a new record: remember it, so a failure later in the attempt does not lose it."""
        self.bc_id, self.bc_number = bc_id, bc_number


@dataclass
class Work:
    """The outcome of an attempt's BC work, for the outcome message and the ledger row."""

    status: str  # created | updated | unchanged
    bc_id: str | None
    bc_number: str | None
    details: dict[str, Any] = field(default_factory=dict)
    #: False when BC's content is not known to match the plan (a record adopted without writing it):
    #: the ledger then keeps no content hash, so the next message writes instead of saying "unchanged".
    content_known: bool = True


@dataclass
class Unchanged:
    row: LedgerRow
    reason: str  # "stale" | "same" | "known"


def run_entity(ctx: ExportContext, kind: str, host_id: str, *, version: Version | None, digest: str,
               work: Callable[[Attempt], Work], keep_message: bool = True,
               is_current: Callable[[LedgerRow], bool] = lambda row: True,
               known: Callable[[LedgerRow], bool] | None = None,
               failed_early: Callable[[LedgerRow], ExportFailed | None] | None = None) -> ExportResult:
    """Export one entity. `digest` is the content hash of what `work` would write; `is_current(row)` adds
    conditions for "unchanged" (an invoice that still has to be posted is not). With `known`, the call
    is a snapshot (a customer inside an invoice): any row `known(row)` accepts ends it.

    Raises ExportFailed (recorded as failed), transient errors (claim released) and
    ReconnectRequiredError (claim released as parked).
    """
    deps = ctx.deps
    ledger = deps.ledger

    def decide(row: LedgerRow | None) -> Any:
        if row is None:
            return None
        if known is not None:
            return Unchanged(row, "known") if known(row) else None
        if version is not None and version.is_older_than(Version.from_text(row.version)):
            return Unchanged(row, "stale")
        if row.status == SYNCED and row.content_hash == digest and is_current(row):
            return Unchanged(row, "same")
        if failed_early is not None:
            err = failed_early(row)
            if err is not None:
                return err
        return None

    decision, claim = acquire(ledger, ctx.connector, kind, host_id, message_id=ctx.message_id, decide=decide,
                              now=ctx.now, wait_seconds=deps.claim_wait_seconds,
                              stale_seconds=deps.stale_claim_seconds, sleep=deps.sleep)
    if isinstance(decision, ExportFailed):
        _record_failure(ctx, kind, host_id, decision, version, keep_message)
        decision.recorded_for = (kind, host_id)
        raise decision
    if decision is not None:
        row = decision.row
        if decision.reason == "same" and version is not None and version.is_newer_than(Version.from_text(row.version)):
            _bump_version(ledger, row, version, ctx)
        log.info("Export %s %s/%s: unchanged (%s), no BC request", kind, ctx.connector, host_id, decision.reason)
        return ExportResult("unchanged", row.bc_id, row.bc_number)

    assert claim is not None
    attempt = Attempt(ctx, claim)
    try:
        done = work(attempt)
    except ExportFailed as err:
        _fail_claim(ctx, attempt, err, version, keep_message)
        err.recorded_for = (kind, host_id)
        raise
    except Exception as exc:
        from shared.auth import ReconnectRequiredError
        from shared.bc import BcOutcomeUnknownError, BcPermanentError

        if isinstance(exc, BcPermanentError):
            failed = failed_from_bc(exc, None, bc_id=attempt.bc_id, bc_number=attempt.bc_number)
            _fail_claim(ctx, attempt, failed, version, keep_message)
            failed.recorded_for = (kind, host_id)
            raise failed from exc
        parked = isinstance(exc, ReconnectRequiredError)
        release(ledger, claim, status=PARKED if parked else RETRY,
                may_exist=isinstance(exc, BcOutcomeUnknownError),
                last_error={"code": type(exc).__name__, "message": str(exc)[:1000],
                            "retryable": not parked}, now=ctx.now(),
                bc_id=attempt.bc_id, bc_number=attempt.bc_number)
        raise
    previous = claim.previous
    final = claim.row.copy(
        status=SYNCED, bc_id=done.bc_id, bc_number=done.bc_number,
        version=version.text if version is not None else (previous.version if previous else None),
        content_hash=digest if done.content_known else None, last_error=None, may_exist=False, details=done.details, queue=None, message=None,
        failed_at=None, failed_version=None, updated_at=iso(ctx.now()))
    finish(ledger, claim, final)
    return ExportResult(done.status, done.bc_id, done.bc_number)


def _failure_fields(ctx: ExportContext, err: ExportFailed, version: Version | None, keep_message: bool
                    ) -> dict[str, Any]:
    moment = iso(ctx.now())
    return dict(status=FAILED, last_error={**err.error(), **({"details": err.details} if err.details else {})},
                queue=ctx.queue if keep_message else None, message=ctx.message_text if keep_message else None,
                failed_at=moment, failed_version=version.text if version is not None else None, updated_at=moment)


def _fail_claim(ctx: ExportContext, attempt: Attempt, err: ExportFailed, version: Version | None,
                keep_message: bool) -> None:
    err.bc_id = err.bc_id or attempt.bc_id or (attempt.previous.bc_id if attempt.previous else None)
    err.bc_number = err.bc_number or attempt.bc_number or (attempt.previous.bc_number if attempt.previous
                                                           else None)
    row = attempt.claim.row.copy(**_failure_fields(ctx, err, version, keep_message))
    if err.bc_id:
        row.bc_id, row.bc_number = err.bc_id, err.bc_number
    if err.details.get("ledgerDetails"):
        row.details = {**row.details, **err.details.pop("ledgerDetails")}
    try:
        finish(ctx.deps.ledger, attempt.claim, row)
    except Exception as exc:  # noqa: BLE001 - the outcome still goes out; the claim goes stale
        log.warning("Ledger %s/%s/%s: could not record the failure (%s)", row.connector, row.type, row.host_id,
                    exc)


def failure_fields(ctx: ExportContext, err: ExportFailed, version: Version | None, keep_message: bool = True
                   ) -> dict[str, Any]:
    return _failure_fields(ctx, err, version, keep_message)


def _record_failure(ctx: ExportContext, kind: str, host_id: str, err: ExportFailed, version: Version | None,
                    keep_message: bool) -> None:
    record_failure(ctx.deps.ledger, ctx.connector, kind, host_id, _failure_fields(ctx, err, version,
                                                                                 keep_message))


def record_failure(ledger: Any, connector: str, kind: str, host_id: str, fields: dict[str, Any]) -> None:
    """Mark a row failed outside a claim (bad message, export disabled, …), keeping what BC already has."""
    for _ in range(5):
        row = ledger.get(connector, kind, host_id)
        try:
            if row is None:
                ledger.create(LedgerRow(connector=connector, type=kind, host_id=host_id, **fields))
            else:
                # A `pending` row is an attempt that never finished: BC may have the record, so the
                # replay must look it up first.
                ledger.update(row.copy(**fields, may_exist=row.may_exist or row.status == PENDING))
            return
        except LedgerConflict:
            continue
    log.warning("Ledger %s/%s/%s: gave up recording a failure after repeated conflicts", connector, kind,
                host_id)


def _bump_version(ledger: Any, row: LedgerRow, version: Version, ctx: ExportContext) -> None:
    try:
        ledger.update(row.copy(version=version.text, updated_at=iso(ctx.now())))
    except LedgerConflict:
        pass  # someone else moved it on; their version is at least as new
