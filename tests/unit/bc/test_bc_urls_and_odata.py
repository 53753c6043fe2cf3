"""URL building and OData literals: what reaches BC's URL parser must mean what the caller meant."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from tests.unit.bc._fakes import API, API_URL, COMPANY, COMPANY_ID, ENVIRONMENT, ODATA, TENANT, transport
from responses import matchers

from shared.bc import (
    BcClient,
    and_,
    company_segment,
    decode_company_name,
    eq,
    guid,
    key_segment,
    quote,
)

VAT_COMPANY = "Müller & Söhne, Nord/Süd"


def test_api_urls_are_built_from_api_url_tenant_environment_and_company_id(client):
    assert client.api_base == f"{API_URL}/v2.0/{TENANT}/{ENVIRONMENT}/api/v2.0"
    assert client.company_url(COMPANY_ID) == f"{client.api_base}/companies({COMPANY_ID})"


def test_a_trailing_slash_on_the_api_url_does_not_double_the_slash(credential):
    client = BcClient(api_url=API_URL + "/", tenant="contoso.onmicrosoft.com", environment="Sandbox-2",
                      credential=credential, **transport())
    assert client.api_base == f"{API_URL}/v2.0/contoso.onmicrosoft.com/Sandbox-2/api/v2.0"


def test_odata_url_percent_encodes_the_comma_slash_and_ampersand_of_a_company_name(client):
    assert client.odata_url(VAT_COMPANY, "Customer_Card") == (
        f"{ODATA}/Company('M%C3%BCller%20%26%20S%C3%B6hne%2C%20Nord%2FS%C3%BCd')/Customer_Card")


def test_company_segment_matches_bc_docs_for_cronus_usa():
    assert company_segment("CRONUS USA, Inc.") == "Company('CRONUS%20USA%2C%20Inc.')"


def test_a_quote_in_a_company_name_is_doubled_before_it_is_encoded():
    assert company_segment("O'Brien's A/B & C") == "Company('O%27%27Brien%27%27s%20A%2FB%20%26%20C')"


def test_list_odata_requests_the_encoded_company_url(client, fake_bc):
    fake_bc.get(f"{ODATA}/Company('O%27%27Brien%2C%20A%2FB%20%26%20C')/Customer_Card",
           json={"value": [{"No": "C1"}]})
    assert list(client.list_odata("O'Brien, A/B & C", "Customer_Card")) == [{"No": "C1"}]


@pytest.mark.parametrize("company_id", ["", "CRONUS", "5a1c6898-0000-4e8f-9b7a", f"{COMPANY_ID})/x", None])
def test_a_company_id_that_is_not_a_guid_is_rejected_before_any_request(client, fake_bc, company_id):
    with pytest.raises(ValueError, match="company id is a GUID"):
        client.list_entities(company_id, "customers")
    assert len(fake_bc.calls) == 0


@pytest.mark.parametrize("field,value,message", [
    ("tenant", "contoso/../other", "tenant id"),
    ("tenant", "", "tenant id"),
    ("environment", "Production/api", "environment name"),
    ("environment", "Prod uction", "environment name"),
    ("api_url", "bc.test", "BC API URL"),
    ("api_url", "https://bc.test/?x=1", "BC API URL"),
])
def test_url_parameters_that_would_change_the_url_are_rejected(credential, field, value, message):
    kwargs = dict(api_url=API_URL, tenant=TENANT, environment=ENVIRONMENT, credential=credential, **transport())
    kwargs[field] = value
    with pytest.raises(ValueError, match=message):
        BcClient(**kwargs)


@pytest.mark.parametrize("path", ["/customers", "customers?$top=1", "customers#x", "../companies", "a b",
                                  "https://evil.test/x"])
def test_a_path_with_a_query_fragment_or_dot_segment_is_rejected(client, path):
    with pytest.raises(ValueError):
        client.get_entity(COMPANY_ID, path)


@pytest.mark.parametrize("service", ["Customer Card", "../Customer", "Customer_Card/x", ""])
def test_a_web_service_name_that_would_change_the_url_is_rejected(client, service):
    with pytest.raises(ValueError, match="web service name"):
        client.odata_url("CRONUS USA, Inc.", service)


def test_a_filter_with_an_ampersand_and_quote_is_percent_encoded_in_the_query(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", json={"value": []},
           match=[matchers.query_param_matcher({"$filter": "displayName eq 'A & O''Neil+Co'", "$top": "5"})])
    assert list(client.list_entities(COMPANY_ID, "customers", filter=eq("displayName", "A & O'Neil+Co"),
                                     top=5)) == []
    sent = fake_bc.calls[0].request.url
    assert "%26" in sent and "%2B" in sent and "%20" in sent and "+" not in sent.split("?", 1)[1]


def test_select_expand_and_orderby_lists_are_joined_with_commas(client, fake_bc):
    fake_bc.get(f"{COMPANY}/generalLedgerEntries", json={"value": []}, match=[matchers.query_param_matcher({
        "$select": "entryNumber,amount", "$expand": "dimensionSetLines", "$orderby": "entryNumber"})])
    list(client.list_entities(COMPANY_ID, "generalLedgerEntries", select=["entryNumber", "amount"],
                              expand=["dimensionSetLines"], orderby="entryNumber"))
    assert len(fake_bc.calls) == 1


def test_update_odata_puts_a_composite_key_in_the_url(client, fake_bc):
    fake_bc.patch(f"{ODATA}/Company('CRONUS%20USA%2C%20Inc.')/DimensionValues(Dimension_Code='PROJECT',Code='P%26%2F1')",
                  json={"Code": "P&/1"})
    assert client.update_odata("CRONUS USA, Inc.", "DimensionValues", {"Dimension_Code": "PROJECT", "Code": "P&/1"},
                               {"Name": "x"}, etag="*") == {"Code": "P&/1"}
    assert fake_bc.calls[0].request.headers["If-Match"] == "*"


def test_quote_doubles_single_quotes_in_strings():
    assert quote("O'Brien") == "'O''Brien'"
    assert quote("") == "''"


def test_quote_leaves_guids_numbers_booleans_dates_and_null_unquoted():
    assert quote(uuid.UUID(COMPANY_ID)) == COMPANY_ID
    assert quote(guid(COMPANY_ID.upper())) == COMPANY_ID
    assert quote(42) == "42"
    assert quote(Decimal("12.50")) == "12.50"
    assert quote(1.5) == "1.5"
    assert quote(True) == "true" and quote(False) == "false"
    assert quote(dt.date(2019, 5, 1)) == "2019-05-01"
    assert quote(dt.datetime(2019, 8, 18, 20, 5, 51, 603000, tzinfo=dt.timezone.utc)) == "2019-08-18T20:05:51.603Z"
    assert quote(None) == "null"


def test_a_guid_given_as_text_stays_a_string_literal_unless_marked_with_guid():
    assert quote(COMPANY_ID) == f"'{COMPANY_ID}'"
    with pytest.raises(ValueError, match="not a GUID"):
        guid("CRONUS")


def test_quote_converts_aware_datetimes_to_utc_and_rejects_naive_ones():
    cet = dt.timezone(dt.timedelta(hours=1))
    assert quote(dt.datetime(2026, 1, 1, 1, 0, tzinfo=cet)) == "2026-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="no time zone"):
        quote(dt.datetime(2026, 1, 1))


def test_eq_and_and_build_a_filter_with_parentheses_only_around_or():
    assert eq("externalDocumentNumber", "PSA-1") == "externalDocumentNumber eq 'PSA-1'"
    assert and_(eq("a", 1), None, "", "b eq 2 or c eq 3") == "a eq 1 and (b eq 2 or c eq 3)"
    assert and_(eq("a", 1)) == "a eq 1"


def test_eq_rejects_a_field_name_that_is_not_a_property():
    with pytest.raises(ValueError, match="not an OData property name"):
        eq("number eq 1 or 1", "x")


def test_key_segment_quotes_strings_and_leaves_numbers_bare():
    assert key_segment("C00010") == "('C00010')"
    assert key_segment(5) == "(5)"
    assert key_segment({"Dimension_Code": "X", "Code": "Y"}) == "(Dimension_Code='X',Code='Y')"


@pytest.mark.parametrize("raw,expected", [
    ("CRONUS%20USA%2C%20Inc.", "CRONUS USA, Inc."),
    ("CRONUS USA, Inc.", "CRONUS USA, Inc."),
    ("M%C3%BCller%20%26%20S%C3%B6hne%2C%20Nord%2FS%C3%BCd", VAT_COMPANY),
    ("100% Foods", "100% Foods"),              # no valid escape: kept
    ("50%25 Off", "50% Off"),                  # decoded once only
    ("50%2525", "50%25"),                      # ... not twice
    ("A+B%20C", "A+B C"),                      # '+' is not a space
    ("Bad%FF", "Bad%FF"),                      # escapes that are not UTF-8: kept as typed
])
def test_decode_company_name_decodes_once_and_only_with_a_valid_escape(raw, expected):
    assert decode_company_name(raw) == expected


def test_api_base_is_relative_root_for_batch_urls(client):
    assert API == client.api_base
