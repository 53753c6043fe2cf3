"""Invoices end to end: one deep insert, lines, tax modes, dimensions, numbers, posting and updates."""

from __future__ import annotations

import pytest

from sandbox import constants
from tests.integration.exports._helpers import (
    customer_data,
    describe,
    invoice_data,
    line,
)

pytestmark = pytest.mark.integration


def lines_of(invoice: dict) -> list[dict]:
    return sorted(invoice["salesInvoiceLines"], key=lambda ln: ln["sequence"])


def dims_of(record: dict) -> dict[str, str]:
    return {d["code"]: d["valueCode"] for d in record.get("dimensionSetLines") or []}


def test_a_new_invoice_exports_its_customer_first_then_is_one_deep_insert(exp):
    exp.save()
    mark = exp.mark()
    outcome = exp.send("invoice", invoice_data(
        "psa-1001", yourReference="PO 4711", currencyCode="USD",
        lines=[line("Desk", 1, 950, product={"number": "1896-S", "name": "Desk"}, discountPercent=10),
               line("Workshop travel", 3, 40),
               line("Consulting", 8, 150, product={"number": "1000"}, unitOfMeasure="hour")]))
    assert outcome["status"] == "created", outcome
    calls = describe(exp.bc_since(mark))
    assert calls[:2] == [f"POST v2.0/companies({exp.company_id})/customers",
                         "PATCH Company('CRONUS%20USA%2C%20Inc.')/Customer_Card('C00011')"]
    assert calls[-1] == f"POST v2.0/companies({exp.company_id})/salesInvoices"
    invoice = exp.invoice(outcome["bc"]["id"])
    customer = exp.ledger("customer", "cust-1")
    assert invoice["customerId"] == customer.bc_id
    assert (invoice["externalDocumentNumber"], invoice["invoiceDate"], invoice["postingDate"], invoice["dueDate"],
            invoice["customerPurchaseOrderReference"], invoice["status"]) == (
        "PSA-1001", "2026-11-20", "2026-11-20", "2026-12-20", "PO 4711", "Draft")
    assert invoice["number"] == outcome["bc"]["number"]
    got = [(ln["lineObjectNumber"], ln["description"], ln["quantity"], ln["unitPrice"], ln["discountPercent"],
            ln["unitOfMeasureCode"], ln["taxCode"]) for ln in lines_of(invoice)]
    assert got == [("1896-S", "Desk", 1, 950, 10, "PCS", "TAXABLE"),
                   ("WRITE-IN", "Workshop travel", 3, 40, 0, "PCS", "TAXABLE"),
                   ("1000", "Consulting", 8, 150, 0, "HOUR", "TAXABLE")]


def test_in_steady_state_a_new_invoice_costs_exactly_one_bc_request(exp):
    exp.save()
    exp.send("invoice", invoice_data("PSA-1"))
    for n in range(2, 5):
        mark = exp.mark()
        assert exp.send("invoice", invoice_data(f"PSA-{n}"))["status"] == "created"
        assert describe(exp.bc_since(mark)) == [f"POST v2.0/companies({exp.company_id})/salesInvoices"]


def test_with_taxes_disabled_a_us_invoice_carries_no_sales_tax(exp):
    exp.save(defaults__taxGroupCode=None)
    outcome = exp.send("invoice", invoice_data())
    invoice = exp.invoice(outcome["bc"]["id"])
    assert invoice["totalTaxAmount"] == 0
    assert exp.customer(exp.ledger("customer", "cust-1").bc_id)["taxLiable"] is False


def test_a_vat_invoice_takes_the_items_vat_group_and_sends_no_us_tax_fields(exp):
    exp.save("vat")
    data = invoice_data(customer=customer_data(invoiceAddress={"city": "Hamburg", "countryCode": "DE"}),
                        lines=[line("Beratung", 2, 100, product={"number": "1000"}, unitOfMeasure="HOUR")])
    outcome = exp.send("invoice", data)
    assert outcome["status"] == "created", outcome
    invoice = exp.invoice(outcome["bc"]["id"])
    [only] = lines_of(invoice)
    assert only["taxCode"] == "STANDARD"  # the item's VAT Prod. Posting Group, not a US tax group
    assert invoice["totalTaxAmount"] == 38


def test_project_and_department_are_on_the_header_and_inherited_by_every_line(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data(project={"id": "prj-7", "number": "P-1002", "name": "ERP rollout"},
                                               department={"code": "prod", "name": "Production"},
                                               lines=[line(), line("Second", 1, 10)]))
    invoice = exp.invoice(outcome["bc"]["id"])
    assert dims_of(invoice) == {"DEPARTMENT": "PROD", "PROJECT": "P-1002"}
    client = exp.client()
    for ln in lines_of(invoice):
        rows = client.list_entities(exp.company_id,
                                    f"salesInvoices({invoice['id']})/salesInvoiceLines({ln['id']})/dimensionSetLines")
        assert {r["code"]: r["valueCode"] for r in rows} == {"DEPARTMENT": "PROD", "PROJECT": "P-1002"}


def test_a_project_bc_does_not_know_yet_is_created_before_the_invoice(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data(project={"id": "prj-9", "number": "P-3001", "name": "New site"}))
    assert outcome["status"] == "created", outcome
    assert exp.dimension_value("PROJECT", "P-3001")["Name"] == "New site"
    assert dims_of(exp.invoice(outcome["bc"]["id"]))["PROJECT"] == "P-3001"


def test_the_department_can_come_from_the_project_tag_group(exp):
    exp.save(invoices__departmentSource="projectTagGroup", invoices__departmentTagGroup="Department")
    outcome = exp.send("invoice", invoice_data(department={"code": "SALES"},
                                               projectTags=[{"group": "Region", "value": "North"},
                                                            {"group": "department", "value": "adm"}]))
    assert dims_of(exp.invoice(outcome["bc"]["id"]))["DEPARTMENT"] == "ADM"


def test_the_invoice_department_overrides_the_customers_default_dimension(exp):
    exp.save(customers__enabled=False)
    data = invoice_data(customer=customer_data("adatum", number="C10000"), department={"code": "ADM"})
    outcome = exp.send("invoice", data)
    assert outcome["status"] == "created", outcome
    assert dims_of(exp.invoice(outcome["bc"]["id"]))["DEPARTMENT"] == "ADM"  # C10000's default is SALES


def test_a_dimension_that_is_not_global_goes_in_header_dimension_set_lines(exp):
    exp.save(invoices__departmentDimension="AREA")
    outcome = exp.send("invoice", invoice_data(department={"code": "30"}))
    invoice = exp.invoice(outcome["bc"]["id"])
    assert dims_of(invoice)["AREA"] == "30"
    [ln] = lines_of(invoice)
    rows = exp.client().list_entities(exp.company_id,
                                      f"salesInvoices({invoice['id']})/salesInvoiceLines({ln['id']})/dimensionSetLines")
    assert {r["code"]: r["valueCode"] for r in rows}["AREA"] == "30"


def test_with_manual_nos_the_host_invoice_id_is_the_bc_number(exp):
    exp.admin.set_manual_nos(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY, "S-INV", True)
    exp.save(defaults__useHostInvoiceNumber=True)
    outcome = exp.send("invoice", invoice_data("inv-2026-77"))
    assert outcome["bc"]["number"] == "INV-2026-77"
    assert exp.invoice(outcome["bc"]["id"])["externalDocumentNumber"] == "INV-2026-77"


def test_without_manual_nos_the_host_number_fails_with_bcs_words_on_the_id(exp):
    exp.admin.set_manual_nos(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY, "S-INV", True)
    exp.save(defaults__useHostInvoiceNumber=True)
    exp.admin.set_manual_nos(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY, "S-INV", False)
    outcome = exp.send("invoice", invoice_data("INV-1"))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.id"
    assert "activate Manual Nos. in No. Series S-INV" in outcome["error"]["message"]


def test_with_posting_on_the_invoice_is_posted_and_the_outcome_has_the_posted_number(exp):
    exp.save(invoices__post=True)
    outcome = exp.send("invoice", invoice_data())
    assert outcome["status"] == "created", outcome
    assert outcome["bc"]["number"].startswith("PS-INV")
    invoice = exp.invoice(outcome["bc"]["id"])
    assert (invoice["status"], invoice["number"], invoice["externalDocumentNumber"]) == (
        "Open", outcome["bc"]["number"], "PSA-1001")


def test_an_update_of_a_draft_brings_its_lines_in_line_with_the_message(exp):
    exp.save()
    first = exp.send("invoice", invoice_data(lines=[line("A", 1, 10), line("B", 2, 20), line("C", 3, 30)]),
                     version=1)
    mark = exp.mark()
    second = exp.send("invoice", invoice_data(lines=[line("A", 5, 10), line("New B", 1, 99, product={"number": "1900-S"})],
                                              department={"code": "SALES"}, dueDate="2027-01-15"), version=2)
    assert second["status"] == "updated"
    assert second["bc"] == first["bc"]
    assert [r["method"] for r in exp.bc_since(mark)] == ["GET", "POST"]  # the invoice, then one $batch
    invoice = exp.invoice(first["bc"]["id"])
    assert [(ln["lineObjectNumber"], ln["description"], ln["quantity"], ln["unitPrice"]) for ln in lines_of(invoice)] \
        == [("WRITE-IN", "A", 5, 10), ("1900-S", "New B", 1, 99)]
    assert invoice["dueDate"] == "2027-01-15"
    assert dims_of(invoice)["DEPARTMENT"] == "SALES"


def test_a_posted_invoice_is_never_changed_and_the_outcome_says_so(exp):
    exp.save(invoices__post=True)
    first = exp.send("invoice", invoice_data(), version=1)
    mark = exp.mark()
    outcome = exp.send("invoice", invoice_data(lines=[line("Changed", 9, 9)]), version=2)
    assert outcome["status"] == "failed"
    assert outcome["error"]["code"] == "InvoicePosted"
    assert first["bc"]["number"] in outcome["error"]["message"]
    assert outcome["bc"] == first["bc"]
    assert exp.bc_since(mark) == []
    assert [ln["description"] for ln in lines_of(exp.invoice(first["bc"]["id"]))] == ["Consulting"]


def test_an_unknown_product_fails_on_its_line_with_bcs_message(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data(lines=[line(), line("Ghost", 1, 1, product={"number": "NO-SUCH"})]))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.lines[1].product.number"
    assert outcome["error"]["message"] == "Item does not exist."
    assert list(exp.client().list_entities(exp.company_id, "salesInvoices",
                                           filter="externalDocumentNumber eq 'PSA-1001'")) == []


def test_a_unit_the_item_does_not_have_fails_on_the_unit_that_was_used(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data(lines=[line("Hours", 1, 1, product={"number": "1000"})]))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "defaults.unitOfMeasure"
    assert "(PCS)" in outcome["error"]["message"]


def test_a_closed_project_is_refused_by_bc_on_the_project_field(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data(project={"id": "old", "number": "P-0999", "name": "Closed pilot"}))
    assert outcome["status"] == "failed", outcome
    assert outcome["error"]["field"] == "data.project.number"
    assert "blocked" in outcome["error"]["message"]
    assert exp.dimension_value("PROJECT", "P-0999")["Blocked"] is True  # the invoice did not reopen it


def test_an_unknown_department_fails_on_the_department_field(exp):
    exp.save(invoices__departmentDimension="AREA")
    outcome = exp.send("invoice", invoice_data(department={"code": "99"}))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.department.code"


def test_without_customer_export_the_invoice_needs_the_customers_bc_number(exp):
    exp.save(customers__enabled=False)
    outcome = exp.send("invoice", invoice_data())
    assert outcome["status"] == "failed"
    assert (outcome["error"]["code"], outcome["error"]["field"]) == ("CustomerUnknown", "data.customer.number")


def test_a_customer_snapshot_bc_refuses_fails_the_invoice_on_the_customers_field(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data(customer=customer_data(currencyCode="XYZ")))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.customer.currencyCode"
    assert [q for q, _ in exp.services.exports().list_failed(exp.name)] == ["bc-invoices"]
