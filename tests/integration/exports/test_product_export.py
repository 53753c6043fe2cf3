"""Products end to end: the bc-products queue and invoice-line product snapshots become BC items, created once,
kept in step, adopted rather than duplicated, blocked when retired; their settings verified on save.

Mapping per docs/contract.md §2 "products" and §4 "product data"; BC requests counted in the sandbox's log.
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import constants
from tests._app import call_http, json_of
from tests.integration.exports._helpers import describe, invoice_data, line, settings_document

pytestmark = pytest.mark.integration

PRODUCTS = {"products__enabled": True, "products__genProductPostingGroup": "SERVICES"}


def product(host_id: str = "prod-1", number: str = "SVC-100", name: str = "Implementation", **changes: Any) -> dict:
    data = {"id": host_id, "number": number, "name": name, "unitPrice": 150, "unit": "HOUR"}
    data.update(changes)
    return data


def product_line(snapshot: dict, quantity: float = 4, unit_price: float = 150) -> dict:
    return line(snapshot["name"], quantity, unit_price, product={k: v for k, v in snapshot.items() if k != "blocked"})


def items_numbered(exp, number: str) -> list[dict]:
    return list(exp.client().list_entities(exp.company_id, "items", filter=f"number eq '{number}'"))


def item_card(exp, number: str) -> dict:
    from shared.bc import eq

    [card] = exp.client().list_odata(exp.company_name, "Item_Card", filter=eq("No", number))
    return card


def warm_up(exp) -> None:
    """One invoice first, so the customer and the G/L setup are known and only the product's cost remains."""
    assert exp.send("invoice", invoice_data("PSA-WARM"))["status"] == "created"


def save_refused(name: str, company: str = "us", **changes: Any) -> dict[str, dict]:
    response = call_http("put_connector", route_params={"name": name}, body=settings_document(company, **changes))
    assert response.status_code == 422, response.get_body()
    return {e["field"]: e for e in json_of(response)["errors"]}


def test_an_invoice_with_a_new_product_creates_the_item_then_the_invoice_in_two_requests(exp):
    exp.save(**PRODUCTS)
    warm_up(exp)
    mark = exp.mark()
    outcome = exp.send("invoice", invoice_data("PSA-2", lines=[product_line(product())]))
    assert outcome["status"] == "created", outcome
    assert describe(exp.bc_since(mark)) == [f"POST v2.0/companies({exp.company_id})/items",
                                            f"POST v2.0/companies({exp.company_id})/salesInvoices"]
    [item] = items_numbered(exp, "SVC-100")
    assert (item["displayName"], item["type"], item["baseUnitOfMeasureCode"], item["generalProductPostingGroupCode"],
            item["taxGroupCode"], item["unitPrice"], item["blocked"]) == (
        "Implementation", "Service", "HOUR", "SERVICES", "TAXABLE", 150, False)
    assert exp.ledger("product", "prod-1").bc_id == item["id"]
    [invoice_line] = exp.invoice(outcome["bc"]["id"])["salesInvoiceLines"]
    assert invoice_line["lineObjectNumber"] == "SVC-100"


def test_the_same_product_on_the_next_invoice_costs_no_extra_request(exp):
    exp.save(**PRODUCTS)
    warm_up(exp)
    exp.send("invoice", invoice_data("PSA-2", lines=[product_line(product())]))
    mark = exp.mark()
    outcome = exp.send("invoice", invoice_data("PSA-3", lines=[product_line(product()), product_line(product())]))
    assert outcome["status"] == "created", outcome
    assert describe(exp.bc_since(mark)) == [f"POST v2.0/companies({exp.company_id})/salesInvoices"]
    assert len(items_numbered(exp, "SVC-100")) == 1


def test_a_product_message_creates_the_item_in_one_request_and_the_same_content_costs_none(exp):
    exp.save(**PRODUCTS)
    mark = exp.mark()
    created = exp.send("product", product(), version=1)
    assert (created["status"], created["type"], created["bc"]["number"]) == ("created", "product", "SVC-100")
    assert describe(exp.bc_since(mark)) == [f"POST v2.0/companies({exp.company_id})/items"]
    mark = exp.mark()
    same = exp.send("product", product(), version=2)
    stale = exp.send("product", product(name="Old name"), version=1)
    assert (same["status"], stale["status"]) == ("unchanged", "unchanged")
    assert exp.bc_since(mark) == []


def test_a_changed_name_and_price_are_patched_in_one_request(exp):
    exp.save(**PRODUCTS)
    first = exp.send("product", product(), version=1)
    mark = exp.mark()
    outcome = exp.send("product", product(name="Implementation (remote)", unitPrice=140), version=2)
    assert outcome["status"] == "updated" and outcome["bc"] == first["bc"]
    assert describe(exp.bc_since(mark)) == [f"PATCH v2.0/companies({exp.company_id})/items({first['bc']['id']})"]
    [item] = items_numbered(exp, "SVC-100")
    assert (item["displayName"], item["unitPrice"]) == ("Implementation (remote)", 140)


def test_a_later_type_or_unit_is_not_applied_and_the_outcome_says_so(exp):
    exp.save(**PRODUCTS)
    exp.send("product", product(), version=1)
    outcome = exp.send("product", product(type="inventory", unit="DAY", unitPrice=160), version=2)
    assert outcome["status"] == "updated"
    assert any("keeps its type Service" in w for w in outcome["warnings"]), outcome["warnings"]
    assert any("keeps its base unit HOUR" in w for w in outcome["warnings"]), outcome["warnings"]
    [item] = items_numbered(exp, "SVC-100")
    assert (item["type"], item["baseUnitOfMeasureCode"], item["unitPrice"]) == ("Service", "HOUR", 160)


def test_an_existing_item_with_the_number_is_adopted_not_duplicated(exp):
    exp.save(**PRODUCTS)
    outcome = exp.send("product", product("host-1100", "1100", "Training Day", unitPrice=1250, unit="DAY"))
    assert outcome["status"] == "updated", outcome
    [item] = items_numbered(exp, "1100")
    assert outcome["bc"] == {"id": item["id"], "number": "1100"}
    assert (item["unitPrice"], item["taxGroupCode"]) == (1250, "LABOR")  # its own tax group is kept
    assert any("already existed" in w for w in outcome["warnings"])


def test_an_existing_item_named_by_an_invoice_line_is_used_as_it_is(exp):
    exp.save(**PRODUCTS)
    warm_up(exp)
    mark = exp.mark()
    outcome = exp.send("invoice", invoice_data("PSA-2", lines=[product_line(
        product("host-1100", "1100", "Training Day", unitPrice=999, unit="DAY"))]))
    assert outcome["status"] == "created", outcome
    calls = describe(exp.bc_since(mark))
    assert calls[0] == f"POST v2.0/companies({exp.company_id})/items"  # refused: BC has it
    assert calls[-1] == f"POST v2.0/companies({exp.company_id})/salesInvoices"
    assert not any(c.startswith("PATCH") for c in calls)
    [item] = items_numbered(exp, "1100")
    assert item["unitPrice"] == 1200
    assert exp.ledger("product", "host-1100").bc_id == item["id"]


def test_a_retired_product_is_blocked_not_deleted_and_invoices_naming_it_fail_with_bcs_message(exp):
    exp.save(**PRODUCTS)
    exp.send("product", product(), version=1)
    retired = exp.send("product", product(blocked=True), version=2)
    assert retired["status"] == "updated"
    [item] = items_numbered(exp, "SVC-100")
    assert item["blocked"] is True
    outcome = exp.send("invoice", invoice_data("PSA-9", lines=[line(), product_line(product())]))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.lines[1].product.number"
    assert "Blocked must be equal to 'No'" in outcome["error"]["message"]
    assert exp.send("product", product(blocked=False), version=3)["status"] == "updated"
    assert items_numbered(exp, "SVC-100")[0]["blocked"] is False


def test_an_invoice_naming_a_blocked_item_bc_already_has_fails_on_that_line(exp):
    exp.save(**PRODUCTS)
    outcome = exp.send("invoice", invoice_data("PSA-9", lines=[product_line(product("lamp", "1999-B", "Lamp"))]))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.lines[0].product.number"
    assert "Blocked" in outcome["error"]["message"]


def test_with_products_disabled_a_line_product_is_only_named_by_its_number(exp):
    exp.save()
    outcome = exp.send("invoice", invoice_data("PSA-5", lines=[product_line(product())]))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.lines[0].product.number"
    assert items_numbered(exp, "SVC-100") == []
    refused = exp.send("product", product())
    assert (refused["status"], refused["error"]["code"], refused["error"]["field"]) == (
        "failed", "ExportDisabled", "products.enabled")


def test_a_us_item_gets_the_product_tax_group_or_none_with_taxes_disabled(exp):
    exp.save(**PRODUCTS, products__taxGroupCode="labor")
    exp.send("product", product())
    assert items_numbered(exp, "SVC-100")[0]["taxGroupCode"] == "LABOR"
    exp.save(**PRODUCTS, defaults__taxGroupCode=None)
    exp.send("product", product("prod-2", "SVC-200", "Support"))
    assert items_numbered(exp, "SVC-200")[0]["taxGroupCode"] == ""


def test_a_vat_item_gets_the_vat_group_of_its_gen_product_posting_group_in_one_request(exp):
    exp.save("vat", **PRODUCTS)
    mark = exp.mark()
    outcome = exp.send("product", product())
    assert outcome["status"] == "created", outcome
    assert describe(exp.bc_since(mark)) == [f"POST v2.0/companies({exp.company_id})/items"]
    assert items_numbered(exp, "SVC-100")[0]["taxGroupCode"] == ""
    assert item_card(exp, "SVC-100")["VAT_Prod_Posting_Group"] == "STANDARD"


def test_a_vat_item_gets_an_explicit_vat_group_through_the_item_card(exp):
    exp.save("vat", **PRODUCTS, products__vatProductPostingGroup="reduced")
    mark = exp.mark()
    outcome = exp.send("invoice", invoice_data("PSA-V1", lines=[product_line(product())],
                                               customer={"id": "cust-de", "name": "Hamburg GmbH",
                                                         "invoiceAddress": {"countryCode": "DE"}}))
    assert outcome["status"] == "created", outcome
    items = [c for c in describe(exp.bc_since(mark)) if "items" in c or "Item_Card" in c]
    assert len(items) == 2 and items[0] == f"POST v2.0/companies({exp.company_id})/items"
    assert items[1].startswith("PATCH ") and items[1].endswith("/Item_Card('SVC-100')"), items
    assert item_card(exp, "SVC-100")["VAT_Prod_Posting_Group"] == "REDUCED"
    [invoice_line] = exp.invoice(outcome["bc"]["id"])["salesInvoiceLines"]
    assert invoice_line["taxCode"] == "REDUCED"


def test_a_product_poison_message_ends_failed_and_replayable(exp):
    exp.save(**PRODUCTS)
    before = len(exp.outcomes.of(exp.name))
    from tests.integration.exports._helpers import deliver

    deliver("bc-products-poison", exp.text("product", product()))
    outcome = exp.outcomes.of(exp.name)[before]
    assert (outcome["type"], outcome["status"], outcome["error"]["code"]) == ("product", "failed", "RetriesExhausted")
    row = exp.ledger("product", "prod-1")
    assert (row.status, row.queue) == ("failed", "bc-products")


# -- settings ------------------------------------------------------------------------------------------


def test_bad_product_settings_are_refused_with_bcs_choices(exp):
    errors = save_refused(exp.name, products__enabled=True, products__genProductPostingGroup="NOPE",
                          products__baseUnit="BAG", products__taxGroupCode="NOPE",
                          products__vatProductPostingGroup="STANDARD")
    assert {"SERVICES", "RETAIL", "MISC"} <= set(errors["products.genProductPostingGroup"]["choices"])
    assert "PCS" in errors["products.baseUnit"]["choices"]
    assert "TAXABLE" in errors["products.taxGroupCode"]["choices"]
    assert "US sales tax" in errors["products.vatProductPostingGroup"]["message"]


def test_a_vat_company_refuses_a_product_tax_group_and_an_unknown_vat_group_with_choices(exp):
    errors = save_refused(exp.name, "vat", **PRODUCTS, products__taxGroupCode="TAXABLE",
                          products__vatProductPostingGroup="NOPE")
    assert "uses VAT" in errors["products.taxGroupCode"]["message"]
    assert set(errors["products.vatProductPostingGroup"]["choices"]) >= {"STANDARD", "REDUCED", "ZERO"}


def test_an_explicit_vat_group_needs_the_item_card_web_service_and_save_says_how_to_publish_it(exp):
    exp.admin.set_web_service_published(constants.TENANT_ID, constants.ENVIRONMENT, constants.VAT_COMPANY,
                                        "Item_Card", False)
    errors = save_refused(exp.name, "vat", **PRODUCTS, products__vatProductPostingGroup="REDUCED")
    message = errors["webServices.itemCard"]["message"]
    assert "Object ID 30" in message and "Item_Card" in message
    exp.save("vat", **PRODUCTS)  # the gen. product posting group's default needs no web service


def test_an_unknown_item_type_is_refused_with_the_choices(exp):
    errors = save_refused(exp.name, **PRODUCTS, products__itemType="Resource")
    assert errors["products.itemType"]["choices"] == ["Service", "Non-Inventory", "Inventory"]


def test_saving_with_products_adds_no_request_to_the_save(exp):
    exp.save()
    mark = exp.mark()
    exp.save()
    without = len(exp.bc_since(mark))
    mark = exp.mark()
    connector = exp.save(**PRODUCTS)
    assert len(exp.bc_since(mark)) == without
    assert connector["products"] == {"enabled": True, "itemType": "Service", "genProductPostingGroup": "SERVICES"}
