"""Master data entity sets: customers, vendors, items, projects and the code-keyed lookups.

Write rules follow the APIV2 pages: a `number` a client supplies passes the number series' Manual Nos.
check (Customer.TestNoSeries, Job "No." OnValidate; docs/business-central.md §6), an id/code pair such as
currencyId/currencyCode must name the same row ('The "currencyCode" does not match to a Currency.', the
label pattern of every APIV2 page), and Code values arrive already upper-cased by the body validator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._bcerrors import already_exists, dialog, must_have_value
from ._engine import Behavior, Ctx
from ._schema import EMPTY_GUID, EntityType, edm_member

__all__ = ["Ref", "apply_refs", "MASTER_BEHAVIORS", "ReadOnlyBehavior", "CompaniesBehavior"]


@dataclass(frozen=True)
class Ref:
    """An id field (and optional code field) pointing at another table."""

    id_field: str
    code_field: str | None
    target: str | None  # table; None = a table the sandbox does not model (only blank is accepted)
    caption: str
    lcy: bool = False  # currency: the local currency is stored blank and shown as the LCY code


def apply_refs(ctx: Ctx, refs: tuple[Ref, ...], values: dict[str, Any]) -> dict[str, dict | None]:
    """Resolve id/code pairs in `values` in place; returns the rows found, by id field."""
    company = ctx.company
    assert company is not None
    found: dict[str, dict | None] = {}
    for ref in refs:
        has_id = ref.id_field in values
        has_code = ref.code_field is not None and ref.code_field in values
        if not (has_id or has_code):
            continue
        table = company.t(ref.target) if ref.target else None
        row: dict | None = None
        if has_id and values[ref.id_field] != EMPTY_GUID:
            row = table.get(values[ref.id_field]) if table is not None else None
            if row is None:
                raise dialog('The "%s" does not match to a %s.' % (ref.id_field, ref.caption))
        if has_code:
            # Text fields (currencyCode is Text on the page) reach a Code key: Get() upper-cases them.
            code = values[ref.code_field].upper()  # type: ignore[index]
            blank = code == "" or (ref.lcy and code == company.lcy)
            by_code = None
            if not blank:
                by_code = table.find("code", code) if table is not None else None
                if by_code is None:
                    raise dialog('The "%s" does not match to a %s.' % (ref.code_field, ref.caption))
            if has_id and (by_code or {}).get("id", EMPTY_GUID) != values[ref.id_field]:
                raise dialog("The %s values do not match to a specific %s." % (ref.caption.lower(), ref.caption))
            row = by_code
        values[ref.id_field] = row["id"] if row else EMPTY_GUID
        if ref.code_field:
            values[ref.code_field] = row["code"] if row else (company.lcy if ref.lcy else "")
        found[ref.id_field] = row
    return found


class MasterBehavior(Behavior):
    """Insert/modify/delete for a master table keyed by `number` (with a number series) or by `code`."""

    key_field = "number"
    key_caption = "No."
    series: str | None = None  # setup purpose, e.g. "customerNos"
    refs: tuple[Ref, ...] = ()
    required: tuple[tuple[str, str], ...] = ()  # (field, error text) checked on insert

    def key_fields(self, key: str) -> list[tuple[str, str]]:
        return [("SystemId", key)]

    def refs_for(self, ctx: Ctx) -> tuple[Ref, ...]:
        """The id/code pairs to resolve; some depend on the company (items' Tax Group)."""
        return self.refs

    def defaults(self, ctx: Ctx) -> dict[str, Any]:
        return {}

    def derive(self, ctx: Ctx, record_values: dict[str, Any], found: dict[str, dict | None]) -> None:
        """Fill read-only fields that follow from the written ones."""

    def create(self, ctx: Ctx, values: dict, navs: dict, parent: dict | None) -> dict:
        company = ctx.company
        assert company is not None
        table = company.t(self.set_name)
        for fieldname, message in self.required:
            if not values.get(fieldname):
                raise dialog(message)
        key = values.get(self.key_field, "")
        if self.series is not None:
            code = company.series_code(self.series)
            if key:
                company.test_manual(code)
            else:
                key = company.next_no(code, table, self.key_field)
        elif not key:
            raise must_have_value("Code" if self.key_field == "code" else self.key_caption, self.etype.caption,
                                  "%s=''" % ("Code" if self.key_field == "code" else self.key_caption))
        if table.find(self.key_field, key) is not None:
            raise already_exists(self.etype.caption, [(self.key_caption, key)])
        record = {**self.defaults(ctx), **values, self.key_field: key}
        found = apply_refs(ctx, self.refs_for(ctx), record)
        self.derive(ctx, record, found)
        return company.insert(self.set_name, record)

    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        company = ctx.company
        assert company is not None
        table = company.t(self.set_name)
        new_key = values.get(self.key_field)
        if new_key is not None and new_key != record.get(self.key_field):
            if not new_key:
                raise must_have_value(self.key_caption, self.etype.caption, "%s=''" % self.key_caption)
            if table.find(self.key_field, new_key) is not None:
                raise already_exists(self.etype.caption, [(self.key_caption, new_key)])
        merged = dict(values)
        found = apply_refs(ctx, self.refs_for(ctx), merged)
        preview = {**record, **merged}
        self.derive(ctx, preview, found)
        changes = {k: v for k, v in preview.items() if record.get(k, table.defaults.get(k)) != v or k in merged}
        return company.modify(self.set_name, record, changes)

    def delete(self, ctx: Ctx, record: dict) -> None:
        assert ctx.company is not None
        ctx.company.t(self.set_name).delete(record)


_CURRENCY = Ref("currencyId", "currencyCode", "currencies", "Currency", lcy=True)
_PAYMENT_TERMS = Ref("paymentTermsId", None, "paymentTerms", "Payment Terms")
_SHIPMENT_METHOD = Ref("shipmentMethodId", None, None, "Shipment Method")
_PAYMENT_METHOD = Ref("paymentMethodId", None, None, "Payment Method")


class CustomersBehavior(MasterBehavior):
    set_name = "customers"
    series = "customerNos"
    refs = (_CURRENCY, _PAYMENT_TERMS, _SHIPMENT_METHOD, _PAYMENT_METHOD,
            Ref("taxAreaId", None, "taxAreas", "Tax Area"))
    required = (("displayName", 'A "displayName" must be provided.'),)
    navigations = {
        "currency": ("lookup", "currencies", "currencyId"),
        "paymentTerm": ("lookup", "paymentTerms", "paymentTermsId"),
    }

    def defaults(self, ctx: Ctx) -> dict[str, Any]:
        company = ctx.company
        assert company is not None
        base: dict[str, Any] = {"currencyCode": company.lcy}
        # "API Setup" config template for customers (docs/business-central.md §2a), if the fixtures define one.
        base.update(company.setup_templates.get("customers", {}))
        return base

    def derive(self, ctx: Ctx, values: dict[str, Any], found: dict[str, dict | None]) -> None:
        derive_customer_tax(ctx, values, found)

    def delete(self, ctx: Ctx, record: dict) -> None:
        company = ctx.company
        assert company is not None
        for inv in company.t("salesInvoices").rows.values():
            if inv.get("customerId") == record["id"] and not inv.get("_posted"):
                # Customer.OnDelete checks outstanding documents; the exact text is inferred.
                raise dialog("You cannot delete Customer %s because there is at least one outstanding Sales "
                             "Invoice for this customer." % record.get("number", ""))
        super().delete(ctx, record)


def derive_customer_tax(ctx: Ctx, values: dict[str, Any], found: dict[str, dict | None]) -> None:
    """taxAreaId holds a Tax Area (sales tax) or a VAT Bus. Posting Group (VAT) (docs/business-central.md §7)."""
    company = ctx.company
    assert company is not None
    if "taxAreaId" in found:
        area = found["taxAreaId"]
        code = area["code"] if area else ""
        values["_vatBusPostingGroup" if company.uses_vat else "_taxAreaCode"] = code
    code = values.get("_vatBusPostingGroup" if company.uses_vat else "_taxAreaCode", "")
    area = company.t("taxAreas").find("code", code) if code else None
    values["taxAreaId"] = area["id"] if area else EMPTY_GUID
    values["taxAreaDisplayName"] = area.get("displayName", "") if area else ""


class VendorsBehavior(MasterBehavior):
    set_name = "vendors"
    series = "vendorNos"
    refs = (_CURRENCY, _PAYMENT_TERMS, _PAYMENT_METHOD)
    required = (("displayName", 'A "displayName" must be provided.'),)  # inferred: same rule as customers
    navigations = {
        "currency": ("lookup", "currencies", "currencyId"),
        "paymentTerm": ("lookup", "paymentTerms", "paymentTermsId"),
    }

    def defaults(self, ctx: Ctx) -> dict[str, Any]:
        assert ctx.company is not None
        return {"currencyCode": ctx.company.lcy}


_ITEM_TAX_GROUP = Ref("taxGroupId", "taxGroupCode", "taxGroups", "Tax Group")
_ITEM_SALES_TAX_GROUP = Ref("taxGroupId", "taxGroupCode", "salesTaxGroups", "Tax Group")


class ItemsBehavior(MasterBehavior):
    """APIV2 - Items (page 30008). taxGroupId/Code validate against the sales-tax "Tax Group" table in every
    localization (no UseVat switch on this page), so a VAT company's taxGroups (its VAT Prod. Posting Groups)
    are not valid there; the item's VAT Prod. Posting Group has no API v2.0 field at all. It comes from the
    Gen. Prod. Posting Group's "Def. VAT Prod. Posting Group" when that group has "Auto Insert Default"
    (Item "Gen. Prod. Posting Group" OnValidate), from an API Setup template, or from the Item Card page."""

    set_name = "items"
    series = "itemNos"
    refs = (
        Ref("baseUnitOfMeasureId", "baseUnitOfMeasureCode", "unitsOfMeasure", "Unit of Measure"),
        _ITEM_TAX_GROUP,
        Ref("generalProductPostingGroupId", "generalProductPostingGroupCode", "generalProductPostingGroups",
            "General Product Posting Group"),
        Ref("inventoryPostingGroupId", "inventoryPostingGroupCode", None, "Inventory Posting Group"),
        Ref("itemCategoryId", "itemCategoryCode", None, "Item Category"),
    )
    navigations = {
        "baseUnitOfMeasure": ("lookup", "unitsOfMeasure", "baseUnitOfMeasureId"),
        "generalProductPostingGroup": ("lookup", "generalProductPostingGroups", "generalProductPostingGroupId"),
    }

    def refs_for(self, ctx: Ctx) -> tuple[Ref, ...]:
        assert ctx.company is not None
        if not ctx.company.uses_vat:
            return self.refs
        return tuple(_ITEM_SALES_TAX_GROUP if r is _ITEM_TAX_GROUP else r for r in self.refs)

    def defaults(self, ctx: Ctx) -> dict[str, Any]:
        assert ctx.company is not None
        # "API Setup" config template for items (GraphCollectionMgtItem.InsertItem), if the fixtures define one.
        return dict(ctx.company.setup_templates.get("items", {}))

    def derive(self, ctx: Ctx, values: dict[str, Any], found: dict[str, dict | None]) -> None:
        derive_item(values, found.get("generalProductPostingGroupId", None),
                    "generalProductPostingGroupId" in found)


def derive_item(values: dict[str, Any], gen_prod_group: dict | None, gen_prod_written: bool) -> None:
    """Base unit joins the item's units; a written Gen. Prod. Posting Group with Auto Insert Default brings its
    Def. VAT Prod. Posting Group (Item.Table.al "Gen. Prod. Posting Group" OnValidate)."""
    base = values.get("baseUnitOfMeasureCode", "")
    units = tuple(values.get("_unitsOfMeasure", ()))
    if base and base not in units:
        values["_unitsOfMeasure"] = units + (base,)
    if gen_prod_written and gen_prod_group is not None and gen_prod_group.get("autoInsertDefault", True):
        default_vat = gen_prod_group.get("defaultVATProductPostingGroup", "")
        if default_vat:
            values["_vatProdPostingGroup"] = default_vat


class ProjectsBehavior(MasterBehavior):
    set_name = "projects"
    series = "jobNos"


class CodeBehavior(MasterBehavior):
    key_field = "code"
    key_caption = "Code"


class UnitsOfMeasureBehavior(CodeBehavior):
    set_name = "unitsOfMeasure"


class CurrenciesBehavior(CodeBehavior):
    set_name = "currencies"


class PaymentTermsBehavior(CodeBehavior):
    set_name = "paymentTerms"


class TaxBufferBehavior(CodeBehavior):
    """taxGroups / taxAreas: buffers over Tax Group/Area (sales tax) or VAT Prod./Bus. Posting Group (VAT)."""

    def key_fields(self, key: str) -> list[tuple[str, str]]:
        return [("Id", key)]

    def defaults(self, ctx: Ctx) -> dict[str, Any]:
        assert ctx.company is not None
        return {"taxType": edm_member("VAT" if ctx.company.uses_vat else "Sales Tax")}


class TaxGroupsBehavior(TaxBufferBehavior):
    set_name = "taxGroups"


class TaxAreasBehavior(TaxBufferBehavior):
    set_name = "taxAreas"


class CompanyInformationBehavior(MasterBehavior):
    set_name = "companyInformation"

    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        assert ctx.company is not None
        return ctx.company.modify(self.set_name, record, values)


class ReadOnlyBehavior(Behavior):
    """Pages with Editable = false: dimensions, dimensionValues, accounts, generalLedgerEntries, ..."""

    def __init__(self, etype: EntityType, set_name: str, navigations: dict | None = None) -> None:
        super().__init__(etype)
        self.set_name = set_name
        self.navigations = navigations or {}


class CompaniesBehavior(Behavior):
    """The platform's `companies` entity: one row per company of the environment."""

    set_name = "companies"

    def table(self, ctx: Ctx):  # type: ignore[override]
        return ctx.env.company_rows


MASTER_BEHAVIORS = {
    cls.set_name: cls
    for cls in (CustomersBehavior, VendorsBehavior, ItemsBehavior, ProjectsBehavior, UnitsOfMeasureBehavior,
                CurrenciesBehavior, PaymentTermsBehavior, TaxGroupsBehavior, TaxAreasBehavior,
                CompanyInformationBehavior)
}

READ_ONLY_NAVIGATIONS: dict[str, dict[str, tuple[str, str, str]]] = {
    "dimensions": {"dimensionValues": ("children", "dimensionValues", "dimensionId")},
    "dimensionValues": {},
    "accounts": {},
    "generalLedgerEntries": {
        "dimensionSetLines": ("dims", "dimensionSetLines", ""),
        "account": ("lookup", "accounts", "accountId"),
    },
    "generalLedgerSetup": {},
    "generalProductPostingGroups": {},
}
