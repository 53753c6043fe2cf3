"""The timer's loop over connectors, the run summary on the connector, and what saving a connector with
expenses enabled verifies."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.unit.expenses._fakes import COMPANY_ID, NAME, World, settings_document

from shared.connectors import ConnectorRecord, SettingsInvalid, parse_connector_settings, verify_settings


def add_connector(world, name, *, enabled=True, started_at=None):
    settings = parse_connector_settings(settings_document(enabled=enabled))
    stats = {"expenseImport": {"startedAt": started_at}} if started_at else {}
    world.store.create(ConnectorRecord(name=name, settings=settings, status="connected", company_id=COMPANY_ID,
                                       company_name="CRONUS", tax_mode="salesTax", refresh_token_expires_at=None,
                                       stats=stats))


def test_the_timer_runs_enabled_connectors_least_recently_imported_first():
    world = World()
    add_connector(world, "zeta", started_at="2026-11-19T00:00:00.000Z")
    add_connector(world, "off", enabled=False)
    record = world.store.get(NAME)
    record.stats = {"expenseImport": {"startedAt": "2026-11-20T00:00:00.000Z"}}
    world.store.update(record)
    add_connector(world, "fresh")
    summaries = world.importer().import_all(budget_seconds=60)
    assert [s.connector for s in summaries] == ["fresh", "zeta", NAME]


def test_the_timer_leaves_connectors_for_the_next_run_when_the_budget_is_spent(caplog):
    world = World(tick=2.0)
    add_connector(world, "second")
    summaries = world.importer().import_all(budget_seconds=7)
    assert len(summaries) == 1
    assert "connectors wait for the next run" in caplog.text


def test_the_stats_update_survives_a_concurrent_change_of_the_connector():
    world = World()
    world.bc.post_document(lines=[{"project": "P-1"}])
    real_update, raced = world.store.update, []

    def update_after_someone_else(record):
        if not raced:
            raced.append(True)
            other = world.store.get(record.name)
            other.stats = {**other.stats, "exportedCustomers": 7}
            real_update(other)
        return real_update(record)

    world.store.update = update_after_someone_else
    world.run()
    stats = world.store.get(NAME).stats
    assert stats["exportedCustomers"] == 7 and stats["expenseImport"]["sent"] == 1


class _Bc:
    """Just enough BC for verify_settings: one company and the look-up $batch."""

    def __init__(self, accounts):
        self.accounts = accounts
        self.urls: list[str] = []

    def list_companies(self):
        return [{"id": COMPANY_ID, "name": "CRONUS"}]

    def batch(self, operations):
        self.urls += [op["url"] for op in operations]
        values = {"dimensions": [{"code": "PROJECT"}, {"code": "DEPARTMENT"}], "accounts": self.accounts,
                  "taxGroups": [{"code": "TAXABLE", "taxType": "Sales_x0020_Tax"}]}
        return [{"id": op["id"], "status": 200, "body": {"value": values.get(op["id"], [])}} for op in operations]


def settings(**expenses):
    document = settings_document(**expenses)
    document["projects"] = {"enabled": False, "dimension": "PROJECT"}
    return parse_connector_settings(document)


def test_saving_general_ledger_expenses_needs_accounts_in_the_expense_categories():
    with pytest.raises(SettingsInvalid) as invalid:
        verify_settings(settings(source="generalLedger"), _Bc([{"number": "40100", "category": "Income"}]),
                        client_id="app")
    error = invalid.value.errors[0]
    assert error.field == "expenses.source" and "Expense or Cost of Goods Sold" in error.message


def test_saving_purchase_invoice_expenses_reads_no_accounts_and_says_what_will_be_imported():
    bc = _Bc([])
    verification = verify_settings(settings(), bc, client_id="app")
    assert not any("accounts" in url for url in bc.urls)
    assert any(c.startswith("Expenses: posted purchase invoice and credit memo lines carrying dimension PROJECT")
               for c in verification.checks)


def test_saving_expenses_with_an_unknown_project_dimension_names_the_choices():
    document = settings_document()
    document["projects"] = {"enabled": False, "dimension": "JOBS"}
    with pytest.raises(SettingsInvalid) as invalid:
        verify_settings(parse_connector_settings(document), _Bc([]), client_id="app")
    error = invalid.value.errors[0]
    assert (error.field, error.choices) == ("projects.dimension", ("PROJECT", "DEPARTMENT"))


def test_storage_refusing_the_lease_fails_the_run_with_a_retryable_error():
    world = World()

    class BrokenLeases:
        def acquire(self, *args, **kwargs):
            raise ConnectionError("Azure Storage is unreachable")

    summary = world.run(leases=BrokenLeases())
    assert (summary.status, summary.error["retryable"]) == ("failed", True)
    assert world.bc.requests == []


def test_one_connector_s_unexpected_trouble_does_not_stop_the_timer_for_the_others():
    world = World()
    add_connector(world, "broken")
    record = world.store.get("broken")
    record.settings = replace(record.settings, expenses_enabled=True, expenses_from_date=None,  # a stored
                              expenses_activity=None, expenses_source="purchaseInvoices")  # document gone bad
    world.store.update(record)
    summaries = world.importer().import_all(budget_seconds=60)
    assert [s.connector for s in summaries] == [NAME]
