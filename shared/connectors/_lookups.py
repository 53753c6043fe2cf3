"""Choices for a settings screen (`GET /connectors/{name}/lookups/{kind}`), read live from BC.

Each kind answers `{"code": ..., "name": ...}` rows (companies answer id and name) in BC's order, so a
screen can offer exactly the values that a save will accept.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping

from shared.bc import BcClient, eq
from shared.errors import NotFound
from shared.jsontypes import JsonObject

from ._settings import ConnectorSettings, FieldError, SettingsInvalid

__all__ = ["LOOKUP_KINDS", "UnknownLookup", "run_lookup"]

MAX_ITEMS = 1000
DEFAULT_ITEMS = 200
_TOP = re.compile(r"[0-9]{1,4}")
_CODE = re.compile(r"[^\x00-\x1f\x7f]{1,20}")


class UnknownLookup(NotFound):
    """The route names a look-up that does not exist; the message lists the ones that do (HTTP 404)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"There is no look-up '{kind}'. Known look-ups: {', '.join(LOOKUP_KINDS)}.",
                         field="kind")
        self.kind = kind


def run_lookup(kind: str, params: Mapping[str, str], *, client: BcClient, settings: ConnectorSettings,
               company_id: str | None, company_name: str | None) -> list[JsonObject]:
    """Answer one look-up. Everything but `companies` needs the connector's resolved company."""
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise UnknownLookup(kind)
    if kind != "companies" and not company_id:
        raise SettingsInvalid([FieldError(
            "company", "The connector has no verified company yet (it awaits consent); look-ups other than "
                       "companies need one.")])
    return handler(_Context(client, settings, company_id or "", company_name or "", params))


class _Context:
    def __init__(self, client: BcClient, settings: ConnectorSettings, company_id: str, company_name: str,
                 params: Mapping[str, str]):
        self.client, self.settings = client, settings
        self.company_id, self.company_name, self.params = company_id, company_name, params

    def entities(self, entity_set: str, fields: list[str], **query: str | int | list[str]) -> list[JsonObject]:
        return list(self.client.list_entities(self.company_id, entity_set, select=fields, **query))


def _companies(ctx: _Context) -> list[JsonObject]:
    return [{"id": c["id"], "name": c.get("name"), "displayName": c.get("displayName")}
            for c in ctx.client.list_companies()]


def _coded(entity_set: str, extra: tuple[str, ...] = ()) -> Callable[[_Context], list[JsonObject]]:
    def lookup(ctx: _Context) -> list[JsonObject]:
        rows = ctx.entities(entity_set, ["code", "displayName", *extra])
        return [{"code": r["code"], "name": r.get("displayName"), **{k: r.get(k) for k in extra}} for r in rows]
    return lookup


def _items(ctx: _Context) -> list[JsonObject]:
    raw_top = ctx.params.get("top", str(DEFAULT_ITEMS))
    # ASCII digits only, matched whole: str.isdigit() also takes '²', which int() refuses.
    if not _TOP.fullmatch(raw_top) or not 1 <= int(raw_top) <= MAX_ITEMS:
        raise SettingsInvalid([FieldError("top", f"Must be a whole number from 1 to {MAX_ITEMS}.")])
    rows = ctx.entities("items", ["number", "displayName", "type", "blocked", "baseUnitOfMeasureCode"],
                        top=int(raw_top))
    return [{"code": r["number"], "name": r.get("displayName"), "type": r.get("type"),
             "blocked": r.get("blocked"), "unitOfMeasure": r.get("baseUnitOfMeasureCode")} for r in rows]


def _gen_product_posting_groups(ctx: _Context) -> list[JsonObject]:
    """API v2.0 generalProductPostingGroups, with the VAT group a new item would get from each."""
    rows = ctx.entities("generalProductPostingGroups",
                        ["code", "description", "defaultVATProductPostingGroup", "autoInsertDefault"])
    return [{"code": r["code"], "name": r.get("description"),
             "defaultVATProductPostingGroup": r.get("defaultVATProductPostingGroup"),
             "autoInsertDefault": r.get("autoInsertDefault")} for r in rows]


def _dimension_values(ctx: _Context) -> list[JsonObject]:
    code = (ctx.params.get("dimension") or "").strip().upper()
    if code and not _CODE.fullmatch(code):
        raise SettingsInvalid([FieldError("dimension", "A dimension code has 1 to 20 characters and no control "
                                                       "characters.")])
    if not code:
        raise SettingsInvalid([FieldError("dimension", "Name the dimension: ?dimension=CODE (see the "
                                                       "'dimensions' look-up).")])
    dims = ctx.entities("dimensions", ["code"], filter=eq("code", code),
                        expand="dimensionValues")
    if not dims:
        raise SettingsInvalid([FieldError("dimension", f"The company has no dimension '{code}'.")])
    return [{"code": v["code"], "name": v.get("displayName")} for v in dims[0].get("dimensionValues", [])]


def _posting_groups(setting: str) -> Callable[[_Context], list[JsonObject]]:
    def lookup(ctx: _Context) -> list[JsonObject]:
        service = getattr(ctx.settings.web_services, setting)
        rows = ctx.client.list_odata(ctx.company_name, service, select=["Code", "Description"])
        return [{"code": r["Code"], "name": r.get("Description")} for r in rows]
    return lookup


_HANDLERS: dict[str, Callable[[_Context], list[JsonObject]]] = {
    "companies": _companies,
    "unitsOfMeasure": _coded("unitsOfMeasure"),
    "taxGroups": _coded("taxGroups", ("taxType",)),
    "items": _items,
    "dimensions": _coded("dimensions"),
    "dimensionValues": _dimension_values,
    "genBusPostingGroups": _posting_groups("gen_bus_posting_groups"),
    "customerPostingGroups": _posting_groups("customer_posting_groups"),
    "genProductPostingGroups": _gen_product_posting_groups,
}

LOOKUP_KINDS = tuple(_HANDLERS)
