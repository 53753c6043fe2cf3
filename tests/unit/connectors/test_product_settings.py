"""The products settings (docs/contract.md §2 "products"): parsing, and the checks of a save against what BC
reported in the verification's `$batch` (pure: the look-ups are given)."""

from __future__ import annotations

import pytest

from shared.connectors import SettingsInvalid, parse_connector_settings
from shared.connectors._verify import _check_products

BASE = {"tenantId": "contoso.onmicrosoft.com", "environment": "Production", "company": "X",
        "auth": {"mode": "clientCredentials"}, "defaults": {"unitOfMeasure": "PCS", "taxGroupCode": None}}
VAT_LOOKUPS = {
    "taxGroups": [{"code": "STANDARD"}, {"code": "REDUCED"}],
    "unitsOfMeasure": [{"code": "PCS"}, {"code": "HOUR"}],
    "genProductPostingGroups": [
        {"code": "SERVICES", "defaultVATProductPostingGroup": "STANDARD", "autoInsertDefault": True},
        {"code": "MANUAL", "defaultVATProductPostingGroup": "STANDARD", "autoInsertDefault": False},
        {"code": "BARE", "defaultVATProductPostingGroup": "", "autoInsertDefault": True}],
}


def settings_with(**products):
    return parse_connector_settings({**BASE, "products": {"enabled": True, **products}})


def check(settings, tax_mode="vat", lookups=VAT_LOOKUPS):
    errors, checks = [], []
    card = _check_products(settings, tax_mode, lookups, errors, checks)
    return card, {e.field: e for e in errors}, checks


def test_products_default_to_service_items_with_the_default_unit():
    s = settings_with(genProductPostingGroup="services")
    assert (s.product_item_type, s.product_gen_prod_posting_group, s.product_unit) == ("Service", "SERVICES", "PCS")
    assert s.to_document()["products"] == {"enabled": True, "itemType": "Service", "genProductPostingGroup": "SERVICES"}


def test_products_need_a_gen_product_posting_group():
    with pytest.raises(SettingsInvalid) as info:
        settings_with()
    assert [e.field for e in info.value.errors] == ["products.genProductPostingGroup"]


def test_the_product_tax_group_follows_the_default_and_is_none_with_taxes_disabled():
    on = parse_connector_settings({**BASE, "defaults": {"unitOfMeasure": "PCS", "taxGroupCode": "TAXABLE"},
                                   "products": {"enabled": True, "genProductPostingGroup": "S"}})
    assert on.product_tax_group == "TAXABLE"
    assert settings_with(genProductPostingGroup="S", taxGroupCode="LABOR").product_tax_group is None


def test_a_vat_group_from_the_gen_group_default_needs_no_item_card():
    card, errors, checks = check(settings_with(genProductPostingGroup="SERVICES"))
    assert (card, errors) == (False, {})
    assert any("STANDARD" in c and "Auto Insert Default" in c for c in checks)


@pytest.mark.parametrize("group, why", [("MANUAL", "Auto Insert Default on"), ("BARE", "no Def. VAT Prod.")])
def test_without_a_usable_default_the_save_says_both_ways_to_fix_it(group, why):
    card, errors, _ = check(settings_with(genProductPostingGroup=group))
    error = errors["products.vatProductPostingGroup"]
    assert why in error.message and "webServices.itemCard" in error.message and "Gen. Product Posting Groups" \
        in error.message
    assert error.choices == ("STANDARD", "REDUCED")


def test_an_explicit_vat_group_is_written_through_the_item_card():
    card, errors, checks = check(settings_with(genProductPostingGroup="MANUAL", vatProductPostingGroup="REDUCED"))
    assert (card, errors) == (True, {})


def test_an_explicit_vat_group_equal_to_the_default_says_it_could_be_left_out():
    _, _, checks = check(settings_with(genProductPostingGroup="SERVICES", vatProductPostingGroup="STANDARD"))
    assert any("leave the setting empty" in c for c in checks)


def test_an_unknown_gen_group_lists_the_companys_groups():
    _, errors, _ = check(settings_with(genProductPostingGroup="NOPE"))
    assert errors["products.genProductPostingGroup"].choices == ("SERVICES", "MANUAL", "BARE")


def test_a_us_company_refuses_a_vat_group_and_a_tax_group_while_taxes_are_disabled():
    lookups = {"taxGroups": [{"code": "TAXABLE"}], "genProductPostingGroups": [{"code": "SERVICES"}]}
    card, errors, _ = check(settings_with(genProductPostingGroup="SERVICES", vatProductPostingGroup="STANDARD",
                                          taxGroupCode="TAXABLE"), "salesTax", lookups)
    assert card is False
    assert set(errors) == {"products.vatProductPostingGroup", "products.taxGroupCode"}
    assert errors["products.taxGroupCode"].choices == ("TAXABLE",)
