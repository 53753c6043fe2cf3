"""Entity types of the BC sandbox, derived at load time from BC's own field lists.

`api_v2_fields.json` (extracted from the AL source of
the APIV2 app) gives every API v2.0 field with its AL type and whether a client may write it. This module
turns it into `EntityType`s the query engine, the body validator and the serializer all share, the way
stripe-mock derives its routes and checks from Stripe's OpenAPI spec instead of hand-writing them.

Enum values travel as EDM member names: AL captions with every character that is not a letter, digit or
underscore XML-encoded, so a blank option is `_x0020_` and "Cost of Goods Sold" is
`Cost_x0020_of_x0020_Goods_x0020_Sold` (seen in recorded BC responses, e.g. `"blocked": "_x0020_"` on
customers and `Begin_x002D_Total` on accounts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

__all__ = [
    "FieldType",
    "Prop",
    "EntityType",
    "ENUMS",
    "edm_member",
    "load_api_types",
    "EMPTY_GUID",
    "BLANK_DATE",
    "BLANK_DATETIME",
]

EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
#: BC renders a blank Date as 0001-01-01 and a blank DateTime as 0001-01-01T00:00:00Z.
BLANK_DATE = "0001-01-01"
BLANK_DATETIME = "0001-01-01T00:00:00Z"

#: Captions of the AL enums the sandbox validates, in ordinal order (first = default value).
#: Sources: the enum objects named in bc_api_v2_fields.json (the BaseApp enum objects of github.com/microsoft/BCApps, src/Layers/W1/BaseApp/**.Enum.al).
ENUMS: dict[str, list[str]] = {
    "Contact Type": ["Company", "Person"],
    "Customer Blocked": [" ", "Ship", "Invoice", "All"],
    "Vendor Blocked": [" ", "Payment", "All"],
    "Item Type": ["Inventory", "Service", "Non-Inventory"],
    "Invoice Entity Aggregate Status": [" ", "Draft", "In Review", "Open", "Paid", "Canceled", "Corrective"],
    "Invoice Line Agg. Line Type": [
        "Comment", "Account", "Item", "Resource", "Fixed Asset", "Charge", "Allocation Account",
    ],
    "Dimension Set Entry Buffer Parent Type": [
        " ", "Journal Line", "Sales Order", "Sales Order Line", "Sales Quote", "Sales Quote Line",
        "Sales Credit Memo", "Sales Credit Memo Line", "Sales Invoice", "Sales Invoice Line",
        "Purchase Invoice", "Purchase Invoice Line", "General Ledger Entry", "Time Registration Entry",
        "Sales Shipment", "Sales Shipment Line", "Purchase Receipt", "Purchase Receipt Line",
        "Purchase Order", "Purchase Order Line", "Purchase Credit Memo", "Purchase Credit Memo Line",
    ],
    "Gen. Journal Document Type": [
        " ", "Payment", "Invoice", "Credit Memo", "Finance Charge Memo", "Reminder", "Refund",
    ],
    "G/L Account Category": [" ", "Assets", "Liabilities", "Equity", "Income", "Cost of Goods Sold", "Expense"],
    "G/L Account Type": ["Posting", "Heading", "Total", "Begin-Total", "End-Total"],
    "Tax Buffer Type": ["Sales Tax", "VAT"],
    "Dimension Value Type": ["Standard", "Heading", "Total", "Begin-Total", "End-Total"],
}

_IDENT_CHAR = re.compile(r"[A-Za-z0-9_]")


def edm_member(caption: str) -> str:
    """AL caption -> EDM enum member name (XmlConvert-style `_xHHHH_` escapes)."""
    out = []
    for i, ch in enumerate(caption):
        if _IDENT_CHAR.match(ch) and not (i == 0 and ch.isdigit()):
            out.append(ch)
        else:
            out.append("_x%04X_" % ord(ch))
    return "".join(out)


def _enum_edm_name(enum_name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", enum_name)
    if not words:
        return "enum"
    first = words[0]
    return "Microsoft.NAV." + first[:1].lower() + first[1:] + "".join(w[:1].upper() + w[1:] for w in words[1:])


@dataclass(frozen=True)
class FieldType:
    """A field's value kind: what JSON it takes, how long it may be, what a blank value looks like."""

    kind: str  # code | text | guid | date | datetime | decimal | integer | boolean | enum
    length: int | None = None
    enum: str | None = None
    members: tuple[str, ...] = ()  # EDM member names for enums (empty: any string accepted)
    al: str = ""

    @property
    def edm(self) -> str:
        if self.kind == "enum":
            return _enum_edm_name(self.enum or "enum")
        return {
            "code": "Edm.String",
            "text": "Edm.String",
            "guid": "Edm.Guid",
            "date": "Edm.Date",
            "datetime": "Edm.DateTimeOffset",
            "decimal": "Edm.Decimal",
            "integer": "Edm.Int32",
            "int64": "Edm.Int64",
            "boolean": "Edm.Boolean",
        }[self.kind]

    @property
    def default(self) -> Any:
        if self.kind in ("code", "text"):
            return ""
        if self.kind == "guid":
            return EMPTY_GUID
        if self.kind == "date":
            return BLANK_DATE
        if self.kind == "datetime":
            return BLANK_DATETIME
        if self.kind in ("decimal", "integer", "int64"):
            return 0
        if self.kind == "boolean":
            return False
        if self.kind == "enum":
            return self.members[0] if self.members else ""
        raise AssertionError(self.kind)


def parse_al_type(al: str) -> FieldType | None:
    """AL (or platform) type text from the field list -> FieldType; None for fields the sandbox omits (BLOB)."""
    m = re.fullmatch(r"(Code|Text)(?:\[(\d+)\])?", al)
    if m:
        return FieldType(m.group(1).lower(), int(m.group(2)) if m.group(2) else None, al=al)
    m = re.fullmatch(r'Enum "(.+)"', al)
    if m:
        name = m.group(1)
        members = tuple(edm_member(c) for c in ENUMS.get(name, ()))
        return FieldType("enum", enum=name, members=members, al=al)
    simple = {
        "Guid": "guid",
        "Date": "date",
        "DateTime": "datetime",
        "datetime": "datetime",
        "Decimal": "decimal",
        "Boolean": "boolean",
        "Integer": "integer",
        "int64": "int64",
        "string": "text",
        "DateFormula": "text",
        "Option": "text",
    }
    if al in simple:
        return FieldType(simple[al], al=al)
    if al.startswith("string"):
        return FieldType("text", al=al)
    return None  # BLOB, query columns, ...


@dataclass
class Prop:
    """One property of an entity type: its wire name, where it lives in the stored record, its type."""

    name: str
    key: str
    type: FieldType
    editable: bool


@dataclass
class EntityType:
    """An entity set (API v2.0) or a published page (OData V4) as the query engine and validator see it."""

    name: str  # entity set name or web service name
    entity_name: str  # e.g. "customer" -> type Microsoft.NAV.customer
    caption: str  # table caption used in BC's record messages, e.g. "Customer"
    props: dict[str, Prop]
    insert_allowed: bool = True
    modify_allowed: bool = True
    delete_allowed: bool = True
    parts: tuple[str, ...] = ()  # navigation names BC lists for the type
    actions: tuple[str, ...] = ()
    sort_keys: tuple[str, ...] = ("id",)  # record keys of the default order (the table's primary key)
    defaults: dict[str, Any] = field(default_factory=dict)  # record key -> blank value

    def __post_init__(self) -> None:
        self.defaults = {p.key: p.type.default for p in self.props.values()}

    @property
    def qualified(self) -> str:
        return "Microsoft.NAV." + self.entity_name

    @property
    def read_only(self) -> bool:
        return not (self.insert_allowed or self.modify_allowed or self.delete_allowed)

    def value(self, record: dict, prop: Prop) -> Any:
        return record.get(prop.key, self.defaults[prop.key])


def _load_json() -> dict:
    text = resources.files("sandbox.bc").joinpath("api_v2_fields.json").read_text(encoding="utf-8")
    return json.loads(text)


#: Table captions for BC's record messages ("The Customer does not exist. ...").
_CAPTIONS = {
    "companies": "Company",
    "companyInformation": "Company Information",
    "customers": "Customer",
    "vendors": "Vendor",
    "items": "Item",
    "projects": "Job",
    "salesInvoices": "Sales Invoice Entity Aggregate",
    "salesInvoiceLines": "Sales Invoice Line Aggregate",
    "purchaseInvoices": "Purch. Inv. Entity Aggregate",
    "purchaseInvoiceLines": "Purch. Inv. Line Aggregate",
    "purchaseCreditMemos": "Purch. Cr. Memo Entity Buffer",
    "purchaseCreditMemoLines": "Purch. Cr. Memo Line Buffer",
    "dimensions": "Dimension",
    "dimensionValues": "Dimension Value",
    "dimensionSetLines": "Dimension Set Entry Buffer",
    "generalLedgerEntries": "G/L Entry",
    "accounts": "G/L Account",
    "generalLedgerSetup": "General Ledger Setup",
    "currencies": "Currency",
    "paymentTerms": "Payment Terms",
    "unitsOfMeasure": "Unit of Measure",
    "taxGroups": "Tax Group Buffer",
    "taxAreas": "Tax Area Buffer",
    "generalProductPostingGroups": "Gen. Product Posting Group",
}

#: Default order per entity set: the primary key of the source table (BC pages list records in that order).
_SORT_KEYS = {
    "companies": ("name",),
    "customers": ("number",),
    "vendors": ("number",),
    "items": ("number",),
    "projects": ("number",),
    "accounts": ("number",),
    # "Sales Invoice Entity Aggregate" key 1 is ("No.", Posted).
    "salesInvoices": ("number", "_posted"),
    "purchaseInvoices": ("number", "_posted"),
    "purchaseCreditMemos": ("number", "_posted"),
    "salesInvoiceLines": ("documentId", "sequence"),
    "purchaseInvoiceLines": ("documentId", "sequence"),
    "purchaseCreditMemoLines": ("documentId", "sequence"),
    "dimensions": ("code",),
    "dimensionValues": ("_dimensionCode", "code"),
    "generalLedgerEntries": ("entryNumber",),
    "currencies": ("code",),
    "paymentTerms": ("code",),
    "unitsOfMeasure": ("code",),
    "taxGroups": ("code",),
    "taxAreas": ("code",),
    "generalProductPostingGroups": ("code",),
}

#: Entity sets the sandbox serves. Others in the field list (journals, employees, ...) answer 501.
IMPLEMENTED = tuple(_SORT_KEYS) + ("companyInformation", "generalLedgerSetup", "dimensionSetLines")


def _purchase_credit_memo_fields(purchase_invoices: dict) -> dict:
    """purchaseCreditMemos is NOT in bc_api_v2_fields.json: modelled on purchaseInvoices.

    Renamed/added as in AL page 30083 "APIV2 - Purchase Credit Memos" (microsoft/ALAppExtensions
    Apps/W1/APIV2/app/src/pages/APIV2PurchaseCreditMemos.Page.al): creditMemoDate instead of invoiceDate,
    vendorCreditMemoNumber instead of vendorInvoiceNumber, invoiceId/invoiceNumber (the corrected invoice),
    no order fields; pricesIncludeTax is read-only there.
    """
    fields: dict[str, Any] = {}
    for name, spec in purchase_invoices["fields"].items():
        if name in ("orderId", "orderNumber"):
            continue
        if name == "invoiceDate":
            name = "creditMemoDate"
        elif name == "vendorInvoiceNumber":
            name = "vendorCreditMemoNumber"
        elif name == "pricesIncludeTax":
            spec = {**spec, "editable": False}
        fields[name] = spec
    fields["invoiceId"] = {"type": "Guid", "editable": True}
    fields["invoiceNumber"] = {"type": "Code[20]", "editable": True}
    return {
        "entityName": "purchaseCreditMemo",
        "fields": fields,
        "pageFlags": purchase_invoices.get("pageFlags", {}),
        "parts": [{"navigation": "dimensionSetLines"}, {"navigation": "purchaseCreditMemoLines"}],
        "actions": ["Microsoft.NAV.post"],
    }


def _purchase_credit_memo_line_fields(purchase_invoice_lines: dict) -> dict:
    """purchaseCreditMemoLines: not in the field list either; a copy of purchaseInvoiceLines (see above)."""
    fields = {k: v for k, v in purchase_invoice_lines["fields"].items() if k != "expectedReceiptDate"}
    return {
        "entityName": "purchaseCreditMemoLine",
        "fields": fields,
        "pageFlags": purchase_invoice_lines.get("pageFlags", {}),
        "parts": [{"navigation": "dimensionSetLines"}],
        "actions": [],
    }


def _entity_from_spec(set_name: str, spec: dict) -> EntityType:
    props: dict[str, Prop] = {}
    for fname, fspec in spec.get("fields", {}).items():
        ftype = parse_al_type(fspec.get("type", ""))
        if ftype is None:
            continue
        props[fname] = Prop(fname, fname, ftype, bool(fspec.get("editable")))
    flags = spec.get("pageFlags", {}) or {}
    editable = flags.get("Editable", "true") != "false"
    parts = spec.get("parts") or []
    if isinstance(parts, str):
        parts = []
    return EntityType(
        name=set_name,
        entity_name=spec.get("entityName", set_name),
        caption=_CAPTIONS.get(set_name, set_name),
        props=props,
        insert_allowed=editable and flags.get("InsertAllowed", "true") != "false",
        modify_allowed=editable and flags.get("ModifyAllowed", "true") != "false",
        delete_allowed=editable and flags.get("DeleteAllowed", "true") != "false",
        parts=tuple(p["navigation"] for p in parts),
        actions=tuple(spec.get("actions") or ()),
        sort_keys=_SORT_KEYS.get(set_name, ("id",)),
    )


def load_api_types() -> tuple[dict[str, EntityType], set[str]]:
    """All API v2.0 entity types the sandbox serves, plus the names of sets it knows but does not serve."""
    raw = _load_json()
    specs = {k: v for k, v in raw.items() if not k.startswith("_") and isinstance(v, dict) and "fields" in v}
    specs["purchaseCreditMemos"] = _purchase_credit_memo_fields(specs["purchaseInvoices"])
    specs["purchaseCreditMemoLines"] = _purchase_credit_memo_line_fields(specs["purchaseInvoiceLines"])
    types: dict[str, EntityType] = {}
    for set_name in IMPLEMENTED:
        types[set_name] = _entity_from_spec(set_name, specs[set_name])
    # Platform entity: never writable ("POST on companies is not allowed", docs/business-central.md §5 error table).
    companies = types["companies"]
    companies.insert_allowed = companies.modify_allowed = companies.delete_allowed = False
    # companyInformation: InsertAllowed/DeleteAllowed = false, ModifyAllowed stays (page flags).
    # dimensionSetLines: the AL page allows insert/modify/delete; parents decide (G/L entries: read-only).
    known = {k for k in specs} - set(types)
    for t in types.values():
        t.defaults = {p.key: p.type.default for p in t.props.values()}
    return types, known
