"""One export attempt of one entity, around the ledger claim: decide, claim, work, record.

Every entity export (customers, projects, invoices) describes its work as an `EntityJob` and runs it with
`EntityRun`, which owns the ledger: "unchanged" without a claim, the claim itself, and the final row
(synced, failed with the message text for replay, or released for a retry).
"""

from __future__ import annotations

import hashlib
import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from shared.bc import BcOutcomeUnknownError
from shared.errors import ConflictError, disposition
from shared.jsontypes import JsonObject, JsonValue
from shared.messages import Version

from ._claim import Claim, Claims, EntityKey, ledger_stamp, record_failure
from ._context import ExportContext, ExportResult
from ._errors import BcHas, ExportFailed, translate
from ._ledger import FAILED, PARKED, RETRY, SYNCED, LedgerRow

__all__ = ["Attempt", "Work", "EntityJob", "EntityRun", "content_hash", "failure_fields"]

log = logging.getLogger(__name__)


def content_hash(value: JsonValue | object) -> str:
    """A stable hash of what would be written to BC (canonical JSON), so equal content is recognised."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass
class Attempt:
    """What one claimed attempt has done in BC so far (for the ledger if it stops half way)."""

    claim: Claim
    bc: BcHas = BcHas()

    @property
    def previous(self) -> LedgerRow | None:
        return self.claim.previous

    @property
    def lookup_needed(self) -> bool:
        return self.claim.lookup_needed

    @property
    def bc_id(self) -> str | None:
        return self.bc.id

    @property
    def bc_number(self) -> str | None:
        return self.bc.number

    def created(self, bc_id: str | None, bc_number: str | None) -> None:
        """BC confirmed a new record: remember it, so a failure later in the attempt does not lose it."""
        self.bc = BcHas(bc_id, bc_number)


@dataclass
class Work:
    """The outcome of an attempt's BC work, for the outcome message and the ledger row."""

    status: str  # created | updated | unchanged
    bc_id: str | None
    bc_number: str | None
    details: JsonObject = field(default_factory=dict)
    #: False when BC's content is not known to match the plan (a record adopted without writing it):
    #: the ledger then keeps no content hash, so the next message writes instead of saying "unchanged".
    content_known: bool = True


@dataclass
class Unchanged:
    row: LedgerRow
    reason: str  # "stale" | "same" | "known"


class EntityJob(ABC):
    """What one entity's export needs from `EntityRun`: its key, the content hash of what it would write,
    the rules for "nothing to do", and the BC work itself."""

    kind: str
    host_id: str
    digest: str
    #: A snapshot (a customer or project inside an invoice): any row `known(row)` accepts ends it, and a
    #: failure keeps no message text (the invoice's row keeps it).
    snapshot: bool = False

    def known(self, row: LedgerRow) -> bool:
        """Snapshot only: whether the ledger's row is enough for the invoice."""
        return False

    def is_current(self, row: LedgerRow) -> bool:
        """Conditions besides the content hash for "unchanged" (an invoice still to be posted is not)."""
        return True

    def refusal(self, row: LedgerRow) -> ExportFailed | None:
        """A failure decided from the ledger alone, before any BC request (a posted invoice changed)."""
        return None

    @abstractmethod
    def work(self, attempt: Attempt) -> Work:
        """The BC requests of one claimed attempt."""


Decision = Unchanged | ExportFailed


class EntityRun:
    """Runs one `EntityJob` for one message. Raises ExportFailed (recorded as failed on the ledger row and
    marked `recorded`), transient errors (claim released as `retry`) and reconnect errors (released as
    `parked`)."""

    def __init__(self, ctx: ExportContext, job: EntityJob, version: Version | None) -> None:
        self.ctx, self.job, self.version = ctx, job, version
        self.key = EntityKey(ctx.connector, job.kind, job.host_id)
        self.claims = Claims(ctx.ledger, ctx.clock, ctx.options)

    def run(self) -> ExportResult:
        decision, claim = self.claims.acquire(self.key, message_id=self.ctx.delivery.message_id, decide=self._decide)
        if isinstance(decision, ExportFailed):
            record_failure(self.ctx.ledger, self.key, failure_fields(self.ctx, decision, self.version,
                                                                     keep_message=not self.job.snapshot))
            raise decision.recorded(self.key.kind, self.key.host_id)
        if decision is not None:
            return self._unchanged(decision)
        assert claim is not None
        return self._attempt(Attempt(claim))

    def _decide(self, row: LedgerRow | None) -> Decision | None:
        job = self.job
        if row is None:
            return None
        if job.snapshot:
            return Unchanged(row, "known") if job.known(row) else None
        if self.version is not None and self.version.is_older_than(Version.from_text(row.version)):
            return Unchanged(row, "stale")
        if row.status == SYNCED and row.content_hash == job.digest and job.is_current(row):
            return Unchanged(row, "same")
        return job.refusal(row)

    def _unchanged(self, decision: Unchanged) -> ExportResult:
        row = decision.row
        if decision.reason == "same" and self.version is not None \
                and self.version.is_newer_than(Version.from_text(row.version)):
            self._bump_version(row, self.version)
        log.info("Export %s %s/%s: unchanged (%s), no BC request", self.key.kind, self.key.connector,
                 self.key.host_id, decision.reason)
        return ExportResult("unchanged", row.bc_id, row.bc_number)

    def _attempt(self, attempt: Attempt) -> ExportResult:
        try:
            done = self.job.work(attempt)
        except Exception as exc:
            err = translate(exc)
            action = disposition(err).action
            if isinstance(err, ExportFailed):
                failed = err.with_bc(attempt.bc.or_else(self._previous_bc(attempt)))
                self._fail_claim(attempt, failed)
                raise failed.recorded(self.key.kind, self.key.host_id) from exc
            self._release(attempt, exc, parked=action == "parked")
            raise
        return self._finish(attempt, done)

    @staticmethod
    def _previous_bc(attempt: Attempt) -> BcHas:
        previous = attempt.previous
        return BcHas(previous.bc_id, previous.bc_number) if previous is not None else BcHas()

    def _finish(self, attempt: Attempt, done: Work) -> ExportResult:
        previous = attempt.previous
        version = self.version.text if self.version is not None else (previous.version if previous else None)
        final = attempt.claim.row.copy(
            status=SYNCED, bc_id=done.bc_id, bc_number=done.bc_number, version=version,
            content_hash=self.job.digest if done.content_known else None, last_error=None, may_exist=False,
            details=done.details, queue=None, message=None, failed_at=None, failed_version=None,
            updated_at=ledger_stamp(self.ctx.now()))
        self.claims.finish(attempt.claim, final)
        return ExportResult(done.status, done.bc_id, done.bc_number)

    def _fail_claim(self, attempt: Attempt, err: ExportFailed) -> None:
        row = attempt.claim.row.copy(**failure_fields(self.ctx, err, self.version, keep_message=not self.job.snapshot))
        if err.bc.id:
            row.bc_id, row.bc_number = err.bc.id, err.bc.number
        if err.ledger_details:
            row.details = {**row.details, **err.ledger_details}
        try:
            self.claims.finish(attempt.claim, row)
        except Exception as exc:  # noqa: BLE001 - the outcome still goes out; the claim goes stale
            log.warning("Ledger %s/%s/%s: could not record the failure (%s)", row.connector, row.type, row.host_id,
                        exc)

    def _release(self, attempt: Attempt, exc: Exception, *, parked: bool) -> None:
        self.claims.release(attempt.claim, status=PARKED if parked else RETRY,
                            may_exist=isinstance(exc, BcOutcomeUnknownError),
                            last_error={"code": type(exc).__name__, "message": str(exc)[:1000],
                                        "retryable": not parked},
                            bc_id=attempt.bc_id, bc_number=attempt.bc_number)

    def _bump_version(self, row: LedgerRow, version: Version) -> None:
        try:
            self.ctx.ledger.update(row.copy(version=version.text, updated_at=ledger_stamp(self.ctx.now())))
        except ConflictError:
            pass  # someone else moved it on; their version is at least as new


def failure_fields(ctx: ExportContext, err: ExportFailed, version: Version | None, *, keep_message: bool = True
                   ) -> dict[str, object]:
    """The ledger columns of a permanent failure; the message text is kept for replay."""
    moment = ledger_stamp(ctx.now())
    error = {**err.to_error(), **({"details": dict(err.details)} if err.details else {})}
    return dict(status=FAILED, last_error=error, queue=ctx.delivery.queue if keep_message else None,
                message=ctx.delivery.text if keep_message else None, failed_at=moment,
                failed_version=version.text if version is not None else None, updated_at=moment)
