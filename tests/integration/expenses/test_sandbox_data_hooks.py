"""The sandbox's data hooks for imports (sandbox/bc/_bulk.py): bulk volume, late commits, payments."""

from __future__ import annotations

import pytest

from sandbox import constants
from sandbox.admin import SandboxAdminError

pytestmark = pytest.mark.integration

US = (constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY)


def counts(bc):
    company = bc.world()["bc"]["tenants"][0]["environments"][0]["companies"][0]
    assert company["name"] == constants.US_COMPANY
    return company["counts"]


def test_bulk_insert_appends_posted_invoices_and_ledger_entries_after_the_fixtures(bc):
    before = counts(bc)
    added = bc.bulk_insert(*US, purchaseInvoiceLines=25, linesPerDocument=10, generalLedgerEntries=30)
    assert (added["purchaseInvoices"], added["purchaseInvoiceLines"], added["generalLedgerEntries"]) == (3, 25, 30)
    assert (added["firstEntryNumber"], added["lastEntryNumber"]) == (19, 48)
    after = counts(bc)
    assert after["purchaseInvoices"] == before["purchaseInvoices"] + 3
    assert after["generalLedgerEntries"] == before["generalLedgerEntries"] + 30


def test_a_late_ledger_entry_takes_a_free_lower_number_and_a_taken_one_is_refused(bc):
    bc.bulk_insert(*US, generalLedgerEntries=5)  # 19..23
    bc.insert_ledger_entry(*US, accountNumber="60100", entryNumber=30, debitAmount=1)
    late = bc.insert_ledger_entry(*US, accountNumber="60100", entryNumber=25, debitAmount=2,
                                  lastModifiedDateTime="2026-11-01T07:00:00Z", dimensions={"PROJECT": "P-1001"})
    assert (late["entryNumber"], late["lastModifiedDateTime"]) == (25, "2026-11-01T07:00:00.000Z")
    with pytest.raises(SandboxAdminError, match="G/L entry number 25 is taken"):
        bc.insert_ledger_entry(*US, accountNumber="60100", entryNumber=25, debitAmount=3)


def test_a_posted_document_keeps_the_old_stamp_it_was_given_and_paying_it_stamps_it_anew(bc):
    doc = bc.insert_posted_document(*US, "purchaseCreditMemos", vendorNumber="V10000",
                                    lastModifiedDateTime="2026-11-01T07:00:00Z",
                                    lines=[{"lineType": "Account", "lineObjectNumber": "60200", "quantity": 1,
                                            "unitCost": 9, "dimensions": {"PROJECT": "P-1002"}}])
    assert doc["number"] == "PP-CR109002" and doc["lastModifiedDateTime"] == "2026-11-01T07:00:00.000Z"
    paid = bc.set_document_status(*US, "purchaseCreditMemos", doc["id"], "Paid")
    assert paid["status"] == "Paid" and paid["lastModifiedDateTime"] > doc["lastModifiedDateTime"]
    with pytest.raises(SandboxAdminError, match="status"):
        bc.set_document_status(*US, "purchaseCreditMemos", doc["id"], "Draft")
