"""The expense import use case: `ExpenseImport.import_all()` (the timer) and `import_one(name)` ("run now").

A run, for a connector with `expenses.enabled`:

1. takes the connector's `expense-import` lease; another run holding it -> `busy`, nothing read;
2. reads the host projects (`ProjectMap`) and BC's chart of accounts (one `$batch`);
3. per source (posted purchase invoices then credit memos, or G/L entries), page by page: read a page
   (`_reads.py`), map each entry to a message or a skip reason (`_mapping.py`), renew the lease, send the
   page's messages, then record the page as done (document markers, cursor): a crash re-sends at most
   one page, and the message `key` lets the host drop the repeats. BC's next page is read meanwhile
   (`_ahead.py`: one page ahead, recorded only after this one);
4. stops before reading another page once the time budget is spent (`partial`: the next run continues);
5. leaves its summary on the connector and in the log, notifies `import_failed` when a failure streak
   starts, reports project values no host project carries once, and on a revoked grant has the
   connector marked `reconnect_required` and ends (no retry storm: the timer skips such connectors).

Whatever stops a run becomes one `shared.errors` error (`_failures.as_connector_error`), kept on the
summary; its `error` object and HTTP status are read off it.
"""

from __future__ import annotations

import datetime as _dt
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Iterator, TypeVar

from shared.logfields import log_scope
from shared.clock import Clock
from shared.connectors import (
    ConnectorNotFound,
    ConnectorRecord,
    ConnectorStore,
    FieldError,
    SettingsInvalid,
    parse_connector_name,
)
from shared.errors import ConnectorError, InvalidInput, ReconnectRequired
from shared.jsontypes import JsonObject

from ._ahead import ReadAhead
from ._failures import OutOfOrder, OutOfTime, as_connector_error
from ._mapping import ImportContext, Mapped, is_posted, map_document_line, map_ledger_entry
from ._ports import (
    BcClientSource,
    BcReader,
    CursorStore,
    DocumentMarker,
    HeldLease,
    Leases,
    Notifier,
    Outbox,
    ProjectMap,
    ReconnectReporter,
)
from ._ranges import RangeSet
from ._reads import DOCUMENT_KINDS, DocumentKind, document_pages, documents_by_id, ledger_pages, read_catalog
from ._state import DocumentCursor, LedgerCursor, format_stamp, parse_stamp
from ._stats import STATS_KEY, failure_notification, record_summary, unknown_projects_notification
from ._summary import ImportSummary, SourceCounts

__all__ = ["ExpenseImport", "ImportOptions", "TIMER_BUDGET_SECONDS", "HTTP_BUDGET_SECONDS",
           "UNKNOWN_PROJECTS_ROW", "IMPORT_LEASE"]

log = logging.getLogger(__name__)

#: host.json's functionTimeout is 5 minutes; a timer run stops reading new pages after 4.
TIMER_BUDGET_SECONDS = 240.0
#: Azure's front end drops an HTTP request after 230 seconds; "run now" answers well before.
HTTP_BUDGET_SECONDS = 150.0
UNKNOWN_PROJECTS_ROW = "unknownProjects"
#: The lease (table `Locks`, RowKey) a run holds so that two imports of one connector never overlap.
IMPORT_LEASE = "expense-import"
_MAX_UNKNOWN_VALUES = 500
#: Where an unknown value's postings are is kept for at most this many documents per source and this many
#: ranges of G/L entry numbers (one table property holds 32K characters); beyond, `overflow` is noted.
_MAX_WHERE_DOCUMENTS = 500
_MAX_WHERE_RANGES = 500
_NOT_RUNNABLE = {
    "consent_required": "it has no consent yet (POST /api/connectors/{name}/consent)",
    "reconnect_required": "it must be reconnected first (POST /api/connectors/{name}/consent)",
    "disabled": "it is disabled",
}
_DISABLED = "Expense import is off for this connector: set expenses.enabled to true and save it first."

_Ordered = TypeVar("_Ordered", int, _dt.datetime)


@dataclass(frozen=True)
class ImportOptions:
    #: Documents per page (each with its lines), G/L entries per page: `Prefer: odata.maxpagesize`.
    document_page_size: int = 100
    ledger_page_size: int = 1000
    #: How far before the cursor every read starts again (late commits; BC requests end within 10 min).
    #: None: the connector's `expenses.overlapMinutes` (default 10).
    overlap: _dt.timedelta | None = None
    #: Longer than a page and the budget; renewed before every page.
    lease_ttl: _dt.timedelta = _dt.timedelta(minutes=6)
    #: The timer does not start a connector with less time than this left.
    min_slice_seconds: float = 5.0
    #: How long a timer run (all connectors) and a "run now" (one) may read pages.
    timer_budget_seconds: float = TIMER_BUDGET_SECONDS
    run_now_budget_seconds: float = HTTP_BUDGET_SECONDS


class ExpenseImport:
    """Imports the expenses of connectors; every port is the real adapter in production, a fake in tests."""

    def __init__(self, *, connectors: ConnectorStore, cursors: CursorStore, leases: Leases, projects: ProjectMap,
                 outbox: Outbox, bc_clients: BcClientSource, notifier: Notifier, reconnects: ReconnectReporter,
                 clock: Clock, options: ImportOptions = ImportOptions()) -> None:
        self.connectors = connectors
        self.cursors = cursors
        self.leases = leases
        self.projects = projects
        self.outbox = outbox
        self.bc_clients = bc_clients
        self.notifier = notifier
        self.reconnects = reconnects
        self.clock = clock
        self.options = options

    def import_one(self, name: str, *, budget_seconds: float | None = None) -> ImportSummary:
        """Run the import of connector `name` now ("run now").

        Raises SettingsInvalid on `name` when it is no connector name, ConnectorNotFound, and SettingsInvalid
        on `expenses.enabled` when the import is off for it; every other failure is in the summary.
        """
        record = self.connectors.get(parse_connector_name(name))
        if record is None:
            raise ConnectorNotFound(name)
        if not record.settings.expenses_enabled:
            raise SettingsInvalid([FieldError("expenses.enabled", _DISABLED)])
        budget = self.options.run_now_budget_seconds if budget_seconds is None else budget_seconds
        return _ConnectorRun(record, self, self.clock.monotonic() + budget).execute()

    def import_all(self, *, budget_seconds: float | None = None) -> list[ImportSummary]:
        """Every connector with `expenses.enabled`, least recently run first, until the budget is spent."""
        budget = self.options.timer_budget_seconds if budget_seconds is None else budget_seconds
        deadline = self.clock.monotonic() + budget
        records = [r for r in self.connectors.list() if _enabled(r)]
        records.sort(key=lambda r: str(((r.stats or {}).get(STATS_KEY) or {}).get("startedAt") or ""))
        summaries: list[ImportSummary] = []
        for index, record in enumerate(records):
            if deadline - self.clock.monotonic() < self.options.min_slice_seconds:
                waiting = [r.name for r in records[index:]]
                log.warning("Expense import: the time budget is used up; %d connectors wait for the next run: %s",
                            len(waiting), ", ".join(waiting))
                break
            current = self.connectors.get(record.name)
            if current is None:
                continue  # deleted meanwhile
            try:
                summaries.append(_ConnectorRun(current, self, deadline).execute())
            except Exception:  # noqa: BLE001 - one connector's trouble must not stop the others
                with log_scope(operation="expense_import", connector=record.name, outcome="failed"):
                    log.exception("Expense import of connector %s could not run", record.name)
        return summaries


def _enabled(record: ConnectorRecord) -> bool:
    try:
        return record.settings.expenses_enabled
    except Exception:  # noqa: BLE001 - a stored document gone bad must not stop the timer for the others
        with log_scope(operation="expense_import", connector=record.name, outcome="failed"):
            log.exception("Expense import of connector %s could not run", record.name)
        return False


class _ConnectorRun:
    """One run of one connector: what it holds (lease, client, context) and the summary it fills."""

    def __init__(self, record: ConnectorRecord, use: ExpenseImport, deadline: float) -> None:
        self.record, self.use, self.deadline = record, use, deadline
        self.name = record.name
        self.settings = record.settings
        self.options = use.options
        self.summary = ImportSummary(connector=self.name, source=self.settings.expenses_source)
        self.lease: HeldLease | None = None
        self.unknown: dict[str, JsonObject] | None = None
        self.overlap = use.options.overlap or _dt.timedelta(minutes=self.settings.expenses_overlap_minutes)

    def _now(self) -> str:
        return format_stamp(self.use.clock.now())

    # -- the run --------------------------------------------------------------------------------------

    def execute(self) -> ImportSummary:
        with log_scope(operation="expense_import", connector=self.name, source=self.summary.source):
            return self._execute()

    def _execute(self) -> ImportSummary:
        clock = self.use.clock
        t0 = clock.monotonic()
        self.summary.started_at = self._now()
        write_stats = self._run()
        self.summary.finished_at = self._now()
        self.summary.duration_ms = int((clock.monotonic() - t0) * 1000)
        if write_stats:
            self._record()
        message, args = self.summary.log_line()
        with log_scope(outcome=self.summary.status, read=self.summary.total("read"),
                       sent=self.summary.total("sent"), skipped=self.summary.skipped,
                       durationMs=self.summary.duration_ms,
                       errorCode=self.summary.failure.code if self.summary.failure is not None else None):
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
            summary.status, summary.failure, summary.message = "failed", problem, problem.message
            return True
        try:
            self.lease = self.use.leases.acquire(self.name, uuid.uuid4().hex, ttl=self.options.lease_ttl)
        except Exception as err:  # noqa: BLE001 - storage unavailable: nothing ran, report it like any failure
            self._failed(err)
            return True
        if self.lease is None:
            holder = self.use.leases.holder(self.name) or {}
            summary.status = "busy"
            summary.message = ("Another import of this connector is running; it holds the lease until "
                               f"{holder.get('expiresAt', 'it ends')}.")
            return False
        try:
            self._import()
            summary.status, summary.message = "completed", "Read up to the newest entries in Business Central."
        except OutOfTime:
            summary.status = "partial"
            summary.message = "The time budget ran out; the next run continues where this one stopped."
        except Exception as err:  # noqa: BLE001 - every failure ends the run cleanly and is reported
            self._failed(err)
        finally:
            self._release(self.lease)
        self._report_unknown()
        return True

    def _settings_problem(self) -> InvalidInput | None:
        if not self.settings.project_dimension:
            return InvalidInput(
                "Imported expenses are matched to host projects by the project dimension, and projects.dimension "
                "is not set: set it (the dimension the projects export uses) and save the connector.",
                code="SettingsInvalid", field="projects.dimension")
        if not self.record.company_id:
            return InvalidInput("The connector's BC company is not resolved yet: save the connector again.",
                                code="SettingsInvalid", field="company")
        return None

    def _import(self) -> None:
        self.client: BcReader = self.use.bc_clients.for_record(self.record)
        company_id = str(self.record.company_id)
        self.ctx = ImportContext(
            connector=self.name, company_id=company_id,
            dimension=str(self.settings.project_dimension).upper(),
            projects=self.use.projects.projects(self.name),
            catalog=read_catalog(self.client, company_id),
            activity=self.settings.expenses_activity, billable=self.settings.expenses_billable,
            from_date=str(self.settings.expenses_from_date))
        self._late_projects()
        if self.settings.expenses_source == "generalLedger":
            self._ledger()
            return
        for source in ("purchaseInvoices", "purchaseCreditMemos"):
            self._documents(DOCUMENT_KINDS[source])

    def _failed(self, err: Exception) -> None:
        failure: ConnectorError = as_connector_error(err)
        self.summary.failure = failure
        if isinstance(failure, ReconnectRequired):
            try:
                self.use.reconnects.report(self.name, failure.message)
            except Exception:  # noqa: BLE001 - the next run meets the same error and tries again
                log.warning("Connector %s: could not mark it reconnect_required", self.name, exc_info=True)
            self.summary.status = "reconnect_required"
            self.summary.message = "Business Central access was revoked; the connector must be reconnected."
            return
        self.summary.status = "failed"
        self.summary.message = failure.message
        if failure.code == "InternalError":
            log.error("Expense import of connector %s failed unexpectedly", self.name, exc_info=err)

    def _release(self, lease: HeldLease) -> None:
        try:
            lease.release()
        except Exception:  # noqa: BLE001 - an unreleased lease expires on its own
            log.warning("Connector %s: could not release the expense import lease; it expires at %s", self.name,
                        lease.expires_at, exc_info=True)

    def _record(self) -> None:
        try:
            starts_streak = record_summary(self.use.connectors, self.name, self.summary)
        except Exception:  # noqa: BLE001 - the summary is in the log and the answer anyway
            log.warning("Connector %s: could not store the expense import summary", self.name, exc_info=True)
            starts_streak = self.summary.status == "failed"
        if starts_streak:
            self.use.notifier.notify(failure_notification(self.name, self.settings.notification_recipients,
                                                          self.summary, self.use.clock.now()))

    # -- pages ------------------------------------------------------------------------------------------

    def _next_page(self, pages: Iterator[list[JsonObject]]) -> list[JsonObject] | None:
        if self.use.clock.monotonic() >= self.deadline:
            raise OutOfTime("The time budget ran out.")
        return next(pages, None)

    def _send(self, messages: list[JsonObject]) -> None:
        assert self.lease is not None  # pages are read only while the lease is held
        self.lease.renew()
        self.use.outbox.send_many(messages)

    def _save(self, source: str, state: JsonObject, cursor: str, counts: SourceCounts) -> None:
        counts.cursor = cursor
        self.use.cursors.save(self.name, source, state, cursor=cursor, last_run=counts.to_dict(), at=self._now())

    def _documents(self, kind: DocumentKind) -> None:
        counts = self.summary.counts(kind.source)
        cursors = self.use.cursors
        cursor = DocumentCursor.from_state(cursors.load(self.name, kind.source))
        change = cursor.apply_from_date(self.ctx.from_date)
        if change:
            log.info("Connector %s: expenses.fromDate moved %s to %s; %s are read again from that date", self.name,
                     change, self.ctx.from_date, kind.source)
            self._save(kind.source, cursor.to_state(), cursor.describe(), counts)
        with ReadAhead(document_pages(self.client, self.ctx.company_id, kind, from_date=self.ctx.from_date,
                                      modified_since=cursor.read_from(self.overlap),
                                      page_size=self.options.document_page_size)) as pages:
            self._document_pages(kind, cursor, counts, pages)

    def _document_pages(self, kind: DocumentKind, cursor: DocumentCursor, counts: SourceCounts,
                        pages: Iterator[list[JsonObject]]) -> None:
        cursors = self.use.cursors
        last = None
        while (page := self._next_page(pages)) is not None:
            counts.pages += 1
            last = _in_order(last, [parse_stamp(str(d["lastModifiedDateTime"])) for d in page], kind.source,
                             "lastModifiedDateTime")
            now = self._now()
            claims = [_marker(d, 0) for d in page if is_posted(d)]
            earlier = cursors.claim(self.name, kind.source, claims, at=now) if claims else {}
            messages: list[JsonObject] = []
            markers: list[DocumentMarker] = []
            unknown: Counter[str] = Counter()
            where: dict[str, set[str]] = {}
            for document in page:
                lines = document.get(kind.lines)
                lines = lines if isinstance(lines, list) else []
                counts.read += len(lines)
                if not is_posted(document):
                    counts.skipped["notPosted"] += len(lines)
                    continue
                if earlier.get(str(document["id"]).lower()) == "done":
                    counts.skipped["alreadyImported"] += len(lines)
                    continue
                before = len(messages)
                for line in lines:
                    if isinstance(line, dict):
                        mapped = map_document_line(self.ctx, kind, document, line)
                        _tally(mapped, messages, unknown, counts)
                        if mapped.unknown is not None:
                            where.setdefault(mapped.unknown, set()).add(str(document["id"]).lower())
                markers.append(_marker(document, len(messages) - before))
            self._send(messages)
            counts.sent += len(messages)
            counts.unknown.update(unknown)
            if markers:
                cursors.mark_imported(self.name, kind.source, markers, at=now)
            cursor.advance(str(page[-1]["lastModifiedDateTime"]))
            self._save(kind.source, cursor.to_state(), cursor.describe(), counts)
            self._note_unknown(unknown, kind.source, documents=where)
        counts.finished = True

    def _ledger(self) -> None:
        source = "generalLedger"
        counts = self.summary.counts(source)
        cursor = LedgerCursor.from_state(self.use.cursors.load(self.name, source))
        previous = cursor.from_date
        backfills = cursor.apply_from_date(self.ctx.from_date)
        if previous is not None and previous != self.ctx.from_date:
            log.info("Connector %s: expenses.fromDate moved from %s to %s; %d ranges of G/L entries to read again",
                     self.name, previous, self.ctx.from_date, len(backfills))
            self._save(source, cursor.to_state(), cursor.describe(), counts)
        size = self.options.ledger_page_size
        for backfill in backfills:
            with ReadAhead(ledger_pages(self.client, self.ctx.company_id, after=backfill.after, up_to=backfill.up_to,
                                        from_date=self.ctx.from_date, before=backfill.before,
                                        page_size=size)) as pages:
                last = None
                while (page := self._next_page(pages)) is not None:
                    last = _in_order(last, _entry_numbers(page), "generalLedgerEntries", "entryNumber")
                    self._ledger_page(page, cursor, counts)
                    cursor.backfilled(backfill, _entry_numbers(page)[-1])
                    self._save(source, cursor.to_state(), cursor.describe(), counts)
            cursor.backfilled(backfill, backfill.up_to)
            self._save(source, cursor.to_state(), cursor.describe(), counts)
        settled = self.use.clock.now() - self.overlap
        with ReadAhead(ledger_pages(self.client, self.ctx.company_id, after=cursor.low, from_date=self.ctx.from_date,
                                    page_size=size)) as pages:
            last = None
            while (page := self._next_page(pages)) is not None:
                last = _in_order(last, _entry_numbers(page), "generalLedgerEntries", "entryNumber")
                self._ledger_page(page, cursor, counts)
                old = [n for n, e in zip(_entry_numbers(page), page)
                       if parse_stamp(str(e["lastModifiedDateTime"])) <= settled]
                cursor.advance_low(max(old, default=0))
                self._save(source, cursor.to_state(), cursor.describe(), counts)
        counts.finished = True

    def _ledger_page(self, page: list[JsonObject], cursor: LedgerCursor, counts: SourceCounts) -> None:
        counts.pages += 1
        counts.read += len(page)
        messages: list[JsonObject] = []
        unknown: Counter[str] = Counter()
        where: dict[str, list[int]] = {}
        for number, entry in zip(_entry_numbers(page), page):
            if number in cursor.seen:
                counts.skipped["alreadyImported"] += 1
                continue
            mapped = map_ledger_entry(self.ctx, entry)
            _tally(mapped, messages, unknown, counts)
            if mapped.unknown is not None:
                where.setdefault(mapped.unknown, []).append(number)
        self._send(messages)
        counts.sent += len(messages)
        counts.unknown.update(unknown)
        cursor.processed(_entry_numbers(page))
        self._note_unknown(unknown, "generalLedger", entries=where)

    # -- project values no host project carries: reported once ----------------------------------------

    def _unknown_values(self) -> dict[str, JsonObject]:
        if self.unknown is None:
            stored = (self.use.cursors.load(self.name, UNKNOWN_PROJECTS_ROW) or {}).get("values")
            self.unknown = {value: entry for value, entry in (stored.items() if isinstance(stored, dict) else ())
                            if isinstance(entry, dict)}
        return self.unknown

    def _note_unknown(self, unknown: Counter[str], source: str, *, documents: dict[str, set[str]] | None = None,
                      entries: dict[str, list[int]] | None = None) -> None:
        """Remember values seen for the first time, and where their postings are (before anything else
        happens, so none is forgotten): the late-project re-import reads exactly those again."""
        if not unknown:
            return
        values = self._unknown_values()
        new = [v for v in unknown if v not in values][: max(0, _MAX_UNKNOWN_VALUES - len(values))]
        for value in new:
            values[value] = {"firstSeenAt": self._now(), "source": source, "lines": unknown[value],
                             "notified": False}
        for value in unknown:
            if value in values and (documents or entries):
                self._note_where(value, source, (documents or {}).get(value, set()), (entries or {}).get(value, []))
        if new:
            self.use.cursors.save(self.name, UNKNOWN_PROJECTS_ROW, {"values": {**values}}, cursor="", at=self._now())

    def _note_where(self, value: str, source: str, document_ids: set[str], numbers: list[int]) -> None:
        row = _where_row(value)
        where = self.use.cursors.load(self.name, row) or {}
        docs = where.setdefault("documents", {})
        known = list(docs.get(source) or [])
        fresh = sorted(document_ids - set(known))
        room = _MAX_WHERE_DOCUMENTS - len(known)
        if fresh:
            docs[source] = known + fresh[:max(0, room)]
            where["overflow"] = bool(where.get("overflow")) or len(fresh) > room
        if numbers:
            ranges = RangeSet(where.get("entries") or [])
            for n in numbers:
                ranges.add(n)
            kept = ranges.to_json()
            where["overflow"] = bool(where.get("overflow")) or len(kept) > _MAX_WHERE_RANGES
            where["entries"] = kept[:_MAX_WHERE_RANGES]
        if fresh or numbers:
            self.use.cursors.save(self.name, row, where, cursor="", at=self._now())

    # -- costs that arrived before their project: imported once when the project appears --------------

    def _late_projects(self) -> None:
        """Values reported unknown that a host project now carries (exported since, or its mapping changed):
        send their postings from where they were seen, once, then forget the value (no longer reported).

        Reads only what was recorded: for documents one `$batch` per 100 documents, for G/L entries one
        request per 1,000 entries of the recorded entry-number ranges. The documents were marked done and
        their other lines sent at the time, so these lines were never sent: no duplicate; a crash before the
        value is forgotten sends them again under the same keys (at-least-once, like every page)."""
        values = self._unknown_values()
        resolved = sorted(v for v in values if v in self.ctx.projects)
        for value in resolved:
            where = self.use.cursors.load(self.name, _where_row(value)) or {}
            counts = self.summary.counts("generalLedger" if self.settings.expenses_source == "generalLedger"
                                         else "purchaseInvoices")
            sent = 0
            if self.settings.expenses_source == "generalLedger":
                for first, last in where.get("entries") or []:
                    pages = ledger_pages(self.client, self.ctx.company_id, after=int(first) - 1, up_to=int(last),
                                         from_date=self.ctx.from_date, page_size=self.options.ledger_page_size)
                    while (page := self._next_page(pages)) is not None:
                        sent += self._send_for(value, [map_ledger_entry(self.ctx, e) for e in page])
            else:
                for source, ids in sorted((where.get("documents") or {}).items()):
                    kind = DOCUMENT_KINDS.get(source)
                    if kind is None:
                        continue
                    for document in documents_by_id(self.client, self.ctx.company_id, kind, list(ids)):
                        lines = [ln for ln in document.get(kind.lines) or [] if isinstance(ln, dict)]
                        sent += self._send_for(value, [map_document_line(self.ctx, kind, document, ln)
                                                       for ln in lines])
            counts.sent += sent
            log.info("Connector %s: project value %s is now a host project; %d earlier expenses sent%s", self.name,
                     value, sent, " (more were seen than recorded: see unknownProjects overflow)"
                     if where.get("overflow") else "")
            del values[value]
            self.use.cursors.save(self.name, UNKNOWN_PROJECTS_ROW, {"values": {**values}}, cursor="", at=self._now())
            self.use.cursors.save(self.name, _where_row(value), {}, cursor="", at=self._now())

    def _send_for(self, value: str, mapped: list[Mapped]) -> int:
        messages = [m.message for m in mapped if m.message is not None
                    and str((m.message.get("project") or {}).get("number") or "").upper() == value]
        if messages:
            self._send(messages)
        return len(messages)

    def _report_unknown(self) -> None:
        """Notify values not notified yet (this run's, or a crashed run's), then remember they were."""
        try:
            values = self._unknown_values()
            pending = {v: e for v, e in values.items() if not e.get("notified")}
            if not pending:
                return
            self.use.notifier.notify(unknown_projects_notification(
                self.name, self.settings.notification_recipients, str(self.settings.project_dimension), pending,
                self.use.clock.now()))
            for entry in pending.values():
                entry["notified"] = True
            self.use.cursors.save(self.name, UNKNOWN_PROJECTS_ROW, {"values": {**values}}, cursor="",
                                  at=self._now())
        except Exception:  # noqa: BLE001 - retried by the next run (the values stay un-notified)
            log.warning("Connector %s: could not report unknown project values", self.name, exc_info=True)


def _where_row(value: str) -> str:
    """The ImportCursors row of where an unknown value's postings are (hex: any Code value is a safe key)."""
    return f"{UNKNOWN_PROJECTS_ROW}|{value.encode('utf-8').hex()}"


def _marker(document: JsonObject, lines: int) -> DocumentMarker:
    return DocumentMarker(str(document["id"]), str(document.get("number") or ""),
                          str(document.get("lastModifiedDateTime") or ""), lines)


def _entry_numbers(page: list[JsonObject]) -> list[int]:
    return [int(str(e["entryNumber"])) for e in page]


def _in_order(last: _Ordered | None, values: list[_Ordered], source: str, field_name: str) -> _Ordered | None:
    """The page's last value, after checking the page continues `last` without going back."""
    previous = last
    for value in values:
        if previous is not None and value < previous:
            raise OutOfOrder(f"BC answered {source} out of {field_name} order; the import stopped before "
                             "sending them, to skip none. Report it to Microsoft support with the log.")
        previous = value
    return previous


def _tally(mapped: Mapped, messages: list[JsonObject], unknown: Counter[str], counts: SourceCounts) -> None:
    """File one mapped entry: a message to send, a project value the ledger does not know, or a skip."""
    if mapped.message is not None:
        messages.append(mapped.message)
    elif mapped.unknown is not None:
        unknown[mapped.unknown] += 1
    elif mapped.skipped is not None:
        counts.skipped[mapped.skipped] += 1
