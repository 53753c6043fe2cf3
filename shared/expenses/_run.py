"""The expense import use case: one connector (`import_expenses`) or every enabled one (`import_all`).

A run, for a connector with `expenses.enabled`:

1. takes the connector's `expense-import` lease (`shared.adapters.LeaseStore`); another run holding it ->
   `busy`, nothing read;
2. reads the host projects (ledger) and BC's chart of accounts (one `$batch`);
3. per source (posted purchase invoices then credit memos, or G/L entries), page by page: read a page
   (`_reads.py`), map each entry to a message or a skip reason (`_mapping.py`), renew the lease, send the
   page's messages, then record the page as done (document markers, cursor): a crash re-sends at most
   one page, and the message `key` lets the host drop the repeats;
4. stops before reading another page once the time budget is spent (`partial`: the next run continues);
5. leaves its summary on the connector and in the log, notifies `import_failed` when a failure streak
   starts, reports project values no host project carries once, and on a revoked grant marks the
   connector `reconnect_required` and ends (no retry storm: the timer skips such connectors).
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from shared.connectors import (
    ConnectorNotFound,
    ConnectorRecord,
    ConnectorStore,
    mark_reconnect_required,
)
from shared.clock import iso, utc_now
from shared.adapters import LeaseLost, LeaseStore

from ._cursors import CursorStore, DocumentMarker
from ._mapping import ImportContext, is_posted, map_document_line, map_ledger_entry
from ._outbox import Outbox
from ._projects import ProjectMap
from ._reads import DOCUMENT_KINDS, DocumentKind, document_pages, ledger_pages, read_catalog
from ._state import DocumentCursor, LedgerCursor, parse_stamp
from ._stats import STATS_KEY, failure_notification, record_summary, unknown_projects_notification
from ._summary import ImportSummary, SourceCounts

__all__ = ["ExpenseDeps", "ImportOptions", "import_expenses", "import_all", "TIMER_BUDGET_SECONDS",
           "HTTP_BUDGET_SECONDS", "UNKNOWN_PROJECTS_ROW", "IMPORT_LEASE"]

log = logging.getLogger(__name__)

#: host.json's functionTimeout is 5 minutes; a timer run stops reading new pages after 4.
TIMER_BUDGET_SECONDS = 240.0
#: Azure's front end drops an HTTP request after 230 seconds; "run now" answers well before.
HTTP_BUDGET_SECONDS = 150.0
UNKNOWN_PROJECTS_ROW = "unknownProjects"
#: The lease (table `Locks`, RowKey) a run holds so that two imports of one connector never overlap.
IMPORT_LEASE = "expense-import"
_MAX_UNKNOWN_VALUES = 500
_NOT_RUNNABLE = {
    "consent_required": "it has no consent yet (POST /api/connectors/{name}/consent)",
    "reconnect_required": "it must be reconnected first (POST /api/connectors/{name}/consent)",
    "disabled": "it is disabled",
}


def _stamp(moment: _dt.datetime) -> str:
    """The run's stamps (summary, markers, cursor rows): UTC with milliseconds."""
    return iso(moment, timespec="milliseconds")


@dataclass(frozen=True)
class ImportOptions:
    #: Documents per page (each with its lines), G/L entries per page: `Prefer: odata.maxpagesize`.
    document_page_size: int = 100
    ledger_page_size: int = 1000
    #: How far before the cursor every read starts again (late commits; BC requests end within 10 min).
    overlap: _dt.timedelta = _dt.timedelta(minutes=10)
    #: Longer than a page and the budget; renewed before every page.
    lease_ttl: _dt.timedelta = _dt.timedelta(minutes=6)
    #: The timer does not start a connector with less time than this left.
    min_slice_seconds: float = 5.0


@dataclass
class ExpenseDeps:
    """The ports of the use case; `shared.expenses.expense_deps(services)` builds the real ones."""

    store: ConnectorStore
    cursors: CursorStore
    leases: LeaseStore
    projects: ProjectMap
    outbox: Outbox
    bc_client_for_record: Callable[[ConnectorRecord], Any]
    notify: Callable[[dict[str, Any]], None]
    #: `(name, reason)`: mark the connector reconnect_required and notify once. None: `mark_reconnect_required`
    #: with the consent route as the hint.
    report_reconnect: Callable[[str, str], Any] | None = None
    now: Callable[[], _dt.datetime] = utc_now
    monotonic: Callable[[], float] = time.monotonic
    options: ImportOptions = field(default_factory=ImportOptions)


class _OutOfTime(Exception):
    """The time budget is spent: stop before reading another page."""


class OutOfOrderError(Exception):
    """BC answered rows out of the order the read asked for: page-wise progress would skip rows, so stop
    (STYLE.md: fail loudly on unsorted data)."""


def import_expenses(name: str, deps: ExpenseDeps, *, budget_seconds: float | None = None,
                    deadline: float | None = None) -> ImportSummary:
    """Run the import of connector `name` now. Raises ConnectorNotFound; every other failure is in the summary.

    `deadline` (a `deps.monotonic()` value) or `budget_seconds` bounds the run.
    """
    if deadline is None:
        deadline = deps.monotonic() + (HTTP_BUDGET_SECONDS if budget_seconds is None else budget_seconds)
    record = deps.store.get(name)
    if record is None:
        raise ConnectorNotFound(name)
    return _Run(record, deps, deadline).execute()


def import_all(deps: ExpenseDeps, *, budget_seconds: float = TIMER_BUDGET_SECONDS) -> list[ImportSummary]:
    """Every connector with `expenses.enabled`, least recently run first, until the budget is spent."""
    deadline = deps.monotonic() + budget_seconds
    records = [r for r in deps.store.list() if _expenses_enabled(r)]
    records.sort(key=lambda r: ((r.stats or {}).get(STATS_KEY) or {}).get("startedAt") or "")
    summaries: list[ImportSummary] = []
    for index, record in enumerate(records):
        if deadline - deps.monotonic() < deps.options.min_slice_seconds:
            waiting = [r.name for r in records[index:]]
            log.warning("Expense import: the time budget is used up; %d connectors wait for the next run: %s",
                        len(waiting), ", ".join(waiting))
            break
        try:
            summaries.append(import_expenses(record.name, deps, deadline=deadline))
        except ConnectorNotFound:
            continue  # deleted meanwhile
        except Exception:  # noqa: BLE001 - one connector's trouble must not stop the others
            log.exception("Expense import of connector %s could not run", record.name)
    return summaries


def _expenses_enabled(record: ConnectorRecord) -> bool:
    return record.settings.expenses_enabled


class _Run:
    def __init__(self, record: ConnectorRecord, deps: ExpenseDeps, deadline: float) -> None:
        self.record, self.deps, self.deadline = record, deps, deadline
        self.name = record.name
        self.settings = record.settings
        self.options = deps.options
        self.summary = ImportSummary(connector=self.name, source=self.settings.expenses_source)
        self.lease: Any = None
        self.unknown: dict[str, dict[str, Any]] | None = None

    # -- the run --------------------------------------------------------------------------------------

    def execute(self) -> ImportSummary:
        started, t0 = self.deps.now(), self.deps.monotonic()
        self.summary.started_at = _stamp(started)
        write_stats = self._run()
        self.summary.finished_at = _stamp(self.deps.now())
        self.summary.duration_ms = int((self.deps.monotonic() - t0) * 1000)
        if write_stats:
            self._record()
        message, args = self.summary.log_line()
        log.log(logging.WARNING if self.summary.status == "failed" else logging.INFO, message, *args)
        return self.summary

    def _run(self) -> bool:
        """Runs the import; True when the outcome belongs in the connector's stats."""
        summary, settings = self.summary, self.settings
        if not settings.expenses_enabled:
            summary.status = "skipped"
            summary.message = "Expense import is off for this connector (expenses.enabled is false)."
            return False
        if self.record.status in _NOT_RUNNABLE:
            summary.status = "skipped"
            summary.message = (f"Expenses are not imported while connector '{self.name}' is {self.record.status}: "
                               + _NOT_RUNNABLE[self.record.status].format(name=self.name) + ".")
            return False
        problem = self._settings_problem()
        if problem is not None:
            summary.status, summary.error, summary.message = "failed", problem, problem["message"]
            return True
        try:
            self.lease = self.deps.leases.acquire(self.name, uuid.uuid4().hex, ttl=self.options.lease_ttl)
        except Exception as err:  # noqa: BLE001 - storage unavailable: nothing ran, report it like any failure
            self._failed(err)
            return True
        if self.lease is None:
            holder = self.deps.leases.holder(self.name) or {}
            summary.status = "busy"
            summary.message = ("Another import of this connector is running; it holds the lease until "
                               f"{holder.get('expiresAt', 'it ends')}.")
            return False
        try:
            self._import()
            summary.status, summary.message = "completed", "Read up to the newest entries in Business Central."
        except _OutOfTime:
            summary.status = "partial"
            summary.message = "The time budget ran out; the next run continues where this one stopped."
        except Exception as err:  # noqa: BLE001 - every failure ends the run cleanly and is reported
            self._failed(err)
        finally:
            self._release()
        self._report_unknown()
        return True

    def _settings_problem(self) -> dict[str, Any] | None:
        if not self.settings.project_dimension:
            return {"code": "SettingsInvalid", "field": "projects.dimension", "retryable": False,
                    "message": "Imported expenses are matched to host projects by the project dimension, and "
                               "projects.dimension is not set: set it (the dimension the projects export uses) "
                               "and save the connector."}
        if not self.record.company_id:
            return {"code": "SettingsInvalid", "field": "company", "retryable": False,
                    "message": "The connector's BC company is not resolved yet: save the connector again."}
        return None

    def _import(self) -> None:
        self.client = self.deps.bc_client_for_record(self.record)
        self.ctx = ImportContext(
            connector=self.name, company_id=str(self.record.company_id),
            dimension=str(self.settings.project_dimension).upper(),
            projects=self.deps.projects.projects(self.name),
            catalog=read_catalog(self.client, str(self.record.company_id)),
            activity=self.settings.expenses_activity, billable=self.settings.expenses_billable,
            from_date=str(self.settings.expenses_from_date))
        if self.settings.expenses_source == "generalLedger":
            self._ledger()
            return
        for source in ("purchaseInvoices", "purchaseCreditMemos"):
            self._documents(DOCUMENT_KINDS[source])

    def _failed(self, err: Exception) -> None:
        from shared.auth import ReconnectRequiredError

        if isinstance(err, ReconnectRequiredError):
            reason = str(err)
            try:
                if self.deps.report_reconnect is not None:
                    self.deps.report_reconnect(self.name, reason)
                else:
                    mark_reconnect_required(
                        self.deps.store, self.name, reason=reason, notify=self.deps.notify, now=self.deps.now,
                        consent_hint=f"Reconnect it with POST /api/connectors/{self.name}/consent.")
            except Exception:  # noqa: BLE001 - the next run meets the same error and tries again
                log.warning("Connector %s: could not mark it reconnect_required", self.name, exc_info=True)
            self.summary.status = "reconnect_required"
            self.summary.error = {"code": getattr(err, "error", None) or "ReconnectRequired", "message": reason,
                                  "retryable": False}
            self.summary.message = "Business Central access was revoked; the connector must be reconnected."
            return
        self.summary.status = "failed"
        self.summary.error = _describe(err)
        self.summary.message = self.summary.error["message"]
        if self.summary.error["code"] == "InternalError":
            log.exception("Expense import of connector %s failed unexpectedly", self.name)

    def _release(self) -> None:
        try:
            self.lease.release()
        except Exception:  # noqa: BLE001 - an unreleased lease expires on its own
            log.warning("Connector %s: could not release the expense import lease; it expires at %s", self.name,
                        self.lease.expires_at, exc_info=True)

    def _record(self) -> None:
        try:
            starts_streak = record_summary(self.deps.store, self.name, self.summary)
        except Exception:  # noqa: BLE001 - the summary is in the log and the answer anyway
            log.warning("Connector %s: could not store the expense import summary", self.name, exc_info=True)
            starts_streak = self.summary.status == "failed"
        if starts_streak:
            self.deps.notify(failure_notification(self.name, self.record.settings, self.summary, self.deps.now))

    # -- pages ------------------------------------------------------------------------------------------

    def _next_page(self, pages: Any) -> list[dict] | None:
        if self.deps.monotonic() >= self.deadline:
            raise _OutOfTime()
        return next(pages, None)

    def _send(self, messages: list[dict[str, Any]]) -> None:
        self.lease.renew()
        self.deps.outbox.send_many(messages)

    def _save(self, source: str, state: dict[str, Any], cursor: str, counts: SourceCounts) -> None:
        counts.cursor = cursor
        self.deps.cursors.save(self.name, source, state, cursor=cursor, last_run=counts.to_dict(),
                               at=_stamp(self.deps.now()))

    def _documents(self, kind: DocumentKind) -> None:
        counts = self.summary.counts(kind.source)
        cursors = self.deps.cursors
        cursor = DocumentCursor.from_state(cursors.load(self.name, kind.source))
        change = cursor.apply_from_date(self.ctx.from_date)
        if change:
            log.info("Connector %s: expenses.fromDate moved %s to %s; %s are read again from that date", self.name,
                     change, self.ctx.from_date, kind.source)
            self._save(kind.source, cursor.to_state(), cursor.describe(), counts)
        pages = document_pages(self.client, self.ctx.company_id, kind, from_date=self.ctx.from_date,
                               modified_since=cursor.read_from(self.options.overlap),
                               page_size=self.options.document_page_size)
        last = None
        while (page := self._next_page(pages)) is not None:
            counts.pages += 1
            last = _in_order(last, [parse_stamp(d["lastModifiedDateTime"]) for d in page], kind.source,
                             "lastModifiedDateTime")
            now = _stamp(self.deps.now())
            claims = [DocumentMarker(d["id"], d.get("number", ""), d.get("lastModifiedDateTime", ""), 0)
                      for d in page if is_posted(d)]
            earlier = cursors.claim(self.name, kind.source, claims, at=now) if claims else {}
            messages: list[dict[str, Any]] = []
            markers: list[DocumentMarker] = []
            unknown: Counter = Counter()
            for document in page:
                lines = document.get(kind.lines) or []
                counts.read += len(lines)
                if not is_posted(document):
                    counts.skipped["notPosted"] += len(lines)
                    continue
                if earlier.get(document["id"].lower()) == "done":
                    counts.skipped["alreadyImported"] += len(lines)
                    continue
                before = len(messages)
                for line in lines:
                    _tally(map_document_line(self.ctx, kind, document, line), messages, unknown, counts)
                markers.append(DocumentMarker(document["id"], document.get("number", ""),
                                              document.get("lastModifiedDateTime", ""), len(messages) - before))
            self._send(messages)
            counts.sent += len(messages)
            counts.unknown.update(unknown)
            if markers:
                cursors.mark_imported(self.name, kind.source, markers, at=now)
            cursor.advance(page[-1]["lastModifiedDateTime"])
            self._save(kind.source, cursor.to_state(), cursor.describe(), counts)
            self._note_unknown(unknown, kind.source)
        counts.finished = True

    def _ledger(self) -> None:
        source = "generalLedger"
        counts = self.summary.counts(source)
        cursor = LedgerCursor.from_state(self.deps.cursors.load(self.name, source))
        previous = cursor.from_date
        backfills = cursor.apply_from_date(self.ctx.from_date)
        if previous is not None and previous != self.ctx.from_date:
            log.info("Connector %s: expenses.fromDate moved from %s to %s; %d ranges of G/L entries to read again",
                     self.name, previous, self.ctx.from_date, len(backfills))
            self._save(source, cursor.to_state(), cursor.describe(), counts)
        size = self.options.ledger_page_size
        for backfill in backfills:
            pages = ledger_pages(self.client, self.ctx.company_id, after=backfill.after, up_to=backfill.up_to,
                                 from_date=self.ctx.from_date, before=backfill.before, page_size=size)
            last = None
            while (page := self._next_page(pages)) is not None:
                last = _in_order(last, [e["entryNumber"] for e in page], "generalLedgerEntries", "entryNumber")
                self._ledger_page(page, cursor, counts)
                cursor.backfilled(backfill, page[-1]["entryNumber"])
                self._save(source, cursor.to_state(), cursor.describe(), counts)
            cursor.backfilled(backfill, backfill.up_to)
            self._save(source, cursor.to_state(), cursor.describe(), counts)
        pages = ledger_pages(self.client, self.ctx.company_id, after=cursor.low, from_date=self.ctx.from_date,
                             page_size=size)
        settled = self.deps.now() - self.options.overlap
        last = None
        while (page := self._next_page(pages)) is not None:
            last = _in_order(last, [e["entryNumber"] for e in page], "generalLedgerEntries", "entryNumber")
            self._ledger_page(page, cursor, counts)
            old = [e["entryNumber"] for e in page if parse_stamp(e["lastModifiedDateTime"]) <= settled]
            cursor.advance_low(max(old, default=0))
            self._save(source, cursor.to_state(), cursor.describe(), counts)
        counts.finished = True

    def _ledger_page(self, page: list[dict], cursor: LedgerCursor, counts: SourceCounts) -> None:
        counts.pages += 1
        counts.read += len(page)
        messages: list[dict[str, Any]] = []
        unknown: Counter = Counter()
        for entry in page:
            if entry["entryNumber"] in cursor.seen:
                counts.skipped["alreadyImported"] += 1
                continue
            _tally(map_ledger_entry(self.ctx, entry), messages, unknown, counts)
        self._send(messages)
        counts.sent += len(messages)
        counts.unknown.update(unknown)
        cursor.processed(e["entryNumber"] for e in page)
        self._note_unknown(unknown, "generalLedger")

    # -- project values no host project carries: reported once ----------------------------------------

    def _unknown_values(self) -> dict[str, dict[str, Any]]:
        if self.unknown is None:
            self.unknown = (self.deps.cursors.load(self.name, UNKNOWN_PROJECTS_ROW) or {}).get("values", {})
        return self.unknown

    def _note_unknown(self, unknown: Counter, source: str) -> None:
        """Remember values seen for the first time (before anything else happens, so none is forgotten)."""
        if not unknown:
            return
        values = self._unknown_values()
        new = [v for v in unknown if v not in values][: max(0, _MAX_UNKNOWN_VALUES - len(values))]
        if not new:
            return
        for value in new:
            values[value] = {"firstSeenAt": _stamp(self.deps.now()), "source": source, "lines": unknown[value],
                             "notified": False}
        self.deps.cursors.save(self.name, UNKNOWN_PROJECTS_ROW, {"values": values}, cursor="",
                               at=_stamp(self.deps.now()))

    def _report_unknown(self) -> None:
        """Notify values not notified yet (this run's, or a crashed run's), then remember they were."""
        try:
            values = self._unknown_values()
            pending = {v: e for v, e in values.items() if not e.get("notified")}
            if not pending:
                return
            self.deps.notify(unknown_projects_notification(self.name, self.record.settings,
                                                           str(self.settings.project_dimension), pending,
                                                           self.deps.now))
            for entry in pending.values():
                entry["notified"] = True
            self.deps.cursors.save(self.name, UNKNOWN_PROJECTS_ROW, {"values": values}, cursor="",
                                   at=_stamp(self.deps.now()))
        except Exception:  # noqa: BLE001 - retried by the next run (the values stay un-notified)
            log.warning("Connector %s: could not report unknown project values", self.name, exc_info=True)


def _in_order(last: Any, values: list[Any], source: str, field_name: str) -> Any:
    """The page's last value, after checking the page continues `last` without going back."""
    previous = last
    for value in values:
        if previous is not None and value < previous:
            raise OutOfOrderError(f"BC answered {source} out of {field_name} order; the import stopped before "
                                  "sending them, to skip none. Report it to Microsoft support with the log.")
        previous = value
    return previous


def _describe(err: Exception) -> dict[str, Any]:
    """The summary's `error`: code, message (no secrets: BC and Entra errors are written for operators)."""
    from shared.auth import TokenError
    from shared.bc import BcError

    if isinstance(err, BcError):
        return {"code": err.code or type(err).__name__, "message": str(err), "retryable": err.retryable,
                "retryAfter": err.retry_after}
    if isinstance(err, TokenError):
        return {"code": err.error or type(err).__name__, "message": str(err), "retryable": err.retryable,
                "retryAfter": getattr(err, "retry_after", None)}
    if isinstance(err, LeaseLost):
        return {"code": "LeaseLost", "message": str(err), "retryable": True}
    if isinstance(err, OutOfOrderError):
        return {"code": "OutOfOrder", "message": str(err), "retryable": False}
    try:
        from azure.core.exceptions import AzureError
    except ImportError:  # pragma: no cover
        AzureError = ()  # type: ignore[assignment,misc]
    if isinstance(err, (AzureError, ConnectionError, TimeoutError)):
        return {"code": type(err).__name__, "retryable": True,
                "message": f"Azure Storage could not be reached or refused a write ({type(err).__name__}); "
                           "the page was not recorded and is read again next time."}
    return {"code": "InternalError", "retryable": False,
            "message": f"The import stopped on an unexpected error ({type(err).__name__}); see the log."}


def _tally(mapped: Any, messages: list[dict[str, Any]], unknown: Any, counts: Any) -> None:
    """File one mapped entry: a message to send, a project value the ledger does not know, or a skip."""
    if mapped.message is not None:
        messages.append(mapped.message)
    elif mapped.unknown is not None:
        unknown[mapped.unknown] += 1
    else:
        counts.skipped[mapped.skipped] += 1
