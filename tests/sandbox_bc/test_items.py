"""Items as API v2.0 has them (APIV2 - Items, page 30008), the Item Card page (30) and items on invoice lines."""

from __future__ import annotations

import pytest

from sandbox import constants as C

from ._client import VAT, company_path, odata_path

ITEMS = company_path() + "/items"
VAT_ITEMS = company_path(VAT) + "/items"
US_ITEM_CARD = odata_path(C.US_COMPANY) + "/Item_Card"
VAT_ITEM_CARD = odata_path(C.VAT_COMPANY) + "/Item_Card"


def service_item(**extra) -> dict:
    body = {"displayName": "Implementation workshop", "type": "Service", "baseUnitOfMeasureCode": "HOUR",
            "generalProductPostingGroupCode": "SERVICES", "unitPrice": 180}
    body.update(extra)
    return body


def invoice_with(bc, item_number: str, company: str = company_path(), customer: str = "C10000"):
    return bc.post(company + "/salesInvoices", {
        "customerNumber": customer,
        "salesInvoiceLines": [{"lineType": "Item", "lineObjectNumber": item_number, "quantity": 2}]})


# -- numbers and codes -------------------------------------------------------------------------------------
def test_an_item_without_a_number_gets_the_next_number_of_the_item_series(bc):
    answer = bc.post(ITEMS, service_item(taxGroupCode="LABOR"))
    assert answer.status == 201
    assert answer.body["number"] == "2000"


def test_a_client_number_is_accepted_and_upper_cased_while_the_item_series_allows_manual_nos(bc):
    answer = bc.post(ITEMS, service_item(number="psa-svc-1"))
    assert (answer.status, answer.body["number"]) == (201, "PSA-SVC-1")


def test_a_client_number_is_refused_when_the_item_series_has_no_manual_nos(bc, world):
    world.set_manual_nos(C.TENANT_ID, C.ENVIRONMENT, C.US_COMPANY, "ITEM", False)
    answer = bc.post(ITEMS, service_item(number="PSA-SVC-1"))
    assert (answer.status, answer.error_code) == (400, "Application_DialogException")
    assert answer.message == ("You may not enter numbers manually. If you want to enter numbers manually, please "
                              "activate Manual Nos. in No. Series ITEM.")
    assert bc.post(ITEMS, service_item()).status == 201  # the series still draws numbers


def test_a_duplicate_item_number_is_refused(bc):
    answer = bc.post(ITEMS, service_item(number="1000"))
    assert (answer.status, answer.error_code) == (400, "Internal_EntityWithSameKeyExists")


def test_code_fields_are_upper_cased_and_their_ids_filled_in(bc):
    item = bc.post(ITEMS, service_item(baseUnitOfMeasureCode="hour", generalProductPostingGroupCode="services",
                                       taxGroupCode="labor")).body
    assert (item["baseUnitOfMeasureCode"], item["generalProductPostingGroupCode"], item["taxGroupCode"]) == (
        "HOUR", "SERVICES", "LABOR")
    units = {u["code"]: u["id"] for u in bc.get(company_path() + "/unitsOfMeasure").value}
    assert item["baseUnitOfMeasureId"] == units["HOUR"]
    assert item["generalProductPostingGroupId"] != "00000000-0000-0000-0000-000000000000"


@pytest.mark.parametrize("field", ["id", "lastModifiedDateTime"])
def test_read_only_item_fields_are_refused(bc, field):
    value = "2026-01-01T00:00:00Z" if field == "lastModifiedDateTime" else "00000000-0000-0000-0000-000000000001"
    answer = bc.post(ITEMS, service_item(**{field: value}))
    assert (answer.status, answer.error_code, answer.message) == (
        400, "BadRequest_InvalidOperation", "Control '%s' is read-only." % field)


@pytest.mark.parametrize("member", ["Inventory", "Service", "Non_x002D_Inventory"])
def test_item_types_are_inventory_service_and_non_inventory(bc, member):
    answer = bc.post(ITEMS, service_item(type=member))
    assert (answer.status, answer.body["type"]) == (201, member)


def test_an_unknown_item_type_is_refused(bc):
    assert bc.post(ITEMS, service_item(type="Resource")).status == 400


@pytest.mark.parametrize("field, value, message", [
    ("generalProductPostingGroupCode", "NOPE", 'The "generalProductPostingGroupCode" does not match to a General '
                                               'Product Posting Group.'),
    ("taxGroupCode", "NOPE", 'The "taxGroupCode" does not match to a Tax Group.'),
    ("baseUnitOfMeasureCode", "CRATE", 'The "baseUnitOfMeasureCode" does not match to a Unit of Measure.'),
])
def test_unknown_groups_and_units_are_refused_with_the_api_text(bc, field, value, message):
    answer = bc.post(ITEMS, service_item(**{field: value}))
    assert (answer.status, answer.error_code, answer.message) == (400, "Application_DialogException", message)


# -- taxes: sales tax and VAT ------------------------------------------------------------------------------
def test_a_us_item_takes_a_sales_tax_group(bc):
    item = bc.post(ITEMS, service_item(taxGroupCode="LABOR")).body
    groups = {g["code"]: g["id"] for g in bc.get(company_path() + "/taxGroups").value}
    assert item["taxGroupId"] == groups["LABOR"]


def test_a_vat_companys_tax_groups_are_not_item_tax_groups(bc):
    answer = bc.post(VAT_ITEMS, service_item(taxGroupCode="STANDARD"))
    assert (answer.status, answer.message) == (400, 'The "taxGroupCode" does not match to a Tax Group.')


def test_api_v2_items_have_no_vat_prod_posting_group_field(bc):
    answer = bc.post(VAT_ITEMS, service_item(vatProductPostingGroupCode="STANDARD"))
    assert (answer.status, answer.error_code) == (400, "BadRequest")
    assert "does not exist on type" in answer.message


def test_the_gen_prod_posting_group_brings_its_default_vat_prod_posting_group(bc):
    item = bc.post(VAT_ITEMS, service_item()).body
    card = bc.get(VAT_ITEM_CARD + "('%s')" % item["number"]).body
    assert (card["Gen_Prod_Posting_Group"], card["VAT_Prod_Posting_Group"]) == ("SERVICES", "STANDARD")


def test_the_item_card_sets_the_vat_prod_posting_group_that_invoice_lines_then_use(bc):
    item = bc.post(VAT_ITEMS, service_item()).body
    card = bc.get(VAT_ITEM_CARD + "('%s')" % item["number"])
    patched = bc.patch(VAT_ITEM_CARD + "('%s')" % item["number"], {"VAT_Prod_Posting_Group": "reduced"},
                       etag=card.body["@odata.etag"])
    assert (patched.status, patched.body["VAT_Prod_Posting_Group"]) == (200, "REDUCED")
    invoice = invoice_with(bc, item["number"], company_path(VAT), "K10000")
    assert invoice.status == 201, invoice.body
    line = bc.get(company_path(VAT) + "/salesInvoices(%s)/salesInvoiceLines" % invoice.body["id"]).value[0]
    assert (line["taxCode"], line["taxPercent"]) == ("REDUCED", 7)


def test_the_item_card_refuses_an_unknown_vat_prod_posting_group(bc):
    answer = bc.patch(VAT_ITEM_CARD + "('1000')", {"VAT_Prod_Posting_Group": "LUXURY"})
    assert (answer.status, answer.error_code) == (400, "Internal_InvalidTableRelation")
    assert answer.message == ("The field VAT Prod. Posting Group of table Item contains a value (LUXURY) that cannot "
                              "be found in the related table (VAT Product Posting Group).")


def test_the_us_item_card_has_no_vat_prod_posting_groups_to_choose(bc):
    answer = bc.patch(US_ITEM_CARD + "('1000')", {"VAT_Prod_Posting_Group": "STANDARD"})
    assert answer.error_code == "Internal_InvalidTableRelation"


def test_the_item_card_shares_the_record_and_etag_with_the_api(bc):
    api = bc.get(ITEMS + "?$filter=number eq '1000'").value[0]
    card = bc.get(US_ITEM_CARD + "('1000')").body
    assert card["@odata.etag"] == api["@odata.etag"]
    assert (card["Description"], card["Type"], card["Tax_Group_Code"], card["Base_Unit_of_Measure"]) == (
        "Consulting Hour", "Service", "LABOR", "HOUR")
    bc.patch(US_ITEM_CARD + "('1000')", {"Gen_Prod_Posting_Group": "MISC"}, etag=card["@odata.etag"])
    assert bc.get(ITEMS + "(%s)" % api["id"]).body["generalProductPostingGroupCode"] == "MISC"


def test_fixture_companies_have_what_an_item_export_needs(bc):
    for company, taxes in ((company_path(), {"LABOR", "NONTAXABLE", "TAXABLE"}),
                           (company_path(VAT), {"STANDARD", "REDUCED", "ZERO"})):
        groups = {g["code"] for g in bc.get(company + "/generalProductPostingGroups").value}
        units = {u["code"] for u in bc.get(company + "/unitsOfMeasure").value}
        tax_groups = {g["code"] for g in bc.get(company + "/taxGroups").value}
        assert {"SERVICES", "RETAIL", "MISC"} <= groups
        assert {"HOUR", "DAY", "PCS"} <= units
        assert taxes <= tax_groups


# -- items on invoice lines --------------------------------------------------------------------------------
def test_a_new_service_item_can_be_invoiced_and_posted_in_the_us_company(bc):
    item = bc.post(ITEMS, service_item(taxGroupCode="LABOR")).body
    invoice = invoice_with(bc, item["number"])
    assert invoice.status == 201, invoice.body
    line = bc.get(company_path() + "/salesInvoices(%s)/salesInvoiceLines" % invoice.body["id"]).value[0]
    assert (line["unitPrice"], line["unitOfMeasureCode"], line["taxCode"]) == (180, "HOUR", "LABOR")
    posted = bc.post(company_path() + "/salesInvoices(%s)/Microsoft.NAV.post" % invoice.body["id"])
    assert posted.status == 204, posted.body


def test_a_new_service_item_can_be_invoiced_and_posted_in_the_vat_company(bc):
    item = bc.post(VAT_ITEMS, service_item()).body
    invoice = invoice_with(bc, item["number"], company_path(VAT), "K10000")
    assert invoice.status == 201, invoice.body
    line = bc.get(company_path(VAT) + "/salesInvoices(%s)/salesInvoiceLines" % invoice.body["id"]).value[0]
    assert (line["taxCode"], line["taxPercent"]) == ("STANDARD", 19)
    posted = bc.post(company_path(VAT) + "/salesInvoices(%s)/Microsoft.NAV.post" % invoice.body["id"])
    assert posted.status == 204, posted.body


def test_a_blocked_item_is_refused_on_a_line_posted_to_a_draft_invoice(bc):
    draft = invoice_with(bc, "1000").body
    answer = bc.post(company_path() + "/salesInvoices(%s)/salesInvoiceLines" % draft["id"],
                     {"lineType": "Item", "lineObjectNumber": "1999-B", "quantity": 1})
    assert (answer.status, answer.error_code) == (400, "Application_FieldValidationException")
    assert answer.message == "Blocked must be equal to 'No'  in Item: No.=1999-B. Current value is 'Yes'."


def test_an_item_blocked_through_the_api_is_refused_on_new_invoice_lines(bc):
    item = bc.post(ITEMS, service_item()).body
    assert bc.patch(ITEMS + "(%s)" % item["id"], {"blocked": True}, etag=item["@odata.etag"]).status == 200
    answer = invoice_with(bc, item["number"])
    assert answer.message == "Blocked must be equal to 'No'  in Item: No.=%s. Current value is 'Yes'." % item["number"]


def test_an_item_without_a_gen_prod_posting_group_is_refused_on_a_sales_invoice_line(bc):
    item = bc.post(ITEMS, {"displayName": "Loose item", "type": "Service", "baseUnitOfMeasureCode": "HOUR"}).body
    answer = invoice_with(bc, item["number"])
    assert (answer.status, answer.error_code) == (400, "Application_FieldValidationException")
    assert answer.message == ("Gen. Prod. Posting Group must have a value in Item: No.=%s. It cannot be zero or "
                              "empty." % item["number"])
