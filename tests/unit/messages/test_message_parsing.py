"""Queue messages are parsed strictly: every problem is one MessageInvalid naming the host's field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.messages import (
    UNSET,
    MessageInvalid,
    Version,
    parse_customer,
    parse_data,
    parse_envelope,
    parse_invoice,
    parse_project,
    peek_identity,
)


def envelope(**changes):
    doc = {"connector": "contoso-bc", "type": "invoice", "version": "2026-11-20T10:15:00Z", "data": {"id": "X"}}
    doc.update(changes)
    return json.dumps(doc)


def invoice(**changes):
    doc = {"id": "PSA-1", "customer": {"id": "c-1", "name": "Northwind"},
           "lines": [{"description": "Work", "product": None, "quantity": 1, "unitPrice": 10}]}
    doc.update(changes)
    return doc


def error_of(call, *args, **kwargs) -> MessageInvalid:
    with pytest.raises(MessageInvalid) as info:
        call(*args, **kwargs)
    return info.value


# -- envelope and version ----------------------------------------------------------------------------


def test_a_valid_envelope_gives_connector_type_version_and_data():
    parsed = parse_envelope(envelope(), queue_type="invoice")
    assert (parsed.connector, parsed.type, parsed.version.kind, parsed.data) == ("contoso-bc", "invoice", "time",
                                                                                 {"id": "X"})


@pytest.mark.parametrize("text, field, words", [
    ("", "(message)", "empty"),
    ("{oops", "(message)", "not valid JSON"),
    ("42", "(message)", "JSON object"),
    (envelope(connector=None), "connector", "required"),
    (envelope(connector="Has Spaces"), "connector", "connector name"),
    (envelope(type="customer"), "type", "carries 'invoice'"),
    (envelope(version=None), "version", "integer or an ISO-8601"),
    (envelope(version="yesterday"), "version", "neither an integer"),
    (envelope(version=1.5), "version", "fraction"),
    (envelope(data="x"), "data", "must be an object"),
])
def test_a_bad_envelope_names_its_field(text, field, words):
    err = error_of(parse_envelope, text, queue_type="invoice")
    assert err.field == field
    assert words in err.message


def test_a_missing_version_is_required():
    text = json.dumps({"connector": "contoso-bc", "type": "invoice", "data": {}})
    assert error_of(parse_envelope, text, queue_type="invoice").field == "version"


def test_versions_order_integers_and_date_times_but_never_across_kinds():
    assert Version.parse(3).is_older_than(Version.parse("4"))
    assert Version.parse("2026-11-20T10:00:00+01:00").is_older_than(Version.parse("2026-11-20T09:30:00Z"))
    assert not Version.parse(5).is_older_than(Version.parse("2026-11-20T09:30:00Z"))
    assert not Version.parse(5).is_older_than(None)
    assert Version.from_text(Version.parse("2026-11-20T10:15:00Z").text).raw == "2026-11-20T10:15:00Z"


def test_peek_identity_never_raises_on_garbage():
    assert peek_identity("{") == (None, None, None)
    assert peek_identity(json.dumps({"connector": "ok-name", "data": {"id": 7}, "version": 3})) == ("ok-name", "7", 3)
    assert peek_identity(json.dumps({"connector": ["x"], "data": {"id": {"a": 1}}, "version": True})) == \
        (None, None, None)


# -- entities --------------------------------------------------------------------------------------


def test_a_customer_needs_an_id_and_a_name():
    assert error_of(parse_customer, {"name": "x"}).field == "data.id"
    assert error_of(parse_customer, {"id": "c", "name": "  "}).field == "data.name"


def test_customer_fields_longer_than_bc_allows_are_refused_with_bcs_length():
    err = error_of(parse_customer, {"id": "c", "name": "n", "invoiceAddress": {"city": "x" * 31}})
    assert (err.field, err.message) == ("data.invoiceAddress.city",
                                        "is 31 characters long; Business Central takes at most 30")


def test_absent_fields_are_left_alone_and_null_clears_them():
    customer = parse_customer({"id": 12, "name": "n", "email": None, "type": "person", "blocked": True})
    assert (customer.id, customer.email, customer.phone, customer.type, customer.blocked) == ("12", "", UNSET,
                                                                                              "Person", "All")


def test_blocked_takes_a_boolean_or_bcs_option_names():
    assert parse_customer({"id": "c", "name": "n", "blocked": False}).blocked == "_x0020_"
    assert parse_customer({"id": "c", "name": "n", "blocked": "invoice"}).blocked == "Invoice"
    assert error_of(parse_customer, {"id": "c", "name": "n", "blocked": "maybe"}).field == "data.blocked"


def test_a_project_number_is_an_upper_case_code_and_its_name_defaults_to_it():
    project = parse_project({"id": "p", "number": "p-12"})
    assert (project.number, project.name, project.status) == ("P-12", "P-12", "active")
    assert error_of(parse_project, {"id": "p", "number": "P", "status": "paused"}).field == "data.status"


def test_an_invoice_parses_lines_products_and_references():
    parsed = parse_invoice(invoice(project={"id": "p", "number": "p-1"}, department={"code": "adm"},
                                   projectTags=[{"group": "Dept", "value": "x"}],
                                   lines=[{"product": {"number": "1896-s"}, "quantity": 2, "unitPrice": 5,
                                           "discountPercent": 10, "unitOfMeasure": "box"}]))
    [line] = parsed.lines
    assert (line.product_number, line.unit_of_measure, line.discount_percent) == ("1896-S", "BOX", 10)
    assert (parsed.project.number, parsed.department.code, parsed.project_tags[0].group) == ("P-1", "ADM", "Dept")


@pytest.mark.parametrize("changes, field", [
    ({"id": "x" * 36}, "data.id"),
    ({"customer": None}, "data.customer"),
    ({"lines": []}, "data.lines"),
    ({"lines": "many"}, "data.lines"),
    ({"lines": [{"quantity": 1}]}, "data.lines[0].unitPrice"),
    ({"lines": [{"quantity": True, "unitPrice": 1}]}, "data.lines[0].quantity"),
    ({"lines": [{"quantity": 1, "unitPrice": 1, "discountPercent": 101}]}, "data.lines[0].discountPercent"),
    ({"lines": [{"quantity": 1, "unitPrice": 1, "product": {"name": "no number"}}]}, "data.lines[0].product.number"),
    ({"invoiceDate": "20.11.2026"}, "data.invoiceDate"),
    ({"projectTags": [{"group": "g"}]}, "data.projectTags[0].value"),
    ({"customer": {"id": "c", "name": "n", "invoiceAddress": []}}, "data.customer.invoiceAddress"),
])
def test_a_bad_invoice_names_the_field(changes, field):
    assert error_of(parse_invoice, invoice(**changes)).field == field


# -- properties --------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["customer", "project", "invoice"]), data=_json)
def test_any_json_data_either_parses_or_raises_message_invalid(kind, data):
    try:
        parse_data(kind, data)
    except MessageInvalid as err:
        assert err.field.startswith("data") and err.message


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200) | _json.map(lambda v: json.dumps(v, allow_nan=True)))
def test_any_text_either_is_an_envelope_or_raises_message_invalid(text):
    try:
        parse_envelope(text, queue_type="customer")
    except MessageInvalid as err:
        assert err.field in ("(message)", "connector", "type", "version", "data")


# -- the claim check (dataRef) -----------------------------------------------------------------------------

_DIGEST = "ab" * 32


@pytest.mark.parametrize("ref, field", [
    ("x", "dataRef"),
    ({"sha256": _DIGEST}, "dataRef.blob"),
    ({"blob": "", "sha256": _DIGEST}, "dataRef.blob"),
    ({"blob": "a\nb", "sha256": _DIGEST}, "dataRef.blob"),
    ({"blob": "a" * 1025, "sha256": _DIGEST}, "dataRef.blob"),
    ({"blob": "a.json"}, "dataRef.sha256"),
    ({"blob": "a.json", "sha256": "abc"}, "dataRef.sha256"),
    ({"blob": "a.json", "sha256": _DIGEST, "id": True}, "dataRef.id"),
    ({"blob": "a.json", "sha256": _DIGEST, "size": 3}, "dataRef.size"),
])
def test_a_bad_data_ref_is_refused_naming_its_field(ref, field):
    text = json.dumps({"connector": "acme", "type": "invoice", "version": 1, "dataRef": ref})
    with pytest.raises(MessageInvalid) as caught:
        parse_envelope(text, queue_type="invoice")
    assert caught.value.field == field


def test_data_and_data_ref_together_are_refused():
    text = json.dumps({"connector": "acme", "type": "invoice", "version": 1, "data": {},
                       "dataRef": {"blob": "a", "sha256": _DIGEST}})
    with pytest.raises(MessageInvalid) as caught:
        parse_envelope(text, queue_type="invoice")
    assert caught.value.field == "dataRef"


def test_a_data_ref_envelope_carries_the_reference_and_no_data():
    text = json.dumps({"connector": "acme", "type": "invoice", "version": 1,
                       "dataRef": {"blob": "inv/1.json", "sha256": _DIGEST.upper(), "id": 7}})
    envelope = parse_envelope(text, queue_type="invoice")
    assert envelope.data is None
    assert (envelope.data_ref.blob, envelope.data_ref.sha256, envelope.data_ref.id) == ("inv/1.json", _DIGEST, "7")
    assert peek_identity(text) == ("acme", "7", 1)


def test_an_invoice_whose_lines_add_up_below_zero_fails_as_a_negative_total_naming_the_credit_memo():
    err = error_of(parse_invoice, invoice(lines=[{"quantity": 1, "unitPrice": 100},
                                                 {"quantity": -1, "unitPrice": 100.01}]))

    assert (err.code, err.field) == ("NegativeInvoiceTotal", "data.lines")
    assert "credit memo" in err.message and "-0.01" in err.message


def test_an_invoice_with_credits_that_leave_a_total_of_zero_or_more_is_accepted():
    parsed = parse_invoice(invoice(lines=[{"quantity": 2, "unitPrice": 50, "discountPercent": 10},
                                          {"quantity": -1, "unitPrice": 90}]))

    assert len(parsed.lines) == 2


@pytest.mark.parametrize("field,value", [("quantity", 10**400), ("unitPrice", -10**400), ("quantity", 1e300)])
def test_a_number_too_large_for_bc_names_its_field_instead_of_overflowing(field, value):
    line = {"quantity": 1, "unitPrice": 1, field: value}

    err = error_of(parse_invoice, invoice(lines=[line]))

    assert err.field == f"data.lines[0].{field}" and err.code == "InvalidMessage"


def test_a_line_amount_too_large_for_bc_names_the_line():
    err = error_of(parse_invoice, invoice(lines=[{"quantity": 1e10, "unitPrice": 1e10}]))

    assert err.field == "data.lines[0]"


@pytest.mark.parametrize("version", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_version_at_the_edge_of_the_calendar_with_an_offset_is_an_invalid_version(version):
    err = error_of(parse_envelope, envelope(version=version), queue_type="invoice")

    assert err.field == "version"


def test_a_connector_name_ending_in_a_line_break_is_refused():
    err = error_of(parse_envelope, envelope(connector="contoso-bc\n"), queue_type="invoice")

    assert err.field == "connector"
    assert peek_identity(envelope(connector="contoso-bc\n"))[0] is None


def test_an_unpaired_surrogate_escape_is_an_invalid_message():
    err = error_of(parse_envelope, envelope(data={"id": "\ud800"}), queue_type="invoice")

    assert err.field == "(message)"


def test_a_line_whose_amount_has_more_digits_than_a_decimal_holds_names_the_line():
    data = {"id": "INV-1", "customer": {"id": "c1", "name": "Contoso"},
            "lines": [{"description": "x", "quantity": 99999999999999, "unitPrice": 99999999999999.5}]}
    with pytest.raises(MessageInvalid) as caught:
        parse_data("invoice", data)
    assert caught.value.field == "data.lines[0]"
