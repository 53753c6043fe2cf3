"""BC rows -> bc-expenses messages: keys, signs, the project (line, else document), accounts, skips."""

from __future__ import annotations

from shared.expenses import AccountCatalog, HostProject, ImportContext, map_document_line, map_ledger_entry
from shared.connectors._accounts import category_key
from shared.expenses._reads import DOCUMENT_KINDS

COMPANY = "5a1c6898-0000-4e8f-9b7a-5c6d7e8f9a01"
CTX = ImportContext(
    connector="acme", company_id=COMPANY, dimension="PROJECT",
    projects={"P-1": HostProject("host-1", "P-1")},
    catalog=AccountCatalog({"60100": "Travel", "50100": "Cost of Materials", "18100": "Bank"},
                           frozenset({"60100", "50100"}), "USD"),
    activity="Travel", billable=True, from_date="2026-11-01")
INVOICE = {"id": "d1", "number": "PP-INV1", "postingDate": "2026-11-02", "vendorNumber": "V1", "vendorName": "Fab",
           "currencyCode": "EUR", "status": "Open", "dimensionSetLines": [{"code": "PROJECT", "valueCode": "P-1"}]}


def line(**changes):
    return {"id": "l1", "lineType": "Account", "lineObjectNumber": "60100", "description": "Flight", "quantity": 2,
            "netAmount": 620, "dimensionSetLines": [], **changes}


def entry(**changes):
    return {"id": "e", "entryNumber": 17, "postingDate": "2026-11-03", "documentNumber": "G1", "accountNumber": "60100",
            "description": "Taxi", "debitAmount": 120, "creditAmount": 0,
            "dimensionSetLines": [{"code": "PROJECT", "valueCode": "P-1"}], **changes}


def test_an_invoice_line_becomes_the_contract_message():
    message = map_document_line(CTX, DOCUMENT_KINDS["purchaseInvoices"], INVOICE, line()).message
    assert message == {
        "connector": "acme", "key": f"{COMPANY}:l1", "source": "purchaseInvoices", "postingDate": "2026-11-02",
        "documentNumber": "PP-INV1", "vendor": {"number": "V1", "name": "Fab"}, "description": "Flight",
        "quantity": 2, "amount": 620, "currencyCode": "EUR", "account": {"number": "60100", "name": "Travel"},
        "project": {"id": "host-1", "number": "P-1"}, "activity": "Travel", "billable": True}


def test_a_credit_memo_line_reduces_the_cost():
    message = map_document_line(CTX, DOCUMENT_KINDS["purchaseCreditMemos"], INVOICE, line(netAmount=40.5,
                                                                                          quantity=1)).message
    assert (message["amount"], message["quantity"], message["source"]) == (-40.5, -1, "purchaseCreditMemos")


def test_the_line_s_project_wins_over_the_document_s():
    mapped = map_document_line(CTX, DOCUMENT_KINDS["purchaseInvoices"], INVOICE,
                               line(dimensionSetLines=[{"code": "PROJECT", "valueCode": "P-9"}]))
    assert mapped.message is None and mapped.unknown == "P-9"


def test_a_line_without_the_dimension_is_skipped_when_its_document_has_none_either():
    document = {**INVOICE, "dimensionSetLines": [{"code": "DEPARTMENT", "valueCode": "ADM"}]}
    assert map_document_line(CTX, DOCUMENT_KINDS["purchaseInvoices"], document, line()).skipped == "noProject"


def test_item_lines_carry_no_account_and_comment_lines_are_skipped():
    item = map_document_line(CTX, DOCUMENT_KINDS["purchaseInvoices"], INVOICE,
                             line(lineType="Item", lineObjectNumber="1896-S")).message
    assert item["account"] == {"number": None, "name": None}
    comment = map_document_line(CTX, DOCUMENT_KINDS["purchaseInvoices"], INVOICE, line(lineType="Comment"))
    assert comment.skipped == "comment"


def test_a_ledger_debit_is_a_cost_and_a_credit_a_reversal():
    debit = map_ledger_entry(CTX, entry()).message
    assert debit["key"] == f"{COMPANY}:gl:17"
    assert (debit["amount"], debit["quantity"], debit["currencyCode"]) == (120, 1, "USD")
    assert debit["vendor"] == {"number": None, "name": None}
    reversal = map_ledger_entry(CTX, entry(debitAmount=0, creditAmount=120)).message
    assert (reversal["amount"], reversal["quantity"]) == (-120, -1)


def test_ledger_entries_outside_the_expense_categories_are_skipped():
    assert map_ledger_entry(CTX, entry(accountNumber="18100")).skipped == "notExpenseAccount"
    assert map_ledger_entry(CTX, entry(accountNumber="50100")).message["account"]["name"] == "Cost of Materials"


def test_category_spellings_of_the_api_and_of_the_client_are_the_same_key():
    assert category_key("Cost_x0020_of_x0020_Goods_x0020_Sold") == category_key("Cost of Goods Sold") == \
        "costofgoodssold"


def test_amount_float_noise_is_rounded_away():
    message = map_ledger_entry(CTX, entry(debitAmount=0.1 + 0.2, creditAmount=0)).message
    assert message["amount"] == 0.3
