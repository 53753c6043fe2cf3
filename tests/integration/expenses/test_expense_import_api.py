"""The expense import end to end: the HTTP "run now" route and the timer, Azurite tables and queue, and
the BC sandbox's fixture company over HTTPS."""

from __future__ import annotations

import datetime as _dt
import logging

import pytest
from azure.functions.timer import TimerRequest

from sandbox import constants
from sandbox.bc._fixturegen import COMPANY_IDS, gid
from shared.expenses import UNKNOWN_PROJECTS_ROW
from shared.exports import Delivery
from tests._app import FUNCTIONS, call_http, json_of
from tests.integration.expenses._helpers import expense_settings, run_now, sent_messages
from tests.integration.exports._helpers import message

pytestmark = pytest.mark.integration

COMPANY_ID = COMPANY_IDS[(constants.ENVIRONMENT, "us")]
US = (constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY)


def line_key(number: str, n: int) -> str:
    return f"{COMPANY_ID}:{gid('us', 'purchaseInvoices:line', number, str(n))}"


def test_run_now_sends_posted_purchase_lines_and_answers_its_summary(services, connector):
    name = connector()
    status, summary = run_now(name)
    assert status == 200, summary
    assert summary["status"] == "completed"
    messages = {m["key"]: m for m in sent_messages(services, name)}
    # 3 lines of PP-INV108001, 1 of 108002 (the other has no project), 108003's line on P-1002 (its P-1003
    # line is unknown, its comment skipped), the credit memo's line; the draft P-INV1001 is not posted.
    assert len(messages) == 6 == summary["sent"]
    flight = messages[line_key("PP-INV108001", 2)]
    assert flight == {
        "connector": name, "key": line_key("PP-INV108001", 2), "source": "purchaseInvoices",
        "postingDate": "2026-09-15", "documentNumber": "PP-INV108001",
        "vendor": {"number": "V10000", "name": "Fabrikam Office Supplies"}, "description": "Flights Atlanta - Chicago",
        "quantity": 2, "amount": 620, "currencyCode": "USD", "account": {"number": "60100", "name": "Travel"},
        "project": {"id": "prj/1002", "number": "P-1002"}, "activity": "Purchases", "billable": True}
    credit = [m for m in messages.values() if m["source"] == "purchaseCreditMemos"]
    assert [(c["documentNumber"], c["amount"]) for c in credit] == [("PP-CR109001", -40)]
    assert summary["unknownProjectValues"] == ["P-1003"]
    assert summary["sources"]["purchaseInvoices"]["skippedBy"] == {"comment": 1, "noProject": 1, "notPosted": 1}
    shown = json_of(call_http("get_connector", route_params={"name": name}))["expenseImport"]
    assert (shown["status"], shown["sent"], shown["failureStreak"]) == ("completed", 6, 0)
    warnings = [n for n in services.notifications if n["connector"] == name and n["event"] == "import_failed"]
    assert len(warnings) == 1 and "P-1003" in warnings[0]["message"]


def test_a_second_run_and_a_paid_invoice_send_nothing_again(services, connector, bc):
    name = connector()
    run_now(name)
    sent_messages(services, name)
    bc.set_document_status(*US, "purchaseInvoices", gid("us", "purchaseInvoices", "PP-INV108001"), "Paid")
    status, summary = run_now(name)
    assert (status, summary["sent"]) == (200, 0)
    assert summary["sources"]["purchaseInvoices"]["skippedBy"]["alreadyImported"] == 8
    assert sent_messages(services, name) == []


def test_a_document_committed_late_with_an_older_timestamp_is_imported_once(services, connector, bc):
    name = connector()
    run_now(name)
    sent_messages(services, name)
    # The fixture documents are stamped 2026-11-01T08:00; this one commits now, stamped 5 minutes earlier.
    late = bc.insert_posted_document(*US, "purchaseInvoices", vendorNumber="V20000", postingDate="2026-11-02",
                                     lastModifiedDateTime="2026-11-01T07:55:00Z",
                                     lines=[{"lineType": "Account", "lineObjectNumber": "60100", "quantity": 1,
                                             "description": "Late taxi", "unitCost": 35,
                                             "dimensions": {"PROJECT": "P-1001"}}])
    run_now(name)
    run_now(name)
    keys = [m["key"] for m in sent_messages(services, name)]
    assert keys == [f"{COMPANY_ID}:{late['lineIds'][0]}"]


def test_the_general_ledger_source_imports_expense_entries_reversals_and_late_entry_numbers(services, connector, bc):
    name = connector(source="generalLedger")
    status, summary = run_now(name)
    assert (status, summary["status"]) == (200, "completed")
    first = {m["key"]: m for m in sent_messages(services, name)}
    # Expense and cost-of-goods entries with a mapped project: 1, 2, 3 (COGS), 5, 9, 11 (credit memo), 15, 17.
    assert sorted(int(k.rsplit(":", 1)[1]) for k in first) == [1, 2, 3, 5, 9, 11, 15, 17]
    assert first[f"{COMPANY_ID}:gl:11"]["amount"] == -40
    assert first[f"{COMPANY_ID}:gl:3"]["account"] == {"number": "50100", "name": "Cost of Materials"}
    now = _dt.datetime.now(_dt.timezone.utc)
    bc.insert_ledger_entry(*US, accountNumber="60100", entryNumber=100, creditAmount=120,
                           description="Reversal of taxi", dimensions={"PROJECT": "P-1002"})
    run_now(name)
    bc.insert_ledger_entry(*US, accountNumber="60300", entryNumber=50, debitAmount=12.5,
                           dimensions={"PROJECT": "P-1001"},
                           lastModifiedDateTime=(now - _dt.timedelta(minutes=1)).isoformat())
    run_now(name)
    run_now(name)
    later = [(m["key"], m["amount"]) for m in sent_messages(services, name)]
    assert later == [(f"{COMPANY_ID}:gl:100", -120), (f"{COMPANY_ID}:gl:50", 12.5)]


def test_throttling_in_the_middle_of_an_import_is_waited_out_and_loses_nothing(services, connector, bc):
    from shared.expenses import ImportOptions

    name = connector(source="generalLedger")
    bc.bulk_insert(*US, generalLedgerEntries=200, postingDate="2026-11-02",
                   projects=["P-1001", "P-1002"])
    expenses = services.expenses(options=ImportOptions(ledger_page_size=50))
    real_send, throttled = expenses.outbox.send_many, []

    def send_then_throttle(messages):
        real_send(messages)
        if not throttled:
            throttled.append(bc.add_fault("429", count=2, retry_after=0, path="generalLedgerEntries"))

    expenses.outbox.send_many = send_then_throttle
    summary = expenses.import_one(name, budget_seconds=60)
    assert summary.status == "completed", summary.to_dict()
    statuses = [r["status"] for r in bc.requests(kind="bc") if "generalLedgerEntries" in r["path"]]
    assert statuses.count(429) == 2
    keys = [m["key"] for m in sent_messages(services, name)]
    assert len(keys) == len(set(keys)) == 208


def test_throttling_that_outlasts_the_retries_fails_the_run_and_the_next_run_continues(services, connector, bc):
    from shared.expenses import ImportOptions

    name = connector(source="generalLedger")
    bc.bulk_insert(*US, generalLedgerEntries=120, postingDate="2026-11-02",
                   projects=["P-1001", "P-1002"])
    expenses = services.expenses(options=ImportOptions(ledger_page_size=50))
    real_send = expenses.outbox.send_many

    def send_then_throttle_hard(messages):
        real_send(messages)
        bc.add_fault("429", count=10, retry_after=0, path="generalLedgerEntries")

    expenses.outbox.send_many = send_then_throttle_hard
    failed = expenses.import_one(name, budget_seconds=60)
    assert (failed.status, failed.error["code"], failed.error["retryable"]) == (
        "failed", "Application_TooManyRequests", True)
    bc.clear_faults()
    expenses.outbox.send_many = real_send
    assert expenses.import_one(name, budget_seconds=60).status == "completed"
    keys = [m["key"] for m in sent_messages(services, name)]
    assert len(keys) == len(set(keys)) == 128
    assert [n["event"] for n in services.notifications if n["connector"] == name
            and n["details"].get("reason") == "run_failed"] == ["import_failed"]


def test_a_crash_after_sending_and_before_the_cursor_is_saved_re_sends_one_page(services, connector, bc):
    from shared.expenses import ImportOptions

    name = connector(source="generalLedger")
    bc.bulk_insert(*US, generalLedgerEntries=100, postingDate="2026-11-02",
                   projects=["P-1001", "P-1002"])
    expenses = services.expenses(options=ImportOptions(ledger_page_size=40))
    real_save, saves = expenses.cursors.save, []

    def crash_on_second_page(connector_name, row, state, **kwargs):
        saves.append(row)
        if saves.count("generalLedger") == 2:
            raise OSError("the worker was recycled")
        real_save(connector_name, row, state, **kwargs)

    expenses.cursors.save = crash_on_second_page
    assert expenses.import_one(name, budget_seconds=60).status == "failed"
    expenses.cursors.save = real_save
    assert expenses.import_one(name, budget_seconds=60).status == "completed"
    keys = [m["key"] for m in sent_messages(services, name)]
    assert len(set(keys)) == 108
    assert len(keys) - len(set(keys)) == 40  # one page sent twice; the host drops the repeats by key


def test_saving_expenses_without_a_project_dimension_is_refused_with_the_choices(services, connector_name):
    document = expense_settings()
    document["projects"] = {"enabled": False}
    response = call_http("put_connector", route_params={"name": connector_name}, body=document)
    assert response.status_code == 422
    errors = {e["field"]: e for e in json_of(response)["errors"]}
    assert "Required when expenses.enabled is true" in errors["projects.dimension"]["message"]
    assert "PROJECT" in errors["projects.dimension"]["choices"]


def test_the_general_ledger_source_is_verified_on_save(services, connector):
    name = connector(source="generalLedger")
    response = call_http("put_connector", route_params={"name": name}, body=expense_settings(source="generalLedger"))
    checks = json_of(response)["checks"]
    # 60100-60400 and the blocked 60900 (Expense), 50100 and 50400 (Cost of Goods Sold)
    assert any("G/L entries on 7 expense accounts" in c for c in checks), checks


def test_run_now_for_a_connector_without_expenses_answers_422(services, connector_name):
    call_http("put_connector", route_params={"name": connector_name}, body=expense_settings(enabled=False))
    response = call_http("run_expense_import", route_params={"name": connector_name})
    assert response.status_code == 422
    assert json_of(response)["errors"][0]["field"] == "expenses.enabled"
    assert call_http("run_expense_import", route_params={"name": "no-such-one"}).status_code == 404
    call_http("delete_connector", route_params={"name": connector_name})


def test_run_now_while_another_run_holds_the_lease_answers_409(services, connector):
    from shared.expenses import IMPORT_LEASE
    from shared.adapters import TableLeaseStore

    name = connector()
    leases = TableLeaseStore(services.table("locks"), name=IMPORT_LEASE)
    lease = leases.acquire(name, "another-run", ttl=_dt.timedelta(minutes=6))
    try:
        status, summary = run_now(name)
    finally:
        lease.release()
    assert (status, summary["status"]) == (409, "busy")


def test_the_timer_imports_enabled_connectors_and_logs_a_past_due_run(services, connector, caplog):
    name = connector()
    timer = TimerRequest(past_due=True)
    with caplog.at_level(logging.INFO):
        FUNCTIONS["import_expenses"].get_user_function()(timer)
    assert "Expense import timer is past due" in caplog.text
    assert f"Expense import of connector {name} completed" in caplog.text
    assert len(sent_messages(services, name)) == 6


def _a_run_reports_p1003_unknown_and_sends_nothing_on_it(services, name: str) -> None:
    status, before = run_now(name)
    assert status == 200 and "P-1003" in before["unknownProjectValues"]
    assert all(m["project"]["number"] != "P-1003" for m in sent_messages(services, name))


def _the_next_run_sends_p1003s_costs_once_for(services, name: str, host_project: str) -> None:
    """The run after P-1003 became `host_project`'s value sends PP-INV108003's P-1003 line once, with that
    project, and no longer reports P-1003; the run after it sends nothing."""
    status, after = run_now(name)
    late = sent_messages(services, name)
    assert status == 200 and [(m["documentNumber"], m["project"]) for m in late] == [
        ("PP-INV108003", {"id": host_project, "number": "P-1003"})]
    assert "P-1003" not in after["unknownProjectValues"]
    assert "P-1003" not in services.adapters.cursors.load(name, UNKNOWN_PROJECTS_ROW)["values"]
    status, again = run_now(name)
    assert (status, again["sent"], sent_messages(services, name)) == (200, 0, [])


def test_costs_posted_before_their_project_are_sent_once_by_the_run_after_the_project_export(services, connector):
    name = connector(exports_projects=True)
    _a_run_reports_p1003_unknown_and_sends_nothing_on_it(services, name)

    exported = services.exports().process(Delivery("bc-projects", message(name, "project", {
        "id": "prj-1003", "number": "P-1003", "name": "Warehouse fit-out", "customerId": "cust-1",
        "status": "active"}), "p-1003"))
    assert exported["status"] == "updated", exported  # BC's value P-1003, adopted

    _the_next_run_sends_p1003s_costs_once_for(services, name, "prj-1003")


def test_costs_posted_on_a_value_are_sent_once_by_the_run_after_an_exported_project_is_renumbered_to_it(
        services, connector):
    name = connector(exports_projects=True)
    project = {"id": "prj-77", "number": "P-1077", "name": "Office move", "customerId": "cust-1",
               "status": "active"}
    exported = services.exports().process(Delivery("bc-projects", message(name, "project", project), "p-77-1"))
    assert (exported["status"], exported["bc"]["number"]) == ("created", "P-1077"), exported
    _a_run_reports_p1003_unknown_and_sends_nothing_on_it(services, name)

    renumbered = services.exports().process(Delivery("bc-projects", message(
        name, "project", {**project, "number": "P-1003"}, version=2), "p-77-2"))
    assert renumbered["bc"]["number"] == "P-1003", renumbered  # the host project now carries P-1003

    _the_next_run_sends_p1003s_costs_once_for(services, name, "prj-77")
