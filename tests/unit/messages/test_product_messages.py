"""Product messages and invoice-line product snapshots (docs/contract.md §4 "product data")."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.messages import UNSET, MessageInvalid, parse_data, parse_envelope, parse_invoice, parse_product


def error_of(call, *args, **kwargs) -> MessageInvalid:
    with pytest.raises(MessageInvalid) as info:
        call(*args, **kwargs)
    return info.value


def test_a_product_parses_with_its_number_upper_cased_and_its_type_as_bcs_member():
    product = parse_data("product", {"id": 7, "number": "svc-1", "name": " Consulting ", "unitPrice": 120,
                                     "unit": "hour", "type": "Non-Inventory", "blocked": False})
    assert (product.id, product.number, product.name, product.unit_price, product.unit, product.type,
            product.blocked) == ("7", "SVC-1", "Consulting", 120, "HOUR", "Non_x002D_Inventory", False)


def test_optional_product_fields_stay_unset_when_absent():
    product = parse_product({"id": "p", "number": "A", "name": "A"})
    assert (product.unit_price, product.unit, product.type, product.blocked) == (UNSET, UNSET, UNSET, UNSET)


@pytest.mark.parametrize("data, field", [
    ({"number": "A", "name": "A"}, "data.id"),
    ({"id": "p", "name": "A"}, "data.number"),
    ({"id": "p", "number": "A"}, "data.name"),
    ({"id": "p", "number": "X" * 21, "name": "A"}, "data.number"),
    ({"id": "p", "number": "A", "name": "A", "unitPrice": -1}, "data.unitPrice"),
    ({"id": "p", "number": "A", "name": "A", "unit": "X" * 11}, "data.unit"),
    ({"id": "p", "number": "A", "name": "A", "type": "Resource"}, "data.type"),
    ({"id": "p", "number": "A", "name": "A", "blocked": "yes"}, "data.blocked"),
])
def test_a_bad_product_field_is_named(data, field):
    assert error_of(parse_product, data).field == field


def test_the_products_queue_carries_product_messages_only():
    text = json.dumps({"connector": "contoso-bc", "type": "invoice", "version": 1, "data": {}})
    assert error_of(parse_envelope, text, queue_type="product").field == "type"


def test_an_invoice_line_product_with_an_id_is_a_snapshot_and_without_one_only_a_number():
    invoice = parse_invoice({"id": "I", "customer": {"id": "c", "name": "C"}, "lines": [
        {"quantity": 1, "unitPrice": 1, "product": {"id": "p-1", "number": "svc", "name": "Svc", "unit": "day"}},
        {"quantity": 1, "unitPrice": 1, "product": {"number": "1000"}}]})
    first, second = invoice.lines
    assert (first.product_number, first.product.id, first.product.unit) == ("SVC", "p-1", "DAY")
    assert (second.product_number, second.product) == ("1000", UNSET)


def test_a_line_snapshot_cannot_retire_a_product():
    err = error_of(parse_invoice, {"id": "I", "customer": {"id": "c", "name": "C"}, "lines": [
        {"quantity": 1, "unitPrice": 1, "product": {"id": "p", "number": "A", "name": "A", "blocked": True}}]})
    assert err.field == "data.lines[0].product.blocked"


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["id", "number", "name", "unitPrice", "unit", "type", "blocked", "x"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=30),
                                 st.floats(allow_nan=True)), max_size=8))
def test_any_product_document_parses_or_names_one_field_under_data(data):
    try:
        parse_product(data)
    except MessageInvalid as err:
        assert err.field.startswith("data.")
