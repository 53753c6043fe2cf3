"""The SyncLedger adapter on Azurite keeps the fake's rules: ETags, conflicts, long messages, failed list,
and the project map the expense import reads."""

from __future__ import annotations

import pytest

from shared.adapters import ensure_table, table_service_from_settings
from shared.adapters.ledger import InMemoryLedger, TableLedger
from shared.errors import ConflictError
from shared.expenses import HostProject
from shared.exports import FAILED, PENDING, SYNCED, LedgerRow

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "table"])
def ledger(request, azurite, unique_suffix):
    if request.param == "memory":
        return InMemoryLedger()
    service = table_service_from_settings({"AzureWebJobsStorage": azurite})
    return TableLedger(ensure_table(service.get_table_client(f"SyncLedger{unique_suffix}")))


def test_rows_round_trip_with_their_json_columns(ledger):
    created = ledger.create(LedgerRow(connector="acme", type="invoice", host_id="INV/7#1", status=SYNCED,
                                      bc_id="b", bc_number="S-1", version='"2026-11-20T10:00:00Z"',
                                      details={"posted": True}, last_error={"code": "x"}, attempts=2,
                                      may_exist=True))
    got = ledger.get("acme", "invoice", "INV/7#1")
    assert (got.bc_id, got.details, got.last_error, got.attempts, got.may_exist, got.host_id) == (
        "b", {"posted": True}, {"code": "x"}, 2, True, "INV/7#1")
    assert got.etag == created.etag
    assert ledger.get("acme", "customer", "INV/7#1") is None


def test_updates_are_guarded_by_the_etag(ledger):
    row = ledger.create(LedgerRow(connector="acme", type="customer", host_id="c", status=SYNCED))
    ledger.update(row.copy(status=FAILED))
    with pytest.raises(ConflictError):
        ledger.update(row.copy(status=SYNCED))
    with pytest.raises(ConflictError):
        ledger.create(LedgerRow(connector="acme", type="customer", host_id="c"))


def test_a_64_kib_message_is_kept_whole_and_only_failed_rows_of_the_connector_are_listed(ledger):
    text = "x" * 65_536
    ledger.create(LedgerRow(connector="acme", type="invoice", host_id="1", status=FAILED, queue="bc-invoices",
                            message=text, failed_at="2026-11-20T12:00:00Z"))
    ledger.create(LedgerRow(connector="acme", type="invoice", host_id="2", status=SYNCED))
    ledger.create(LedgerRow(connector="acme-x", type="invoice", host_id="3", status=FAILED, queue="bc-invoices",
                            message="other", failed_at="2026-11-20T12:00:00Z"))
    [row] = ledger.list_failed("acme")
    assert row.message == text
    replaced = ledger.update(row.copy(status=SYNCED, message=None, queue=None))
    assert ledger.get("acme", "invoice", "1").message is None
    assert replaced.status == SYNCED and ledger.list_failed("acme") == []


def test_the_project_map_names_each_exported_project_by_its_dimension_value(ledger):
    ledger.create(LedgerRow(connector="acme", type="project", host_id="p/1", status=SYNCED, bc_number="p-100"))
    ledger.create(LedgerRow(connector="acme", type="project", host_id="p2", status=PENDING))
    ledger.create(LedgerRow(connector="acme", type="project", host_id="p3", status=SYNCED, bc_number="P-100"))
    ledger.create(LedgerRow(connector="acme", type="customer", host_id="c", status=SYNCED, bc_number="C-1"))
    ledger.create(LedgerRow(connector="acme-x", type="project", host_id="p9", status=SYNCED, bc_number="P-9"))
    assert ledger.projects("acme") == {"P-100": HostProject("p/1", "P-100")}  # of two on one value, the first
    assert ledger.projects("nobody") == {}
