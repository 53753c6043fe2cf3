"""The expense import's storage adapters and their in-memory twins, one contract suite for both: cursor
rows and document markers (`shared.adapters.cursors`), the `bc-expenses` outbox
(`shared.adapters.expense_outbox`), and the read-only project map over the ledger. The lease lives in
shared.adapters (tests/integration/adapters/test_lease.py)."""

from __future__ import annotations

import json

import pytest

from shared.adapters import ensure_queue, ensure_table, table_key, table_service_from_settings
from shared.adapters.cursors import InMemoryCursorStore, TableCursorStore
from shared.adapters.expense_outbox import InMemoryOutbox, QueueOutbox
from shared.adapters.ledger import TableLedger
from shared.expenses import DocumentMarker

pytestmark = pytest.mark.integration


@pytest.fixture
def table(azurite, unique_suffix):
    def make(name: str):
        service = table_service_from_settings({"AzureWebJobsStorage": azurite})
        return ensure_table(service.get_table_client(f"{name}{unique_suffix}"))
    return make


@pytest.fixture(params=["table", "memory"])
def cursors(request, table):
    """A cursor store and how to read back a source row's `cursor` and `lastRun` as stored."""
    if request.param == "table":
        store = TableCursorStore(table("ImportCursors"))

        def row(connector, name):
            entity = store._table.get_entity(connector, name)
            return entity["cursor"], json.loads(entity["lastRun"]), entity["lastRun"]
        return store, row
    memory = InMemoryCursorStore()

    def memory_row(connector, name):
        entry = memory.rows[(connector, name)]
        return entry["cursor"], entry["lastRun"], json.dumps(entry["lastRun"], separators=(",", ":"))
    return memory, memory_row


def test_cursor_state_round_trips_and_keeps_the_last_run_between_saves(cursors):
    store, row = cursors
    assert store.load("acme", "generalLedger") is None
    store.save("acme", "generalLedger", {"low": 5, "seen": [[7, 9]]}, cursor="entryNumber 9", last_run={"sent": 3},
               at="2026-11-20T12:00:00.000Z")
    store.save("acme", "generalLedger", {"low": 9, "seen": []}, cursor="entryNumber 9", at="2026-11-20T12:01:00.000Z")
    assert store.load("acme", "generalLedger") == {"low": 9, "seen": []}
    assert row("acme", "generalLedger") == ("entryNumber 9", {"sent": 3}, '{"sent":3}')


def test_claiming_new_documents_marks_them_sending_and_a_re_read_tells_sending_from_done(cursors):
    store, _ = cursors
    markers = [DocumentMarker(f"00000000-0000-4000-8000-{n:012d}", f"PP-{n}", "", 0) for n in range(130)]
    assert store.claim("acme", "purchaseInvoices", markers[:120], at="t1") == {}
    store.mark_imported("acme", "purchaseInvoices", markers[:60], at="t2")
    upper = [DocumentMarker(m.document_id.upper(), m.number, "", 0) for m in markers]
    earlier = store.claim("acme", "purchaseInvoices", upper, at="t3")
    assert earlier == {**{m.document_id: "done" for m in markers[:60]},
                       **{m.document_id: "sending" for m in markers[60:120]}}
    assert store.claim("acme", "purchaseInvoices", markers[120:], at="t4") == {
        m.document_id: "sending" for m in markers[120:]}
    assert store.claim("acme", "purchaseCreditMemos", markers[:1], at="t5") == {}
    assert store.claim("other", "purchaseInvoices", markers[:1], at="t5") == {}


@pytest.fixture(params=["queue", "memory"])
def outbox(request, azurite, unique_suffix):
    """An outbox and how to read back what it sent."""
    if request.param == "queue":
        from azure.storage.queue import QueueServiceClient

        service = QueueServiceClient.from_connection_string(azurite)
        queue = ensure_queue(service.get_queue_client(f"bc-expenses-{unique_suffix}"))
        yield QueueOutbox(lambda: queue), lambda: sorted(
            (json.loads(m.content) for m in queue.receive_messages(max_messages=32)), key=lambda m: m["key"])
        queue.delete_queue()
        return
    memory = InMemoryOutbox()
    yield memory, lambda: sorted(memory.messages, key=lambda m: m["key"])


def expense(key: str, amount: int = 1) -> dict:
    return {"connector": "acme", "key": key, "source": "purchaseInvoices", "postingDate": "2026-11-18",
            "documentNumber": "108017", "vendor": {"number": "V10000", "name": "Fabrikam"}, "description": "Flüge",
            "quantity": 1, "amount": amount, "currencyCode": "EUR", "account": {"number": None, "name": None},
            "project": {"id": "PRJ-7", "number": "P-1001"}, "activity": "Travel", "billable": True}


def test_the_outbox_sends_every_message_of_a_page_as_json(outbox):
    sender, sent = outbox
    sender.send_many([])
    page = [expense(f"k{n}", n) for n in range(5)]
    sender.send_many(page)
    assert sent() == page



def test_a_failed_send_fails_the_page_and_the_sends_not_started_yet_are_dropped(azurite, unique_suffix):
    from azure.core.exceptions import ServiceRequestError
    from azure.storage.queue import QueueServiceClient

    queue = ensure_queue(QueueServiceClient.from_connection_string(azurite)
                         .get_queue_client(f"bc-expenses-{unique_suffix}"))

    class OneSendFails:
        def send_message(self, text):
            if json.loads(text)["key"] == "k3":
                raise ServiceRequestError("connection reset (simulated)")
            return queue.send_message(text)

    page = [expense(f"k{n}") for n in range(40)]
    with pytest.raises(ServiceRequestError):
        QueueOutbox(lambda: OneSendFails(), concurrency=8).send_many(page)
    on_queue = set()
    while batch := list(queue.receive_messages(max_messages=32, visibility_timeout=60)):
        on_queue.update(json.loads(m.content)["key"] for m in batch)
    # What was sent is the page's (sends in flight finished, later ones were dropped); the caller does not
    # record the page, so the next run sends all of it (tests/unit/expenses/test_import_documents.py).
    assert on_queue <= {f"k{n}" for n in range(40)} - {"k3"}
    queue.delete_queue()

def test_the_ledger_port_maps_dimension_values_to_host_project_ids(table):
    ledger = table("SyncLedger")
    ledger.create_entity({"PartitionKey": "acme|project", "RowKey": table_key("prj/42#a"), "bcNumber": "p-1001"})
    ledger.create_entity({"PartitionKey": "acme|project", "RowKey": "prj-43", "status": "failed"})
    ledger.create_entity({"PartitionKey": "acme|customer", "RowKey": "c-1", "bcNumber": "C10000"})
    projects = TableLedger(ledger).projects("acme")
    assert {code: (p.id, p.number) for code, p in projects.items()} == {"P-1001": ("prj/42#a", "P-1001")}
    assert TableLedger(ledger).projects("nobody") == {}


def test_documents_recorded_done_by_one_worker_are_done_for_a_worker_that_did_not_claim_them(table):
    rows = table("ImportCursors")
    first, second = TableCursorStore(rows), TableCursorStore(rows)
    markers = [DocumentMarker(f"00000000-0000-4000-8000-{n:012d}", f"PP-{n}", "", 0) for n in range(150)]
    assert first.claim("acme", "purchaseInvoices", markers, at="t1") == {}
    first.mark_imported("acme", "purchaseInvoices", [DocumentMarker(m.document_id, m.number, "", 10)
                                                     for m in markers[:110]], at="t2")
    # The second worker re-reads them: the first 110 are done, the rest were claimed by a run that died.
    assert second.claim("acme", "purchaseInvoices", markers, at="t3") == {
        **{m.document_id: "done" for m in markers[:110]}, **{m.document_id: "sending" for m in markers[110:]}}
    # It sends those again and records them done in their own markers (it did not insert them).
    second.mark_imported("acme", "purchaseInvoices", markers[110:], at="t4")
    assert TableCursorStore(rows).claim("acme", "purchaseInvoices", markers, at="t5") == {
        m.document_id: "done" for m in markers}
