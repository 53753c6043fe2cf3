"""OData V4 web services over UI pages: company by percent-encoded name or id, publishing, page rules."""

from __future__ import annotations

from urllib.parse import quote

from sandbox import constants as C

from ._client import VAT, company_path, odata_path, us_id, vat_id

US_CARD = odata_path(C.US_COMPANY) + "/Customer_Card"
VAT_CARD = odata_path(C.VAT_COMPANY) + "/Customer_Card"
US_DIM_VALUES = odata_path(C.US_COMPANY) + "/DimensionValues"


def test_the_company_with_comma_slash_and_ampersand_is_reached_by_its_percent_encoded_name(bc):
    assert "%2F" in VAT_CARD and "%26" in VAT_CARD and "%2C" in VAT_CARD
    answer = bc.get(VAT_CARD)
    assert answer.status == 200
    cards = {c["No"]: c for c in answer.value}
    assert set(cards) == {"K10000", "K20000", "K30000", "K40000"}
    assert cards["K20000"]["Gen_Bus_Posting_Group"] == "EU"
    assert cards["K20000"]["Blocked"] == "_x0020_"
    company_segment = odata_path(C.VAT_COMPANY)[len("ODataV4/"):]
    assert answer.body["@odata.context"].endswith("/ODataV4/$metadata#%s/Customer_Card" % company_segment)


def test_the_company_can_be_named_by_id(bc):
    answer = bc.get("ODataV4/Company(Id=%s)/Customer_Card('K10000')" % VAT)
    assert answer.status == 200
    assert answer.body["Name"] == "Müller Bau GmbH"


def test_company_names_are_case_sensitive(bc):
    answer = bc.get(odata_path(C.US_COMPANY.upper()) + "/Customer_Card")
    assert answer.status == 404
    assert answer.error_code == "Internal_CompanyNotFound"


def test_customer_card_patch_sets_posting_groups_after_validating_them(bc):
    card = US_CARD + "('C50000')"
    current = bc.get(card).body
    assert current["Gen_Bus_Posting_Group"] == ""
    assert bc.patch(card, {"Gen_Bus_Posting_Group": "DOMESTIC"}, etag=None).error_code == "BadRequest_InvalidToken"
    answer = bc.patch(card, {"Gen_Bus_Posting_Group": "domestic", "Customer_Posting_Group": "FOREIGN"},
                      etag=current["@odata.etag"])
    assert answer.status == 200
    assert (answer.body["Gen_Bus_Posting_Group"], answer.body["Customer_Posting_Group"]) == ("DOMESTIC", "FOREIGN")
    wrong = bc.patch(card, {"Customer_Posting_Group": "NOPE"})
    assert wrong.status == 400
    assert wrong.error_code == "Internal_InvalidTableRelation"
    assert wrong.message == ("The field Customer Posting Group of table Customer contains a value (NOPE) that cannot "
                             "be found in the related table (Customer Posting Group).")


def test_a_gen_bus_posting_group_brings_its_default_vat_bus_posting_group(bc):
    answer = bc.patch(VAT_CARD + "('K40000')", {"Gen_Bus_Posting_Group": "EU"})
    assert answer.body["VAT_Bus_Posting_Group"] == "EU"
    customer = bc.get(company_path(VAT) + "/customers(%s)" % vat_id("customers", "K40000")).body
    assert customer["taxAreaId"] == vat_id("taxAreas", "EU")


def test_customer_card_shares_the_record_and_its_etag_with_api_customers(bc):
    api = bc.get(company_path() + "/customers(%s)" % us_id("customers", "C10000")).body
    card = bc.get(US_CARD + "('C10000')").body
    assert card["@odata.etag"] == api["@odata.etag"]
    bc.patch(US_CARD + "('C10000')", {"Name": "Adatum Corp."}, etag=card["@odata.etag"])
    stale = bc.patch(company_path() + "/customers(%s)" % api["id"], {"city": "X"}, etag=api["@odata.etag"])
    assert stale.error_code == "Request_EntityChanged"


def test_customer_card_does_not_allow_creating_customers(bc):
    answer = bc.post(US_CARD, {"No": "C77777", "Name": "Nope"})
    assert answer.status == 405
    assert answer.error_code == "BadRequest_MethodNotAllowed"


def test_the_key_field_of_a_page_is_read_only(bc):
    answer = bc.patch(US_CARD + "('C10000')", {"No": "C10001"})
    assert answer.message == "Control 'No' is read-only."


def test_keys_with_quotes_are_doubled(bc):
    bc.post(company_path() + "/customers", {"number": "O'BRIEN", "displayName": "O'Brien Ltd."})
    answer = bc.get(US_CARD + "(No='O''BRIEN')")
    assert answer.status == 200 and answer.body["Name"] == "O'Brien Ltd."
    assert bc.get(US_CARD + "('NOBODY')").error_code == "Internal_RecordNotFound"


def test_dimension_values_page_creates_values_that_api_v2_then_lists(bc):
    created = bc.post(US_DIM_VALUES, {"Dimension_Code": "PROJECT", "Code": "p-2001", "Name": "New project from PSA"})
    assert created.status == 201
    assert created.body["Code"] == "P-2001"
    assert created.body["Dimension_Value_Type"] == "Standard"
    api = bc.get(company_path() + "/dimensions(%s)/dimensionValues?$filter=code eq 'P-2001'"
                 % us_id("dimensions", "PROJECT"))
    assert [v["displayName"] for v in api.value] == ["New project from PSA"]
    invoice = bc.post(company_path() + "/salesInvoices", {"customerNumber": "C20000", "dimensionSetLines": [
        {"code": "PROJECT", "valueCode": "P-2001"}]})
    assert invoice.status == 201


def test_dimension_values_page_validates_like_bc(bc):
    duplicate = bc.post(US_DIM_VALUES, {"Dimension_Code": "PROJECT", "Code": "P-1001", "Name": "Again"})
    assert duplicate.error_code == "Internal_EntityWithSameKeyExists"
    assert duplicate.message == ("The Dimension Value already exists. Identification fields and values: "
                                 "Dimension Code='PROJECT',Code='P-1001'")
    unknown = bc.post(US_DIM_VALUES, {"Dimension_Code": "COLOR", "Code": "RED"})
    assert unknown.message == ("The field Dimension Code of table Dimension Value contains a value (COLOR) that cannot "
                               "be found in the related table (Dimension).")
    too_long = bc.post(US_DIM_VALUES, {"Dimension_Code": "PROJECT", "Code": "P-3000", "Name": "n" * 51})
    assert too_long.error_code == "Application_StringExceededLength"


def test_a_dimension_value_blocked_through_the_page_can_no_longer_be_used(bc):
    key = US_DIM_VALUES + "(Dimension_Code='PROJECT',Code='P-1003')"
    value = bc.get(key).body
    assert bc.patch(key, {"Blocked": True}, etag=value["@odata.etag"]).body["Blocked"] is True
    invoice = bc.post(company_path() + "/salesInvoices", {"customerNumber": "C20000", "dimensionSetLines": [
        {"code": "PROJECT", "valueCode": "P-1003"}]})
    assert invoice.message == "Dimension Value PROJECT - P-1003 is blocked."


def test_read_only_pages_list_posting_groups_series_and_sales_setup(bc):
    base = odata_path(C.US_COMPANY)
    gen_bus = bc.get(base + "/GenBusinessPostingGroups").value
    assert [g["Code"] for g in gen_bus] == ["DOMESTIC", "EU", "EXPORT"]
    receivables = {g["Code"]: g["Receivables_Account"] for g in bc.get(base + "/CustomerPostingGroups").value}
    assert receivables == {"DOMESTIC": "13100", "FOREIGN": "13200"}
    manual = bc.get(base + "/NoSeries?$filter=Manual_Nos eq true&$select=Code").value
    assert [s["Code"] for s in manual] == ["CUST", "ITEM", "VEND"]
    setup = bc.get(base + "/SalesReceivablesSetup").value
    assert setup == [{"@odata.etag": setup[0]["@odata.etag"], "Primary_Key": "", "Invoice_Nos": "S-INV",
                      "Posted_Invoice_Nos": "PS-INV", "Customer_Nos": "CUST"}]
    assert bc.patch(base + "/NoSeries('S-INV')", {"Manual_Nos": True}).status in (400, 405)


def test_an_unpublished_service_is_not_found(bc, world):
    world.set_web_service_published(C.TENANT_ID, C.ENVIRONMENT, C.US_COMPANY, "Customer_Card", False)
    answer = bc.get(US_CARD)
    assert answer.status == 404
    assert answer.error_code == "BadRequest_NotFound"
    assert answer.message.startswith("No HTTP resource was found that matches the request URI 'https://")
    assert bc.get(VAT_CARD).status == 200  # publishing is per company
    world.set_web_service_published(C.TENANT_ID, C.ENVIRONMENT, VAT, "Customer_Card", False)
    assert bc.get(VAT_CARD).status == 404


def test_an_unknown_service_name_is_not_found(bc):
    assert bc.get(odata_path(C.US_COMPANY) + "/Job_Card").error_code == "BadRequest_NotFound"


def test_odata_pages_page_with_next_links(bc):
    answer = bc.get(US_DIM_VALUES, headers={"Prefer": "odata.maxpagesize=4"})
    codes = [v["Code"] for v in answer.value]
    while answer.body.get("@odata.nextLink"):
        assert "/ODataV4/" in answer.body["@odata.nextLink"]
        answer = bc.follow(answer.body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=4"})
        codes += [v["Code"] for v in answer.value]
    assert len(codes) == 10


def test_the_company_query_parameter_works_for_odata_too(bc):
    answer = bc.get("ODataV4/Customer_Card?company=%s&$top=1" % quote("'%s'" % C.US_COMPANY))
    assert answer.status == 200 and answer.value[0]["No"] == "C10000"
