"""The expense import's `CursorStore` (`shared.expenses`): import state per connector in table
`ImportCursors`, and its in-memory twin (one contract suite runs both:
tests/integration/expenses/test_expense_adapters.py).

Rows (PartitionKey = connector name, so deleting a connector purges them with its partition):

- RowKey `purchaseInvoices`, `purchaseCreditMemos`, `generalLedger`: where the source's import stands,
  columns `state` (JSON, see `_state.py`), `cursor` (in words), `lastRun` (JSON), `updatedAt`;
- RowKey `purchaseInvoices|{documentId}`, `purchaseCreditMemos|{documentId}`: a posted document and where
  its import stands, `state` `sending` (claimed: its messages are being sent) or `done` (never imported
  again); columns `number`, `lastModifiedDateTime`, `lines` (messages sent), `importedAt`;
- RowKey `unknownProjects`: project dimension values no host project carries, reported once; `state`
  (JSON: value -> firstSeenAt, source, lines, notified), `updatedAt`.

Only the run holding the connector's lease writes them (`shared.adapters.LeaseStore`), so plain writes
suffice. A page of documents costs two storage requests when its documents are new (the common case): one
transaction that *inserts* `sending` markers, which fails only if some document already has one (then those
are read a few at a time), and, after the messages were sent, ONE row that says which of them are done:

- RowKey `{source}|page-{id}`: the documents of one claim that were imported, `done` (JSON: documentId ->
  lines sent), `importedAt`. The `sending` markers this store inserted name it in column `page`; a marker
  is done when its page row lists it (or, as written before page rows existed, its `state` is `done`).

Writing one row instead of rewriting a hundred markers halves the entity operations of a page (Azurite
spends about 2.5 ms on each operation of a transaction). A document whose claim this store did not make
(an earlier run's `sending` marker, sent again) is set `done` in its own marker, as before. A `sending`
marker found later whose page row does not list it means a run died between the two: its document is sent
again (at-least-once; the host drops repeats by key).

Every imported document keeps its marker, not only those a later run could re-read through the overlap
window: a document comes back in a later read for three reasons, and only the first is bounded by the window
of the cursor a run ends with: (1) its `lastModifiedDateTime` lies within `expenses.overlapMinutes` before
that cursor; (2) it is modified after its import (paid, for instance), which moves its timestamp past any
cursor, however old the document; (3) `expenses.fromDate` moved earlier, which reads everything from the new
date again. Without a marker, (2) and (3) would import the document twice, with or without a crash. So the
markers stay, and what is made cheap is writing them: one insert transaction and one page row per page,
written while the import reads BC's next page (`shared/expenses/_ahead.py`). Reading ahead writes nothing
here: the run claims, sends and records each page in order, the next one only after the one before it is
recorded.
"""

from __future__ import annotations

import copy
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from shared.expenses import DocumentMarker
from shared.jsontypes import JsonObject

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

# The Azure SDK is imported in the methods that use it: the worker imports the app's modules at cold start.

__all__ = ["TableCursorStore", "InMemoryCursorStore"]

#: Concurrent point reads when a page re-reads documents; at most 100 operations per transaction.
_READERS = 8
_BATCH = 100


def _marker_key(source: str, document_id: str) -> str:
    return f"{source}|{document_id.lower()}"


class TableCursorStore:
    """On Azure Table Storage (or Azurite). Raises azure.core.exceptions.HttpResponseError (the import
    reports it as Storage being unavailable)."""

    def __init__(self, table: "TableClient") -> None:
        self._table = table
        # (connector, source, documentId) -> the page row of the claim that inserted its `sending` marker,
        # until mark_imported; lost with the process, which only means those documents are sent again.
        self._pages: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def load(self, connector: str, name: str) -> JsonObject | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            row = self._table.get_entity(connector, name, select=["state"])
        except ResourceNotFoundError:
            return None
        return json.loads(row.get("state") or "{}")

    def save(self, connector: str, name: str, state: JsonObject, *, cursor: str = "",
             last_run: JsonObject | None = None, at: str = "") -> None:
        from azure.data.tables import UpdateMode

        entity: dict[str, Any] = {"PartitionKey": connector, "RowKey": name,
                                  "state": json.dumps(state, separators=(",", ":"), sort_keys=True),
                                  "cursor": cursor, "updatedAt": at}
        if last_run is not None:
            entity["lastRun"] = json.dumps(last_run, separators=(",", ":"), sort_keys=True)
        # Merge keeps a lastRun written by an earlier save of the same run.
        self._table.upsert_entity(entity, mode=UpdateMode.MERGE)

    def claim(self, connector: str, source: str, markers: list[DocumentMarker], *, at: str) -> dict[str, str]:
        from azure.data.tables import TableTransactionError

        earlier: dict[str, str] = {}
        with self._lock:  # claims of an earlier, failed page of this source will not be marked now
            self._pages = {k: v for k, v in self._pages.items() if k[:2] != (connector, source)}
        for start in range(0, len(markers), _BATCH):
            chunk = markers[start:start + _BATCH]
            page = f"{source}|page-{uuid.uuid4().hex}"
            try:
                self._table.submit_transaction([("create", _entity(connector, source, m, "sending", at, page=page))
                                                for m in chunk])
                self._claimed(connector, source, page, chunk)
                continue
            except TableTransactionError as err:
                if err.status_code != 409:
                    raise
            # Some already have a marker (a re-read: the overlap, or a document modified after its import).
            states = self._states(connector, source, [m.document_id for m in chunk])
            earlier.update(states)
            new = [m for m in chunk if m.document_id.lower() not in states]
            if new:
                self._table.submit_transaction([("create", _entity(connector, source, m, "sending", at, page=page))
                                                for m in new])
                self._claimed(connector, source, page, new)
        return earlier

    def _claimed(self, connector: str, source: str, page: str, markers: list[DocumentMarker]) -> None:
        with self._lock:
            for m in markers:
                self._pages[(connector, source, m.document_id.lower())] = page

    def _states(self, connector: str, source: str, document_ids: list[str]) -> dict[str, str]:
        # Point reads, a few at a time: Table Storage serves each from the key, whereas a filter with
        # "RowKey eq a or RowKey eq b" scans the whole partition (Learn, "Table design patterns").
        from azure.core.exceptions import ResourceNotFoundError

        def marker(document_id: str) -> tuple[str, str] | None:
            try:
                row = self._table.get_entity(connector, _marker_key(source, document_id), select=["state", "page"])
            except ResourceNotFoundError:
                return None
            return row.get("state") or "done", row.get("page") or ""

        def done_in(page: str) -> set[str]:
            try:
                row = self._table.get_entity(connector, page, select=["done"])
            except ResourceNotFoundError:
                return set()
            return set(json.loads(row.get("done") or "{}"))

        ids = [d.lower() for d in document_ids]
        with ThreadPoolExecutor(max_workers=min(_READERS, len(ids)), thread_name_prefix="import-markers") as pool:
            found = {d: m for d, m in zip(ids, pool.map(marker, ids)) if m is not None}
            pages = sorted({page for state, page in found.values() if state == "sending" and page})
            done = dict(zip(pages, pool.map(done_in, pages)))
        return {d: "done" if state == "sending" and d in done.get(page, ()) else state
                for d, (state, page) in found.items()}

    def mark_imported(self, connector: str, source: str, markers: list[DocumentMarker], *, at: str) -> None:
        from azure.data.tables import UpdateMode

        pages: dict[str, dict[str, int]] = {}
        others: list[DocumentMarker] = []
        with self._lock:
            for m in markers:
                page = self._pages.pop((connector, source, m.document_id.lower()), None)
                if page is None:
                    others.append(m)
                else:
                    pages.setdefault(page, {})[m.document_id.lower()] = m.lines
        for page, done in pages.items():  # one per claim of up to 100 documents
            self._table.upsert_entity({"PartitionKey": connector, "RowKey": page, "importedAt": at,
                                       "done": json.dumps(done, separators=(",", ":"))}, mode=UpdateMode.REPLACE)
        operations = [("upsert", _entity(connector, source, m, "done", at), {"mode": UpdateMode.REPLACE})
                      for m in others]
        for start in range(0, len(operations), _BATCH):
            self._table.submit_transaction(operations[start:start + _BATCH])


def _entity(connector: str, source: str, marker: DocumentMarker, state: str, at: str, *,
            page: str = "") -> dict[str, Any]:
    entity: dict[str, Any] = {"PartitionKey": connector, "RowKey": _marker_key(source, marker.document_id),
                              "state": state, "number": marker.number, "lastModifiedDateTime": marker.last_modified,
                              "lines": marker.lines, "importedAt": at}
    if page:
        entity["page"] = page
    return entity


class InMemoryCursorStore:
    """The same semantics in dicts, for use-case tests. `rows` is inspectable."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load(self, connector: str, name: str) -> JsonObject | None:
        with self._lock:
            row = self.rows.get((connector, name))
            return copy.deepcopy(row["state"]) if row is not None else None

    def save(self, connector: str, name: str, state: JsonObject, *, cursor: str = "",
             last_run: JsonObject | None = None, at: str = "") -> None:
        # A JSON round trip, like the table: nothing the caller keeps can change what is stored.
        with self._lock:
            row = self.rows.setdefault((connector, name), {})
            row.update({"state": json.loads(json.dumps(state)), "cursor": cursor, "updatedAt": at})
            if last_run is not None:
                row["lastRun"] = json.loads(json.dumps(last_run))

    def claim(self, connector: str, source: str, markers: list[DocumentMarker], *, at: str) -> dict[str, str]:
        earlier: dict[str, str] = {}
        with self._lock:
            for m in markers:
                key = (connector, _marker_key(source, m.document_id))
                if key in self.rows:
                    earlier[m.document_id.lower()] = self.rows[key]["state"]
                else:
                    self.rows[key] = _entity(connector, source, m, "sending", at)
        return earlier

    def mark_imported(self, connector: str, source: str, markers: list[DocumentMarker], *, at: str) -> None:
        with self._lock:
            for m in markers:
                self.rows[(connector, _marker_key(source, m.document_id))] = _entity(connector, source, m, "done", at)
