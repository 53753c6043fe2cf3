"""The connector settings API end to end: HTTP functions, Azurite tables and the BC sandbox over HTTPS.

Save verifies every setting against BC before storing; bad input gets a specific error per field and
nothing is stored; secrets are write-only.
"""

from __future__ import annotations

import logging
import urllib.parse

import pytest

from sandbox import constants
from tests._app import call_http, json_of
from tests._settings import connector_settings

pytestmark = pytest.mark.integration

SECRET = constants.DEMO_CLIENT_SECRET


def us_settings(**changes):
    return connector_settings("us", **{"notes": "integration test", **changes})


def put(name, document):
    return call_http("put_connector", route_params={"name": name}, body=document)


def get(name):
    return call_http("get_connector", route_params={"name": name})


def field_errors(response) -> dict[str, dict]:
    return {e["field"]: e for e in json_of(response)["errors"]}


def assert_nothing_stored(name, services):
    assert get(name).status_code == 404
    assert services.secrets().list_names(f"connector-{name}-") == []


def stored_secret(services, name):
    """The client secret the connector's row names (the row decides which secret is current)."""
    record = services.store().get(name)
    return services.secrets().get_secret(record.client_secret_name) if record.client_secret_name else None


# --- Created / Updated --------------------------------------------------------------------------------


def test_a_verified_save_answers_created_with_the_resolved_company(services, connector_name):
    response = put(connector_name, us_settings())
    assert response.status_code == 201
    body = json_of(response)
    assert body["status"] == "Created"
    connector = body["connector"]
    assert connector["status"] == "connected"
    assert connector["companyName"] == constants.US_COMPANY
    assert connector["taxMode"] == "salesTax"
    assert connector["companyId"]
    assert any("PCS" in check for check in body["checks"])


def test_saving_again_answers_updated(services, connector_name):
    assert put(connector_name, us_settings()).status_code == 201
    response = put(connector_name, us_settings(notes="changed"))
    assert response.status_code == 200
    assert json_of(response)["status"] == "Updated"
    assert json_of(get(connector_name))["notes"] == "changed"


def test_a_company_name_that_is_not_url_encoded_works_too(services, connector_name):
    response = put(connector_name, us_settings(company=constants.US_COMPANY))
    assert response.status_code == 201


def test_a_company_can_be_named_by_its_id(services, connector_name):
    created = json_of(put(connector_name, us_settings()))["connector"]
    response = put(connector_name + "-by-id", us_settings(company=created["companyId"]))
    assert response.status_code == 201
    assert json_of(response)["connector"]["companyName"] == constants.US_COMPANY


def test_the_vat_company_with_comma_slash_and_ampersand_is_detected_as_vat(services, connector_name):
    document = us_settings(company=urllib.parse.quote(constants.VAT_COMPANY, safe=""),
                           defaults__taxGroupCode=None)
    response = put(connector_name, document)
    assert response.status_code == 201, json_of(response)
    assert json_of(response)["connector"]["taxMode"] == "vat"


def test_a_saved_connector_is_listed_without_secrets(services, connector_name):
    put(connector_name, us_settings())
    response = call_http("list_connectors")
    assert response.status_code == 200
    names = [c["name"] for c in json_of(response)["connectors"]]
    assert connector_name in names
    assert SECRET not in response.get_body().decode()


def test_a_save_sends_a_connector_saved_notification(services, connector_name):
    put(connector_name, us_settings())
    events = [n for n in services.notifications if n["connector"] == connector_name]
    assert [n["event"] for n in events] == ["connector_saved"]
    assert events[0]["recipients"] == ["ops@example.com"]


def test_a_delegated_connector_is_saved_awaiting_consent(services, connector_name):
    response = put(connector_name, us_settings(auth__mode="delegated"))
    assert response.status_code == 201
    assert json_of(response)["connector"]["status"] == "consent_required"


# --- Secrets ------------------------------------------------------------------------------------------


def test_the_client_secret_is_write_only(services, connector_name, caplog):
    caplog.set_level(logging.DEBUG)
    response = put(connector_name, us_settings())
    assert SECRET not in response.get_body().decode()
    fetched = get(connector_name)
    assert SECRET not in fetched.get_body().decode()
    assert json_of(fetched)["auth"]["clientSecret"] == "stored"
    assert stored_secret(services, connector_name) == SECRET
    assert SECRET not in caplog.text


def test_the_secret_never_reaches_table_storage(services, connector_name):
    put(connector_name, us_settings())
    table = services.table("connectors")
    for entity in table.list_entities():
        assert SECRET not in repr(dict(entity))


def test_an_update_without_a_secret_keeps_the_stored_one(services, connector_name):
    put(connector_name, us_settings())
    document = us_settings(notes="no secret this time")
    del document["auth"]["clientSecret"]
    assert put(connector_name, document).status_code == 200


def test_a_connector_without_its_own_secret_uses_the_app_wide_one(services, connector_name):
    services.secrets().set_secret("bc-client-secret", SECRET)
    document = us_settings()
    del document["auth"]["clientSecret"]
    response = put(connector_name, document)
    assert response.status_code == 201
    assert json_of(response)["connector"]["auth"]["clientSecret"] == "app-wide"


def test_a_connector_with_no_secret_anywhere_is_refused_on_the_secret_field(services, connector_name):
    document = us_settings()
    del document["auth"]["clientSecret"]
    response = put(connector_name, document)
    assert response.status_code == 422
    assert "bc-client-secret" in field_errors(response)["auth.clientSecret"]["message"]


# --- Bad input: specific errors, nothing stored --------------------------------------------------------


def test_invalid_json_is_refused_with_where_it_broke(services, connector_name):
    response = call_http("put_connector", route_params={"name": connector_name}, raw_body=b'{"tenantId": ')
    assert response.status_code == 400
    assert "not valid JSON" in json_of(response)["errors"][0]["message"]
    assert_nothing_stored(connector_name, services)


def test_an_invalid_connector_name_is_refused(services):
    response = put("Bad_Name", us_settings())
    assert response.status_code == 422
    assert "name" in field_errors(response)


def test_unknown_and_mistyped_fields_are_all_reported(services, connector_name):
    response = put(connector_name, us_settings(colour="blue", invoices__post="yes"))
    assert response.status_code == 422
    assert {"colour", "invoices.post"} <= set(field_errors(response))
    assert_nothing_stored(connector_name, services)


def test_an_unknown_company_lists_the_companies_of_the_environment(services, connector_name):
    response = put(connector_name, us_settings(company="No Such Company"))
    assert response.status_code == 422
    error = field_errors(response)["company"]
    assert constants.US_COMPANY in error["choices"]
    assert constants.VAT_COMPANY in error["choices"]
    assert_nothing_stored(connector_name, services)


def test_a_company_name_in_the_wrong_case_suggests_the_right_one(services, connector_name):
    response = put(connector_name, us_settings(company=constants.US_COMPANY.upper()))
    assert "did you mean" in field_errors(response)["company"]["message"]


def test_unknown_codes_are_refused_with_the_valid_choices(services, connector_name):
    response = put(connector_name, us_settings(defaults__unitOfMeasure="CRATE", defaults__taxGroupCode="LUXURY",
                                               customers__domestic__customerPostingGroup="NOPE"))
    assert response.status_code == 422
    errors = field_errors(response)
    assert "PCS" in errors["defaults.unitOfMeasure"]["choices"]
    assert "TAXABLE" in errors["defaults.taxGroupCode"]["choices"]
    assert "DOMESTIC" in errors["customers.domestic.customerPostingGroup"]["choices"]
    assert_nothing_stored(connector_name, services)


def test_an_unknown_write_in_item_is_refused(services, connector_name):
    response = put(connector_name, us_settings(defaults__writeInItem="NOPE-42"))
    assert "no item 'NOPE-42'" in field_errors(response)["defaults.writeInItem"]["message"]


def test_an_unknown_dimension_is_refused_with_the_dimensions(services, connector_name):
    response = put(connector_name, us_settings(projects__dimension="PROJEKT"))
    error = field_errors(response)["projects.dimension"]
    assert "PROJECT" in error["choices"]


def test_a_tax_group_is_refused_for_a_vat_company(services, connector_name):
    response = put(connector_name, us_settings(company=constants.VAT_COMPANY))
    assert response.status_code == 422
    assert "uses VAT" in field_errors(response)["defaults.taxGroupCode"]["message"]
    assert_nothing_stored(connector_name, services)


def test_host_invoice_numbers_need_manual_nos_and_the_error_says_how(services, connector_name, bc):
    response = put(connector_name, us_settings(defaults__useHostInvoiceNumber=True))
    assert response.status_code == 422
    message = field_errors(response)["defaults.useHostInvoiceNumber"]["message"]
    assert "Manual Nos." in message and "No. Series" in message


def test_host_invoice_numbers_are_accepted_once_manual_nos_is_on(services, connector_name, bc):
    bc.set_manual_nos(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY, "S-INV", True)
    assert put(connector_name, us_settings(defaults__useHostInvoiceNumber=True)).status_code == 201


def test_an_unpublished_customer_card_page_is_named_with_how_to_publish_it(services, connector_name, bc):
    bc.set_web_service_published(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY,
                                 "Customer_Card", False)
    response = put(connector_name, us_settings())
    message = field_errors(response)["webServices.customerCard"]["message"]
    assert "Object ID 21" in message and "Published" in message


def test_the_customer_card_is_not_needed_when_customers_are_not_exported(services, connector_name, bc):
    bc.set_web_service_published(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY,
                                 "Customer_Card", False)
    assert put(connector_name, us_settings(customers={"enabled": False})).status_code == 201


def test_a_wrong_client_secret_is_blamed_on_the_secret_and_not_echoed(services, connector_name):
    response = put(connector_name, us_settings(auth__clientSecret="wrong-secret-value"))
    assert response.status_code == 422
    assert "auth.clientSecret" in field_errors(response)
    assert "wrong-secret-value" not in response.get_body().decode()
    assert_nothing_stored(connector_name, services)


def test_an_app_not_enabled_in_bc_says_where_to_enable_it(services, connector_name):
    response = put(connector_name, us_settings(auth__clientId=constants.UNREGISTERED_IN_BC_CLIENT_ID,
                                               auth__clientSecret=constants.UNREGISTERED_IN_BC_CLIENT_SECRET))
    assert response.status_code == 422
    assert "Microsoft Entra applications" in field_errors(response)["auth.clientId"]["message"]


def test_an_unknown_tenant_is_blamed_on_the_tenant(services, connector_name):
    response = put(connector_name, us_settings(tenantId="00000000-0000-4000-8000-000000000000"))
    assert "tenantId" in field_errors(response)


def test_an_unknown_environment_is_blamed_on_the_environment(services, connector_name):
    response = put(connector_name, us_settings(environment="Staging"))
    assert response.status_code == 422
    assert "environment" in field_errors(response)


def test_bc_unavailable_answers_503_with_retry_after_and_stores_nothing(services, connector_name, bc):
    bc.inject_faults(status=503, count=50, retry_after=120)
    response = put(connector_name, us_settings())
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert_nothing_stored(connector_name, services)


# --- Get / delete ---------------------------------------------------------------------------------------


def test_an_unknown_connector_answers_404(services, connector_name):
    response = get(connector_name)
    assert response.status_code == 404
    assert connector_name in json_of(response)["errors"][0]["message"]


def test_delete_removes_settings_and_secrets(services, connector_name):
    put(connector_name, us_settings())
    response = call_http("delete_connector", route_params={"name": connector_name})
    assert response.status_code == 204
    assert_nothing_stored(connector_name, services)


# --- Look-ups -------------------------------------------------------------------------------------------


def lookup(name, kind, **params):
    return call_http("connector_lookup", route_params={"name": name, "kind": kind}, params=params)


@pytest.mark.parametrize("kind, expected", [
    ("unitsOfMeasure", "PCS"), ("taxGroups", "TAXABLE"), ("items", "WRITE-IN"), ("dimensions", "PROJECT"),
    ("genBusPostingGroups", "DOMESTIC"), ("customerPostingGroups", "FOREIGN"), ("genProductPostingGroups", "SERVICES"),
])
def test_lookups_offer_the_codes_a_save_accepts(services, connector_name, kind, expected):
    put(connector_name, us_settings())
    response = lookup(connector_name, kind)
    assert response.status_code == 200, json_of(response)
    assert expected in [v["code"] for v in json_of(response)["values"]]


def test_the_companies_lookup_lists_names_and_ids(services, connector_name):
    put(connector_name, us_settings())
    values = json_of(lookup(connector_name, "companies"))["values"]
    assert constants.VAT_COMPANY in [v["name"] for v in values]


def test_dimension_values_are_listed_for_the_named_dimension(services, connector_name):
    put(connector_name, us_settings())
    values = json_of(lookup(connector_name, "dimensionValues", dimension="department"))["values"]
    assert {"ADM", "PROD", "SALES"} <= {v["code"] for v in values}


def test_dimension_values_need_the_dimension_parameter(services, connector_name):
    put(connector_name, us_settings())
    response = lookup(connector_name, "dimensionValues")
    assert response.status_code == 422
    assert "dimension" in field_errors(response)


def test_an_unknown_lookup_kind_lists_the_known_ones(services, connector_name):
    put(connector_name, us_settings())
    response = lookup(connector_name, "colours")
    assert response.status_code == 404
    assert "unitsOfMeasure" in json_of(response)["errors"][0]["message"]


# --- Cost -----------------------------------------------------------------------------------------------


def test_a_verified_save_with_every_export_enabled_costs_six_bc_requests(services, connector_name, bc):
    bc.clear_requests()
    assert put(connector_name, us_settings()).status_code == 201
    bc_requests = bc.requests(kind="bc")
    assert [r["method"] for r in bc_requests].count("POST") == 1  # the one $batch of look-ups
    assert len(bc_requests) == 6
