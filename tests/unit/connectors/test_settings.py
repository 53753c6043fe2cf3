"""The settings document: every bad input is answered with a specific error that names the field."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

from shared.connectors import (
    ConnectorSettings,
    SettingsInvalid,
    parse_connector_name,
    parse_connector_settings,
    parse_put_body,
)

TENANT = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"

VALID = {
    "tenantId": TENANT,
    "environment": "Production",
    "company": "CRONUS%20USA%2C%20Inc.",
    "auth": {"mode": "clientCredentials", "clientSecret": "s3cret-value"},
    "defaults": {"unitOfMeasure": "pcs", "taxGroupCode": "taxable", "writeInItem": "write-in",
                 "useHostInvoiceNumber": False},
    "customers": {"enabled": True,
                  "domestic": {"genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC"},
                  "abroad": {"genBusPostingGroup": "EXPORT", "customerPostingGroup": "FOREIGN"}},
    "projects": {"enabled": True, "dimension": "PROJECT"},
    "invoices": {"enabled": True, "departmentDimension": "DEPARTMENT", "departmentSource": "department",
                 "post": False},
    "expenses": {"enabled": False},
    "notifications": {"recipients": ["ops@example.com", "user-42"]},
    "notes": "Demo",
}


def errors_of(document) -> dict[str, str]:
    with pytest.raises(SettingsInvalid) as caught:
        parse_put_body(document)
    return {e.field: e.message for e in caught.value.errors}


def with_changes(**paths):
    document = copy.deepcopy(VALID)
    for dotted, value in paths.items():
        target = document
        parts = dotted.split("__")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return document


def test_a_complete_document_parses_and_codes_are_upper_cased():
    settings, secrets = parse_put_body(VALID)
    assert settings.unit_of_measure == "PCS"
    assert settings.tax_group_code == "TAXABLE"
    assert settings.write_in_item == "WRITE-IN"
    assert secrets == {"auth.clientSecret": "s3cret-value"}


def test_the_stored_document_never_contains_the_client_secret():
    settings, _ = parse_put_body(VALID)
    assert "s3cret-value" not in repr(settings.to_document())
    assert "clientSecret" not in settings.to_document()["auth"]


def test_a_stored_document_parses_back_to_the_same_settings():
    settings, _ = parse_put_body(VALID)
    assert ConnectorSettings.from_document(settings.to_document()) == settings


def test_defaults_fill_web_service_names_and_department_source():
    settings = parse_connector_settings({k: v for k, v in VALID.items() if k != "invoices"})
    assert settings.web_services.customer_card == "Customer_Card"
    assert settings.web_services.dimension_values == "DimensionValues"
    assert settings.department_source == "department"


def test_a_body_that_is_not_an_object_is_refused():
    assert errors_of(["not", "an", "object"]) == {"(body)": "The settings must be a JSON object."}


def test_an_unknown_top_level_field_is_named_with_the_known_ones():
    errors = errors_of(with_changes(colour="blue"))
    assert "Unknown field" in errors["colour"]
    assert "tenantId" in errors["colour"]


def test_an_unknown_nested_field_is_named_by_its_dotted_path():
    errors = errors_of(with_changes(customers__domestic__vatBusPostingGroup="EU"))
    assert "customers.domestic.vatBusPostingGroup" in errors
    assert "customerPostingGroup, genBusPostingGroup" in errors["customers.domestic.vatBusPostingGroup"]


def test_a_mistyped_boolean_names_the_field_and_the_type_received():
    assert errors_of(with_changes(invoices__post="yes"))["invoices.post"] == "Must be true or false, not a string."


def test_an_object_where_a_section_is_expected_is_refused():
    assert errors_of(with_changes(customers="all"))["customers"] == "Must be an object, not a string."


def test_an_auth_mode_outside_the_contract_lists_the_valid_modes():
    with pytest.raises(SettingsInvalid) as caught:
        parse_put_body(with_changes(auth__mode="password"))
    error = caught.value.errors[0]
    assert error.field == "auth.mode"
    assert error.choices == ("delegated", "clientCredentials")


@pytest.mark.parametrize("field", ["tenantId", "environment", "company", "auth"])
def test_required_fields_are_reported_when_missing(field):
    document = copy.deepcopy(VALID)
    del document[field]
    expected = "auth.mode" if field == "auth" else field
    assert errors_of(document)[expected] == "Required."


def test_a_tenant_that_is_neither_guid_nor_domain_is_refused():
    assert "Entra tenant id" in errors_of(with_changes(tenantId="not a tenant"))["tenantId"]


def test_a_tenant_domain_is_accepted_and_lower_cased():
    settings, _ = parse_put_body(with_changes(tenantId="Contoso.OnMicrosoft.com"))
    assert settings.tenant_id == "contoso.onmicrosoft.com"


def test_an_environment_name_with_a_slash_is_refused_before_it_reaches_a_url():
    assert "30 letters" in errors_of(with_changes(environment="Prod/../x"))["environment"]


def test_a_code_longer_than_bc_allows_is_refused_with_both_lengths():
    message = errors_of(with_changes(defaults__unitOfMeasure="KILOGRAMMES"))["defaults.unitOfMeasure"]
    assert message == "Is 11 characters long; at most 10 are allowed."


def test_oversize_notes_are_refused():
    assert errors_of(with_changes(notes="x" * 4001))["notes"] == "Is 4001 characters long; at most 4000 are allowed."


def test_notes_of_exactly_4000_characters_are_accepted():
    settings, _ = parse_put_body(with_changes(notes="x" * 4000))
    assert len(settings.notes) == 4000


def test_a_recipient_that_is_not_an_address_or_user_id_is_named_by_position():
    message = errors_of(with_changes(notifications__recipients=["ok@example.com", "bad @ x"]))
    assert "Item 1" in message["notifications.recipients"]


def test_posting_groups_are_required_when_customers_are_exported():
    document = with_changes()
    del document["customers"]["abroad"]
    errors = errors_of(document)
    assert errors["customers.abroad.genBusPostingGroup"] == "Required when customers.enabled is true."
    assert errors["customers.abroad.customerPostingGroup"] == "Required when customers.enabled is true."


def test_a_project_tag_group_source_needs_the_tag_group_name():
    errors = errors_of(with_changes(invoices__departmentSource="projectTagGroup"))
    assert "invoices.departmentTagGroup" in errors


def test_expense_import_needs_a_from_date_and_an_activity():
    errors = errors_of(with_changes(expenses={"enabled": True}))
    assert set(errors) == {"expenses.fromDate", "expenses.activity"}


def test_a_from_date_that_is_not_a_date_is_refused():
    errors = errors_of(with_changes(expenses={"enabled": True, "fromDate": "31/12/2026", "activity": "Travel"}))
    assert errors["expenses.fromDate"] == "'31/12/2026' is not a date as YYYY-MM-DD."


def test_the_expense_source_is_one_of_the_contract_values():
    errors = errors_of(with_changes(expenses={"enabled": False, "source": "journals"}))
    assert "purchaseInvoices, generalLedger" in errors["expenses.source"]


def test_a_null_tax_group_means_taxes_disabled():
    settings, _ = parse_put_body(with_changes(defaults__taxGroupCode=None))
    assert settings.tax_group_code is None
    assert settings.to_document()["defaults"]["taxGroupCode"] is None


def test_a_bad_secret_is_reported_without_echoing_it():
    errors = errors_of(with_changes(auth__clientSecret=12345))
    assert errors["auth.clientSecret"] == "Must be a non-empty string."


def test_all_bad_fields_are_reported_at_once():
    errors = errors_of(with_changes(invoices__post="no", notes=1, environment=""))
    assert {"invoices.post", "notes", "environment"} <= set(errors)


@pytest.mark.parametrize("name", ["ab", "-abc", "abc-", "ABC", "a_b_c", "a" * 64, "con nector", "x/y"])
def test_names_that_would_break_key_vault_or_table_keys_are_refused(name):
    with pytest.raises(SettingsInvalid) as caught:
        parse_connector_name(name)
    assert caught.value.errors[0].field == "name"


@pytest.mark.parametrize("name", ["abc", "contoso-bc", "a" * 63, "1st-connector"])
def test_names_of_lower_case_letters_digits_and_inner_hyphens_are_accepted(name):
    assert parse_connector_name(name) == name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@hyp_settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(list(VALID) + ["extra"]), json_values, max_size=8))
def test_any_json_object_either_parses_or_names_its_bad_fields(document):
    try:
        parse_put_body(document)
    except SettingsInvalid as invalid:
        assert invalid.errors
        assert all(e.field and e.message for e in invalid.errors)
