"""API v2.0 reads: routes, JSON types, query options, expand and BC's errors for bad queries."""

from __future__ import annotations

import re
from urllib.parse import quote

from sandbox import constants as C

from ._client import US, VAT, company_path, us_id

CUSTOMERS = company_path() + "/customers"


def test_companies_lists_both_companies_with_platform_fields(bc):
    answer = bc.get("api/v2.0/companies")
    assert answer.status == 200
    by_name = {c["name"]: c for c in answer.value}
    assert set(by_name) == {C.US_COMPANY, C.VAT_COMPANY}
    company = by_name[C.US_COMPANY]
    assert company["id"] == US
    assert set(company) >= {"@odata.etag", "systemVersion", "timestamp", "displayName", "businessProfileId",
                            "systemCreatedAt", "systemCreatedBy", "systemModifiedAt", "systemModifiedBy"}
    assert answer.body["@odata.context"].endswith("/api/v2.0/$metadata#companies")


def test_every_response_carries_a_request_id_and_odata_version(bc):
    ok = bc.get("api/v2.0/companies")
    failed = bc.get("api/v2.0/nothingHere")
    assert re.fullmatch(r"[0-9a-f-]{36}", ok.headers["request-id"])
    assert ok.headers["OData-Version"] == "4.0"
    assert failed.headers["request-id"] and failed.body["error"]["message"].endswith(
        "CorrelationId:  %s." % failed.headers["request-id"])


def test_company_information_has_the_country_of_each_company(bc):
    us = bc.get(company_path(US) + "/companyInformation").value[0]
    vat = bc.get(company_path(VAT) + "/companyInformation").value[0]
    assert (us["country"], us["currencyCode"]) == ("US", "USD")
    assert (vat["country"], vat["currencyCode"]) == ("DE", "EUR")


def test_values_have_bc_json_types(bc):
    customer = bc.get(CUSTOMERS + "(%s)" % us_id("customers", "C10000")).body
    assert customer["@odata.etag"].startswith('W/"')
    assert customer["taxLiable"] is True
    assert customer["creditLimit"] == 0
    assert customer["blocked"] == "_x0020_"  # blank enum member, as BC renders it
    assert customer["type"] == "Company"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", customer["lastModifiedDateTime"])
    assert customer["shipmentMethodId"] == "00000000-0000-0000-0000-000000000000"
    invoice = bc.get(company_path() + "/purchaseInvoices?$filter=number eq 'PP-INV108001'").value[0]
    assert invoice["invoiceDate"] == "2026-09-15"
    assert invoice["totalAmountExcludingTax"] == 1640.7


def test_accounts_expose_category_as_bc_enum_members(bc):
    accounts = {a["number"]: a for a in bc.get(company_path() + "/accounts").value}
    assert accounts["60100"]["category"] == "Expense"
    assert accounts["50100"]["category"] == "Cost_x0020_of_x0020_Goods_x0020_Sold"
    assert accounts["10000"]["accountType"] == "Heading"


def test_get_by_a_key_that_does_not_exist_is_404_record_not_found(bc):
    missing = "0f0f0f0f-0000-4000-8000-000000000000"
    answer = bc.get(CUSTOMERS + "(%s)" % missing)
    assert answer.status == 404
    assert answer.error_code == "Internal_RecordNotFound"
    assert answer.message == "The Customer does not exist. Identification fields and values: SystemId='%s'" % missing


def test_an_unknown_entity_set_is_404_resource_not_found(bc):
    answer = bc.get(company_path() + "/customerz")
    assert answer.status == 404
    assert answer.error_code == "BadRequest_ResourceNotFound"
    assert answer.message == "Resource not found for the segment 'customerz'."


def test_an_entity_set_bc_has_but_the_sandbox_does_not_model_says_so(bc):
    answer = bc.get(company_path() + "/journals")
    assert answer.status == 501
    assert "does not implement" in answer.message


def test_filter_with_quoted_string_and_doubled_quote(bc, world):
    bc.post(CUSTOMERS, {"displayName": "O'Brien & Sons"})
    answer = bc.get(CUSTOMERS + "?$filter=" + quote("displayName eq 'O''Brien & Sons'"))
    assert answer.status == 200
    assert [c["displayName"] for c in answer.value] == ["O'Brien & Sons"]


def test_filter_with_unquoted_guid_date_and_datetime_literals(bc):
    vendor = us_id("vendors", "V10000")
    by_guid = bc.get(company_path() + "/purchaseInvoices?$filter=vendorId eq %s and postingDate ge 2026-09-01" % vendor)
    assert {i["number"] for i in by_guid.value} == {"PP-INV108001", "P-INV1001"}
    recent = bc.get(CUSTOMERS + "?$filter=lastModifiedDateTime gt 2026-10-01T00:00:00Z")
    assert len(recent.value) == 6
    none = bc.get(CUSTOMERS + "?$filter=lastModifiedDateTime gt 2026-12-01T00:00:00.000Z")
    assert none.value == []


def test_filter_comparing_a_guid_with_a_quoted_string_is_rejected(bc):
    answer = bc.get(company_path() + "/purchaseInvoices?$filter=vendorId eq '%s'" % us_id("vendors", "V10000"))
    assert answer.status == 400
    assert answer.error_code == "BadRequest_NotFound"
    assert "incompatible types" in answer.message and "'Edm.Guid' and 'Edm.String'" in answer.message


def test_or_on_the_same_field_works_and_on_distinct_fields_is_refused(bc):
    same = bc.get(CUSTOMERS + "?$filter=number eq 'C10000' or number eq 'C20000'")
    assert [c["number"] for c in same.value] == ["C10000", "C20000"]
    distinct = bc.get(CUSTOMERS + "?$filter=number eq 'C10000' or displayName eq 'Trey Research'")
    assert distinct.status == 400
    assert distinct.message == "The 'OR' operator is not supported on distinct fields on an OData filter."


def test_parentheses_group_filter_expressions(bc):
    answer = bc.get(CUSTOMERS + "?$filter=(number eq 'C10000' or number eq 'C30000') and taxLiable eq true")
    assert [c["number"] for c in answer.value] == ["C10000"]


def test_contains_and_startswith_filter_text(bc):
    assert [c["number"] for c in bc.get(CUSTOMERS + "?$filter=contains(displayName,'Research')").value] == ["C20000"]
    assert [c["number"] for c in bc.get(CUSTOMERS + "?$filter=startswith(number,'C1')").value] == ["C10000"]


def test_a_malformed_filter_is_a_syntax_error(bc):
    answer = bc.get(CUSTOMERS + "?$filter=number eq")
    assert answer.status == 400
    assert answer.error_code == "BadRequest_NotFound"
    assert answer.message == "Expression expected at position 9 in 'number eq'."
    unterminated = bc.get(CUSTOMERS + "?$filter=number eq 'C1")
    assert unterminated.message == "There is an unterminated string literal at position 10 in 'number eq 'C1'."


def test_a_filter_on_an_unknown_property_is_rejected(bc):
    answer = bc.get(CUSTOMERS + "?$filter=genBusPostingGroup eq 'DOMESTIC'")
    assert answer.status == 400
    assert answer.message == ("Could not find a property named 'genBusPostingGroup' on type "
                              "'Microsoft.NAV.customer'.")


def test_select_returns_only_the_named_properties_plus_the_etag(bc):
    answer = bc.get(CUSTOMERS + "?$select=number,displayName&$top=1")
    assert set(answer.value[0]) == {"@odata.etag", "number", "displayName"}


def test_orderby_top_skip_and_count(bc):
    answer = bc.get(CUSTOMERS + "?$orderby=displayName desc&$top=2&$skip=1&$count=true")
    names = [c["displayName"] for c in answer.value]
    all_names = sorted((c["displayName"] for c in bc.get(CUSTOMERS).value), reverse=True)
    assert names == all_names[1:3]
    assert answer.body["@odata.count"] == 6


def test_nested_expand_of_lines_and_dimension_set_lines(bc):
    answer = bc.get(company_path() + "/purchaseInvoices?$filter=number eq 'PP-INV108001'"
                    "&$expand=purchaseInvoiceLines($expand=dimensionSetLines),dimensionSetLines")
    invoice = answer.value[0]
    assert invoice["dimensionSetLines"] == []
    lines = invoice["purchaseInvoiceLines"]
    assert [ln["lineObjectNumber"] for ln in lines] == ["60200", "60100", "1896-S"]
    dims = {d["code"]: d["valueCode"] for d in lines[1]["dimensionSetLines"]}
    assert dims == {"PROJECT": "P-1002", "DEPARTMENT": "PROD"}
    assert lines[1]["dimensionSetLines"][0]["parentType"] == "Purchase_x0020_Invoice_x0020_Line"


def test_expand_accepts_nested_select_and_filter(bc):
    answer = bc.get(company_path() + "/dimensions?$filter=code eq 'PROJECT'"
                    "&$expand=dimensionValues($select=code;$filter=code ne 'P-0999')")
    values = answer.value[0]["dimensionValues"]
    assert [v["code"] for v in values] == ["P-1001", "P-1002", "P-1003"]
    assert set(values[0]) == {"@odata.etag", "code"}


def test_expand_of_an_unknown_navigation_is_rejected(bc):
    answer = bc.get(CUSTOMERS + "?$expand=salesInvoices")
    assert answer.status == 400
    assert answer.message == "Could not find a property named 'salesInvoices' on type 'Microsoft.NAV.customer'."


def test_dimension_set_lines_cannot_be_reached_without_a_parent(bc):
    answer = bc.get(company_path() + "/dimensionSetLines")
    assert answer.status == 400
    assert answer.message == "You must get to the parent first to get to the dimension set line."


def test_top_level_lines_need_a_document_id_filter(bc):
    refused = bc.get(company_path() + "/purchaseInvoiceLines")
    assert refused.message == "You must specify an Id or a Document Id to get the lines."
    doc = us_id("purchaseInvoices", "PP-INV108002")
    answer = bc.get(company_path() + "/purchaseInvoiceLines?$filter=documentId eq %s" % doc)
    assert [ln["lineObjectNumber"] for ln in answer.value] == ["60400", "60300"]


def test_general_ledger_entries_carry_project_dimensions(bc):
    answer = bc.get(company_path() + "/generalLedgerEntries?$filter=accountNumber eq '60300'"
                    "&$expand=dimensionSetLines")
    entries = answer.value
    assert {e["documentNumber"] for e in entries} == {"PP-INV108002", "G00002"}
    hosting = next(e for e in entries if e["documentNumber"] == "G00002")
    assert hosting["debitAmount"] == 99
    assert [(d["code"], d["valueCode"]) for d in hosting["dimensionSetLines"]] == [("PROJECT", "P-1001")]


def test_the_company_query_parameter_addresses_a_company_without_the_companies_segment(bc):
    answer = bc.get("api/v2.0/customers?company=%s&$select=number" % US)
    assert len(answer.value) == 6
    missing = bc.get("api/v2.0/customers")
    assert missing.status == 400


def test_unknown_query_options_are_rejected(bc):
    answer = bc.get(CUSTOMERS + "?$search=adatum")
    assert answer.status == 400
    assert answer.message == "The query parameter '$search' is not supported."
