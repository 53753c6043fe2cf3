"""The expense import's storage adapters against Azurite: cursor rows and document markers, and the
read-only ledger port. The lease lives in shared.adapters (tests/integration/adapters/test_lease.py)."""

from __future__ import annotations


import pytest

from shared.expenses import DocumentMarker, LedgerProjectMap, TableCursorStore
from shared.adapters import ensure_table, table_key, table_service_from_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def table(azurite, unique_suffix):
    def make(name: str):
        service = table_service_from_settings({"AzureWebJobsStorage": azurite})
        return ensure_table(service.get_table_client(f"{name}{unique_suffix}"))
    return make


def test_cursor_state_round_trips_and_keeps_the_last_run_between_saves(table):
    store = TableCursorStore(table("ImportCursors"))
    assert store.load("acme", "generalLedger") is None
    store.save("acme", "generalLedger", {"low": 5, "seen": [[7, 9]]}, cursor="entryNumber 9", last_run={"sent": 3},
               at="2026-11-20T12:00:00.000Z")
    store.save("acme", "generalLedger", {"low": 9, "seen": []}, cursor="entryNumber 9", at="2026-11-20T12:01:00.000Z")
    assert store.load("acme", "generalLedger") == {"low": 9, "seen": []}
    row = store._table.get_entity("acme", "generalLedger")
    assert (row["cursor"], row["lastRun"]) == ("entryNumber 9", '{"sent":3}')


def test_claiming_new_documents_marks_them_sending_and_a_re_read_tells_sending_from_done(table):
    store = TableCursorStore(table("ImportCursors"))
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


def test_the_ledger_port_maps_dimension_values_to_host_project_ids(table):
    ledger = table("SyncLedger")
    ledger.create_entity({"PartitionKey": "acme|project", "RowKey": table_key("prj/42#a"), "bcNumber": "p-1001"})
    ledger.create_entity({"PartitionKey": "acme|project", "RowKey": "prj-43", "status": "failed"})
    ledger.create_entity({"PartitionKey": "acme|customer", "RowKey": "c-1", "bcNumber": "C10000"})
    projects = LedgerProjectMap(ledger).projects("acme")
    assert {code: (p.id, p.number) for code, p in projects.items()} == {"P-1001": ("prj/42#a", "P-1001")}
    assert LedgerProjectMap(ledger).projects("nobody") == {}
