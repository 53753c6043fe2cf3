"""Sales invoices (deep insert, taxes, number series, posting), lines and dimension set lines."""

from __future__ import annotations

from sandbox import constants as C

from ._client import VAT, company_path, odata_path, us_id

INVOICES = company_path() + "/salesInvoices"


def invoice_body(**extra) -> dict:
    body = {
        "customerNumber": "C10000",
        "externalDocumentNumber": "PSA-000123",
        "salesInvoiceLines": [
            {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 2},
            {"lineType": "Item", "lineObjectNumber": "WRITE-IN", "description": "Workshop facilitation",
             "quantity": 3, "unitPrice": 100, "unitOfMeasureCode": "HOUR", "taxCode": "NONTAXABLE"},
        ],
        "dimensionSetLines": [{"code": "PROJECT", "valueCode": "P-1001"}],
    }
    body.update(extra)
    return body


def lines_of(bc, invoice_id: str, company: str = company_path()) -> list[dict]:
    return bc.get(company + "/salesInvoices(%s)/salesInvoiceLines" % invoice_id).value


def by_external(bc, number: str) -> list[dict]:
    return bc.get(INVOICES + "?$filter=externalDocumentNumber eq '%s'" % number).value


def test_deep_insert_creates_header_lines_and_dimensions_and_answers_201(bc):
    answer = bc.post(INVOICES + "?$expand=salesInvoiceLines,dimensionSetLines", invoice_body())
    assert answer.status == 201
    invoice = answer.body
    assert invoice["number"] == "S-INV100003"
    assert invoice["status"] == "Draft"
    assert invoice["customerName"] == "Adatum Corporation"
    lines = invoice["salesInvoiceLines"]
    assert [(ln["sequence"], ln["lineObjectNumber"], ln["unitOfMeasureCode"]) for ln in lines] == [
        (10000, "1896-S", "PCS"), (20000, "WRITE-IN", "HOUR")]
    desk, write_in = lines
    assert (desk["unitPrice"], desk["amountExcludingTax"], desk["taxCode"], desk["taxPercent"]) == (
        1000.8, 2001.6, "TAXABLE", 8.9)
    assert desk["totalTaxAmount"] == 178.14
    assert (write_in["description"], write_in["amountExcludingTax"], write_in["taxPercent"]) == (
        "Workshop facilitation", 300, 0)
    assert invoice["totalAmountExcludingTax"] == 2301.6
    assert invoice["totalTaxAmount"] == 178.14
    assert invoice["totalAmountIncludingTax"] == 2479.74
    dims = {d["code"]: d["valueCode"] for d in invoice["dimensionSetLines"]}
    assert dims == {"PROJECT": "P-1001", "DEPARTMENT": "SALES"}  # DEPARTMENT: the customer's default dimension
    assert invoice["shortcutDimension2Code"] == "P-1001"


def test_lines_inherit_the_header_dimensions(bc):
    invoice = bc.post(INVOICES, invoice_body()).body
    line = lines_of(bc, invoice["id"])[0]
    dims = bc.get(INVOICES + "(%s)/salesInvoiceLines(%s)/dimensionSetLines" % (invoice["id"], line["id"])).value
    assert {d["code"]: d["valueCode"] for d in dims} == {"PROJECT": "P-1001", "DEPARTMENT": "SALES"}


def test_deep_insert_is_atomic_when_a_line_fails(bc):
    body = invoice_body(externalDocumentNumber="PSA-ATOMIC")
    body["salesInvoiceLines"].append({"lineType": "Item", "lineObjectNumber": "NO-SUCH-ITEM", "quantity": 1})
    answer = bc.post(INVOICES, body)
    assert answer.status == 400
    assert answer.message == "Item does not exist."
    assert by_external(bc, "PSA-ATOMIC") == []
    # the number drawn for the failed invoice was rolled back with it
    assert bc.post(INVOICES, invoice_body()).body["number"] == "S-INV100003"


def test_a_customer_number_or_id_is_required(bc):
    answer = bc.post(INVOICES, {"externalDocumentNumber": "X"})
    assert answer.error_code == "Application_DialogException"
    assert answer.message == 'A "customerNumber" or a "customerId" must be provided.'


def test_an_unknown_customer_is_rejected(bc):
    answer = bc.post(INVOICES, {"customerNumber": "C99999"})
    assert answer.message == "The sell-to customer cannot be found."


def test_a_blocked_customer_gets_no_invoice(bc):
    answer = bc.post(INVOICES, {"customerNumber": "C40000"})
    assert answer.status == 400
    assert answer.message == "You cannot create this type of document when Customer C40000 is blocked with type All"


def test_a_client_number_needs_manual_nos_on_the_invoice_series(bc, world):
    refused = bc.post(INVOICES, invoice_body(number="PSA-42"))
    assert refused.status == 400
    assert refused.error_code == "Application_DialogException"
    assert refused.message == ("You may not enter numbers manually. If you want to enter numbers manually, please "
                               "activate Manual Nos. in No. Series S-INV.")
    world.set_manual_nos(C.TENANT_ID, C.ENVIRONMENT, C.US_COMPANY, "S-INV", True)
    accepted = bc.post(INVOICES, invoice_body(number="psa-42"))
    assert accepted.status == 201 and accepted.body["number"] == "PSA-42"
    duplicate = bc.post(INVOICES, invoice_body(number="PSA-42"))
    assert duplicate.error_code == "Internal_EntityWithSameKeyExists"


def test_external_document_number_is_code_35(bc):
    too_long = bc.post(INVOICES, invoice_body(externalDocumentNumber="X" * 36))
    assert too_long.error_code == "Application_StringExceededLength"
    created = bc.post(INVOICES, invoice_body(externalDocumentNumber="psa-lower")).body
    assert created["externalDocumentNumber"] == "PSA-LOWER"
    assert [i["id"] for i in by_external(bc, "PSA-LOWER")] == [created["id"]]


def test_unit_of_measure_must_exist_and_belong_to_the_item(bc):
    unknown = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 1, "unitOfMeasureCode": "XYZ"}]))
    assert unknown.error_code == "Internal_InvalidTableRelation"
    assert unknown.message == ("The field Unit of Measure Code of table Sales Line contains a value (XYZ) that cannot "
                               "be found in the related table (Unit of Measure).")
    not_for_item = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 1, "unitOfMeasureCode": "BOX"}]))
    assert "related table (Item Unit of Measure)" in not_for_item.message


def test_tax_code_is_a_tax_group_in_a_sales_tax_company(bc):
    ok = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 1, "taxCode": "taxable"}]))
    assert ok.status == 201
    vat_code = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 1, "taxCode": "STANDARD"}]))
    assert vat_code.message == ("The field Tax Group Code of table Sales Line contains a value (STANDARD) that cannot "
                                "be found in the related table (Tax Group).")


def test_tax_code_is_a_vat_product_posting_group_in_a_vat_company(bc):
    invoices = company_path(VAT) + "/salesInvoices"
    domestic = bc.post(invoices, {"customerNumber": "K10000", "salesInvoiceLines": [
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2, "unitPrice": 100, "taxCode": "STANDARD"}]})
    assert domestic.status == 201
    assert (domestic.body["totalTaxAmount"], domestic.body["totalAmountIncludingTax"]) == (38, 238)
    eu = bc.post(invoices, {"customerNumber": "K20000", "salesInvoiceLines": [
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2, "unitPrice": 100}]})
    assert eu.body["totalTaxAmount"] == 0
    us_group = bc.post(invoices, {"customerNumber": "K10000", "salesInvoiceLines": [
        {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 1, "taxCode": "TAXABLE"}]})
    assert us_group.message == ("The field VAT Prod. Posting Group of table Sales Line contains a value (TAXABLE) that "
                                "cannot be found in the related table (VAT Product Posting Group).")


def test_tax_groups_and_areas_report_the_tax_type_of_the_company(bc):
    us = {g["code"]: g["taxType"] for g in bc.get(company_path() + "/taxGroups").value}
    vat = {g["code"]: g["taxType"] for g in bc.get(company_path(VAT) + "/taxGroups").value}
    assert us == {"LABOR": "Sales_x0020_Tax", "MATERIALS": "Sales_x0020_Tax", "NONTAXABLE": "Sales_x0020_Tax",
                  "TAXABLE": "Sales_x0020_Tax"}
    assert vat == {"REDUCED": "VAT", "STANDARD": "VAT", "ZERO": "VAT"}
    assert {a["code"] for a in bc.get(company_path(VAT) + "/taxAreas").value} == {"DOMESTIC", "EU", "EXPORT"}


def test_account_item_and_comment_lines_follow_bc_rules(bc):
    blocked = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"lineType": "Item", "lineObjectNumber": "1999-B", "quantity": 1}]))
    assert blocked.error_code == "Application_FieldValidationException"
    assert blocked.message == "Blocked must be equal to 'No'  in Item: No.=1999-B. Current value is 'Yes'."
    no_direct = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"lineType": "Account", "lineObjectNumber": "13100", "quantity": 1, "unitPrice": 5}]))
    assert no_direct.message == ("Direct Posting must be equal to 'Yes'  in G/L Account: No.=13100. Current value is "
                                 "'No'.")
    both = bc.post(INVOICES, invoice_body(salesInvoiceLines=[
        {"itemId": us_id("items", "1000"), "accountId": us_id("accounts", "40400"), "quantity": 1}]))
    assert both.message == 'Both "itemId" and "accountId" are specified. Specify only one of them.'
    ok = bc.post(INVOICES + "?$expand=salesInvoiceLines", invoice_body(salesInvoiceLines=[
        {"lineType": "Account", "lineObjectNumber": "40400", "quantity": 2, "unitPrice": 50},
        {"itemId": us_id("items", "1100"), "quantity": 1},
        {"lineType": "Comment", "description": "Thank you for your business"}]))
    assert ok.status == 201
    kinds = [(ln["lineType"], ln["lineObjectNumber"], ln["amountExcludingTax"]) for ln in ok.body["salesInvoiceLines"]]
    assert kinds == [("Account", "40400", 100), ("Item", "1100", 1200), ("Comment", "", 0)]


def test_a_line_object_number_without_a_line_type_is_refused(bc):
    answer = bc.post(INVOICES, invoice_body(salesInvoiceLines=[{"lineObjectNumber": "1000", "quantity": 1}]))
    assert answer.status == 400
    assert '"lineType"' in answer.message


def test_posting_gives_a_posted_number_and_keeps_id_and_external_number(bc):
    invoice = bc.post(INVOICES, invoice_body()).body
    posted = bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % invoice["id"])
    assert posted.status == 204 and posted.body is None
    after = bc.get(INVOICES + "(%s)" % invoice["id"]).body
    assert after["number"] == "PS-INV103002"
    assert after["status"] == "Open"
    assert after["externalDocumentNumber"] == "PSA-000123"
    assert after["remainingAmount"] == after["totalAmountIncludingTax"] == 2479.74
    entries = bc.get(company_path() + "/generalLedgerEntries?$filter=documentNumber eq 'PS-INV103002'").value
    assert round(sum(e["debitAmount"] for e in entries), 2) == round(sum(e["creditAmount"] for e in entries), 2)
    assert {e["accountNumber"] for e in entries} == {"13100", "40100", "22500"}


def test_a_posted_invoice_can_no_longer_be_patched_or_deleted(bc):
    invoice = bc.post(INVOICES, invoice_body()).body
    bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % invoice["id"])
    target = INVOICES + "(%s)" % invoice["id"]
    patched = bc.patch(target, {"externalDocumentNumber": "PSA-OTHER"})
    assert patched.status == 400
    assert patched.message == "The invoice has been posted and can no longer be modified."
    deleted = bc.delete(target)
    assert deleted.message == "The invoice has been posted and can no longer be deleted."
    again = bc.post(target + "/Microsoft.NAV.post")
    assert again.message == "The action can be applied to a draft invoice only."


def test_posting_needs_the_customer_posting_groups(bc):
    invoice = bc.post(INVOICES, invoice_body(customerNumber="C50000")).body
    answer = bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % invoice["id"])
    assert answer.status == 400
    assert answer.error_code == "Application_FieldValidationException"
    assert answer.message == ("Gen. Bus. Posting Group must have a value in Customer: No.=C50000. It cannot be zero "
                              "or empty.")
    card = odata_path(C.US_COMPANY) + "/Customer_Card('C50000')"
    bc.patch(card, {"Gen_Bus_Posting_Group": "DOMESTIC"})
    second = bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % invoice["id"])
    assert second.message == ("Customer Posting Group must have a value in Customer: No.=C50000. It cannot be zero or "
                              "empty.")
    bc.patch(card, {"Customer_Posting_Group": "DOMESTIC"})
    assert bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % invoice["id"]).status == 204


def test_posting_needs_lines_with_quantities(bc):
    empty = bc.post(INVOICES, {"customerNumber": "C10000"}).body
    assert bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % empty["id"]).message == (
        "Please add at least one line item to the invoice.")
    comments = bc.post(INVOICES, {"customerNumber": "C10000", "salesInvoiceLines": [
        {"lineType": "Comment", "description": "Just a note"}]}).body
    assert bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % comments["id"]).message == "There is nothing to post."
    zero = bc.post(INVOICES, {"customerNumber": "C10000", "salesInvoiceLines": [
        {"lineType": "Item", "lineObjectNumber": "1000"}]}).body
    assert bc.post(INVOICES + "(%s)/Microsoft.NAV.post" % zero["id"]).message == (
        "One or more document lines with a value in the No. field do not have a quantity specified.")


def test_lines_can_be_added_changed_and_deleted_and_totals_follow(bc):
    invoice = bc.post(INVOICES, {"customerNumber": "C30000"}).body
    lines = INVOICES + "(%s)/salesInvoiceLines" % invoice["id"]
    line = bc.post(lines, {"lineType": "Item", "lineObjectNumber": "1000", "quantity": 2}).body
    assert bc.get(INVOICES + "(%s)" % invoice["id"]).body["totalAmountExcludingTax"] == 300
    changed = bc.patch(lines + "(%s)" % line["id"], {"quantity": 5}, etag=line["@odata.etag"])
    assert changed.status == 200 and changed.body["amountExcludingTax"] == 750
    assert bc.get(INVOICES + "(%s)" % invoice["id"]).body["totalAmountExcludingTax"] == 750
    sequence = bc.patch(lines + "(%s)" % line["id"], {"sequence": 99999})
    assert sequence.message == 'The value for "sequence" cannot be modified. Delete and insert the line again.'
    assert bc.delete(lines + "(%s)" % line["id"]).status == 204
    assert bc.get(INVOICES + "(%s)" % invoice["id"]).body["totalAmountExcludingTax"] == 0


def test_an_invoice_discount_is_allocated_to_the_lines_before_tax(bc):
    invoice = bc.post(INVOICES, {"customerNumber": "C10000", "discountAmount": 100, "salesInvoiceLines": [
        {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1, "unitPrice": 300},
        {"lineType": "Item", "lineObjectNumber": "1900-S", "quantity": 1, "unitPrice": 100}]}).body
    allocations = [ln["invoiceDiscountAllocation"] for ln in lines_of(bc, invoice["id"])]
    assert allocations == [75, 25]
    assert invoice["totalAmountExcludingTax"] == 300
    assert invoice["totalTaxAmount"] == 26.71  # 8.9 % of 225 and of 75, rounded per line


def test_dimension_set_lines_are_created_patched_and_deleted_under_their_parent(bc):
    invoice = bc.post(INVOICES, {"customerNumber": "C20000"}).body
    dims = INVOICES + "(%s)/dimensionSetLines" % invoice["id"]
    created = bc.post(dims, {"code": "project", "valueCode": "p-1002"})
    assert created.status == 201
    assert (created.body["id"], created.body["valueCode"]) == (us_id("dimensions", "PROJECT"), "P-1002")
    assert created.body["parentType"] == "Sales_x0020_Invoice"
    line = dims + "(%s)" % created.body["id"]
    assert bc.patch(line, {"valueCode": "P-1003"}, etag=None).error_code == "BadRequest_InvalidToken"
    patched = bc.patch(line, {"valueCode": "P-1003"}, etag=created.body["@odata.etag"])
    assert patched.status == 200 and patched.body["valueCode"] == "P-1003"
    assert bc.get(INVOICES + "(%s)" % invoice["id"]).body["shortcutDimension2Code"] == "P-1003"
    assert bc.delete(line).status == 204
    assert bc.get(dims).value == []


def test_dimension_set_line_errors_use_bc_texts(bc):
    invoice = bc.post(INVOICES, {"customerNumber": "C10000"}).body
    dims = INVOICES + "(%s)/dimensionSetLines" % invoice["id"]
    assert bc.post(dims, {"code": "COLOR", "valueCode": "RED"}).message == 'The "code" does not match to a Dimension.'
    assert bc.post(dims, {"code": "PROJECT", "valueCode": "P-7777"}).message == (
        'The "valueCode" does not match to a Dimension Value.')
    assert bc.post(dims, {"code": "PROJECT", "valueCode": "P-0999"}).message == (
        "Dimension Value PROJECT - P-0999 is blocked.")
    assert bc.post(dims, {"valueCode": "P-1001"}).message == 'The "id" or "code" field must be filled in.'
    # C10000 has DEPARTMENT as a default dimension: the invoice already carries it
    duplicate = bc.post(dims, {"code": "DEPARTMENT", "valueCode": "ADM"})
    assert duplicate.message == ("The dimension set line already exists. Check existing dimension set lines and the "
                                 "default dimension set lines on the parent.")


def test_dimension_set_lines_of_general_ledger_entries_are_read_only(bc):
    entry = bc.get(company_path() + "/generalLedgerEntries?$filter=documentNumber eq 'G00002'").value[0]
    answer = bc.post(company_path() + "/generalLedgerEntries(%s)/dimensionSetLines" % entry["id"],
                     {"code": "AREA", "valueCode": "10"})
    assert answer.status == 400
    assert answer.message == ("Parent with ID %s does not exist or dimension set lines are read only for parent type "
                              "General Ledger Entry." % entry["id"])


def test_purchase_credit_memos_are_served_like_purchase_invoices(bc):
    memo = bc.get(company_path() + "/purchaseCreditMemos?$expand=purchaseCreditMemoLines($expand=dimensionSetLines)")
    assert memo.status == 200
    doc = memo.value[0]
    assert (doc["number"], doc["status"], doc["invoiceNumber"]) == ("PP-CR109001", "Open", "PP-INV108001")
    assert doc["creditMemoDate"] == "2026-10-20"
    line = doc["purchaseCreditMemoLines"][0]
    assert (line["netAmount"], line["dimensionSetLines"][0]["valueCode"]) == (40, "P-1001")


def test_deep_insert_lines_carry_their_own_dimension_set_lines(bc):
    body = invoice_body()
    body["salesInvoiceLines"][0]["dimensionSetLines"] = [{"code": "AREA", "valueCode": "30"}]
    invoice = bc.post(INVOICES, body).body
    desk, write_in = lines_of(bc, invoice["id"])
    dims = INVOICES + "(%s)/salesInvoiceLines(%s)/dimensionSetLines"
    desk_dims = {d["code"]: d["valueCode"] for d in bc.get(dims % (invoice["id"], desk["id"])).value}
    assert desk_dims == {"AREA": "30", "PROJECT": "P-1001", "DEPARTMENT": "SALES"}
    assert "AREA" not in {d["code"] for d in bc.get(dims % (invoice["id"], write_in["id"])).value}


def test_a_line_dimension_the_line_already_inherited_is_a_duplicate(bc):
    # Lines take the header's dimensions when they are inserted; repeating one on the line is BC's duplicate
    # (PATCH the line's dimension set line instead). Order inferred: header dimension lines are applied first.
    body = invoice_body()
    body["salesInvoiceLines"][0]["dimensionSetLines"] = [{"code": "PROJECT", "valueCode": "P-1002"}]
    answer = bc.post(INVOICES, body)
    assert answer.status == 400
    assert answer.message.startswith("The dimension set line already exists.")
