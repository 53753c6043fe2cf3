"""dimensionSetLines: the dimension set of one parent record, reached only through that parent.

Texts are the labels of AL page 30022 "APIV2 - Dimension Set Lines" (microsoft/ALAppExtensions
Apps/W1/APIV2/app/src/pages/APIV2DimensionSetLines.Page.al) and of DimensionManagement for blocked
dimensions and values. The key is the dimension's id (ODataKeyFields = "Dimension Id"). A parent stores its
set as `_dims`: {dimension id: (value id, row version)}; the dict is replaced, never edited in place.
"""

from __future__ import annotations

from typing import Any

from ._bcerrors import dialog, record_not_found
from ._engine import Behavior, Ctx, ListSource
from ._schema import edm_member

__all__ = ["DimSetBehavior", "DimSetSource", "PARENT_TYPES", "resolve_dimension", "check_usable", "dim_rows"]

#: Parent entity set -> "Dimension Set Entry Buffer Parent Type" caption.
PARENT_TYPES = {
    "salesInvoices": "Sales Invoice",
    "salesInvoiceLines": "Sales Invoice Line",
    "purchaseInvoices": "Purchase Invoice",
    "purchaseInvoiceLines": "Purchase Invoice Line",
    "purchaseCreditMemos": "Purchase Credit Memo",
    "purchaseCreditMemoLines": "Purchase Credit Memo Line",
    "generalLedgerEntries": "General Ledger Entry",
}

PARENT_NOT_SPECIFIED = "You must get to the parent first to get to the dimension set line."
PARENT_REQUIRED = "You must get to the parent first to create a dimension set line."
ALREADY_EXISTS = ("The dimension set line already exists. Check existing dimension set lines and the default "
                  "dimension set lines on the parent.")


class DimSetBehavior(Behavior):
    set_name = "dimensionSetLines"

    def key_fields(self, key: str) -> list[tuple[str, str]]:
        return [("Dimension Id", key)]


def check_usable(company: Any, dim: dict, value: dict) -> None:
    """DimensionManagement's checks when a value is put on a record (texts: DimensionBlockedErr,
    DimValueBlockedErr, DimValueMustNotBeErr)."""
    if dim.get("_blocked"):
        raise dialog("Dimension %s is blocked." % dim["code"])
    if value.get("_blocked"):
        raise dialog("Dimension Value %s - %s is blocked." % (dim["code"], value["code"]))
    vtype = value.get("_valueType", "Standard")
    if vtype != "Standard":
        raise dialog("Dimension Value Type for Dimension Value %s - %s must not be %s."
                     % (dim["code"], value["code"], vtype.replace("_x002D_", "-")))


def resolve_dimension(company: Any, values: dict[str, Any]) -> tuple[dict, dict | None]:
    """(dimension, value or None) from a line body's id/code/valueId/valueCode."""
    if "id" not in values and "code" not in values:
        raise dialog('The "id" or "code" field must be filled in.')
    dim = None
    if "id" in values:
        dim = company.dimension(values["id"])
        if dim is None:
            raise dialog('The "id" does not match to a Dimension.')
    if "code" in values:
        by_code = company.dimension_by_code(values["code"])
        if dim is not None:
            if by_code is None or by_code["id"] != dim["id"]:
                raise dialog("The dimension field values do not match to a specific Dimension.")
        elif by_code is None:
            raise dialog('The "code" does not match to a Dimension.')
        dim = by_code
    assert dim is not None
    value = None
    if "valueId" in values:
        value = company.dimension_value(values["valueId"])
        if value is None or value["dimensionId"] != dim["id"]:
            raise dialog('The "valueId" does not match to a Dimension Value.')
    if "valueCode" in values:
        by_code = company.dimension_value_by_code(dim["id"], values["valueCode"])
        if value is not None:
            if by_code is None or by_code["id"] != value["id"]:
                raise dialog('The values of the "dimensionCode" field and the "dimensionId" field do not refer to '
                             'the same Dimension Value.')
        elif by_code is None:
            raise dialog('The "valueCode" does not match to a Dimension Value.')
        value = by_code
    return dim, value


def dim_rows(company: Any, parent_set: str, parent: dict) -> list[dict]:
    rows = []
    parent_type = edm_member(PARENT_TYPES.get(parent_set, " "))
    for dim_id, (value_id, rv) in parent.get("_dims", {}).items():
        dim = company.dimension(dim_id) or {}
        value = company.dimension_value(value_id) or {}
        rows.append({
            "id": dim_id,
            "code": dim.get("code", ""),
            "consolidationCode": dim.get("consolidationCode", ""),
            "parentId": parent["id"],
            "parentType": parent_type,
            "displayName": dim.get("displayName", ""),
            "valueId": value_id,
            "valueCode": value.get("code", ""),
            "valueConsolidationCode": value.get("consolidationCode", ""),
            "valueDisplayName": value.get("displayName", ""),
            "_rv": rv,
            "_sort": dim.get("code", ""),
        })
    return rows


class DimSetSource(ListSource):
    """The dimension set lines of one parent record."""

    def __init__(self, ctx: Ctx, parent_behavior: Behavior, parent: dict) -> None:
        assert ctx.company is not None
        self.ctx = ctx
        self.company = ctx.company
        self.parent_behavior = parent_behavior
        self.parent = parent
        super().__init__(ctx.behavior("dimensionSetLines"), dim_rows(ctx.company, parent_behavior.set_name, parent))

    def not_found(self, key: str):  # type: ignore[override]
        return record_not_found("Dimension Set Entry Buffer", [("Parent Id", self.parent["id"]), ("Dimension Id", key)])

    def _writable(self) -> None:
        writable = getattr(self.parent_behavior, "dims_writable", None)
        if writable is None or not writable(self.ctx, self.parent):
            raise dialog("Parent with ID %s does not exist or dimension set lines are read only for parent type %s."
                         % (self.parent["id"], PARENT_TYPES.get(self.parent_behavior.set_name, "")))

    def insert(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        self._writable()
        dim, value = resolve_dimension(self.company, values)
        if value is None:
            raise dialog('The "valueId" or "valueCode" field must be filled in.')
        dims = dict(self.parent.get("_dims", {}))
        if dim["id"] in dims:
            raise dialog(ALREADY_EXISTS)
        check_usable(self.company, dim, value)
        dims[dim["id"]] = (value["id"], self.company.db.next_version())
        self.parent_behavior.write_dims(ctx, self.parent, dims)  # type: ignore[attr-defined]
        return self._row(dim["id"])

    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        self._writable()
        if ("id" in values and values["id"] != record["id"]) or ("code" in values and values["code"] != record["code"]):
            raise dialog('The "id" and "code" fields cannot be modified.')
        merged = {"id": record["id"], **{k: v for k, v in values.items() if k in ("valueId", "valueCode")}}
        if "valueId" not in merged and "valueCode" not in merged:
            return record
        dim, value = resolve_dimension(self.company, merged)
        assert value is not None
        check_usable(self.company, dim, value)
        dims = dict(self.parent.get("_dims", {}))
        dims[dim["id"]] = (value["id"], self.company.db.next_version())
        self.parent_behavior.write_dims(ctx, self.parent, dims)  # type: ignore[attr-defined]
        return self._row(dim["id"])

    def delete(self, ctx: Ctx, record: dict) -> None:
        self._writable()
        dims = dict(self.parent.get("_dims", {}))
        dims.pop(record["id"], None)
        self.parent_behavior.write_dims(ctx, self.parent, dims)  # type: ignore[attr-defined]

    def _row(self, dim_id: str) -> dict:
        for row in dim_rows(self.company, self.parent_behavior.set_name, self.parent):
            if row["id"] == dim_id:
                return row
        raise AssertionError(dim_id)
