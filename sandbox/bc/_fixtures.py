"""Build tenants, environments and companies from the fixture file (sandbox/fixtures/bc.json by default).

The file names things by code, the way a BC user sees them (a customer's `genBusPostingGroup`, a line's
`dimensions: {"PROJECT": "P-1001"}`); this loader resolves codes to ids and computes what BC computes
(line amounts, tax, totals, G/L entries of posted documents). Ids the file does not give are derived
deterministically from the company id, so every load of the same file yields the same GUIDs.
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any

from werkzeug.datastructures import Headers

from ._company import Company, Environment, Tenant
from ._documents import DOC_KINDS, DocumentBehavior, LineBehavior
from ._engine import Behavior, Ctx
from ._entities import derive_customer_tax
from ._http import Call
from ._schema import EMPTY_GUID, EntityType, edm_member
from ._store import Db, Table
from ._values import Clock

__all__ = ["read_fixtures", "build_tenants", "DEFAULT_STAMP"]

DEFAULT_STAMP = "2026-11-01T08:00:00.000Z"


def read_fixtures(path: str | None) -> dict:
    if path is None:
        text = resources.files("sandbox").joinpath("fixtures", "bc.json").read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    return json.loads(text)


class _FixedClock(Clock):
    def __init__(self, stamp: str, today: str) -> None:
        super().__init__(None)
        self._stamp, self._today = stamp, today

    def stamp(self) -> str:
        return self._stamp

    def today(self) -> str:
        return self._today


def build_tenants(data: dict, clock: Clock, types: dict[str, EntityType],
                  behaviors: dict[str, Behavior]) -> dict[str, Tenant]:
    tenants: dict[str, Tenant] = {}
    templates = data.get("companyTemplates", {})
    for t in data.get("tenants", []):
        tenant = Tenant(id=t["id"].lower(), domain=t.get("domain", "").lower())
        for e in t.get("environments", []):
            env = Environment(tenant_id=tenant.id, name=e["name"], db=Db(), clock=clock)
            env.enabled_apps = {a.lower() for a in e.get("enabledApps", [])}
            env.company_rows = Table(env.db, ("name",), dict(types["companies"].defaults),
                                     unique={"name": ("name",)})
            for c in e.get("companies", []):
                company = _build_company(env, c, templates[c["template"]], types, behaviors)
                env.companies[company.id] = company
                env.company_rows.insert({
                    "id": company.id, "systemVersion": data.get("systemVersion", "27.0.41024.0"),
                    "timestamp": int(c.get("timestamp", 1000)), "name": company.name,
                    "displayName": c.get("displayName", company.name),
                    "businessProfileId": c.get("businessProfileId", ""),
                    "systemCreatedAt": c.get("createdAt", DEFAULT_STAMP),
                    "systemCreatedBy": EMPTY_GUID,
                    "systemModifiedAt": c.get("createdAt", DEFAULT_STAMP),
                    "systemModifiedBy": EMPTY_GUID,
                })
            env.db.drain()  # loading fixtures is not a change anyone is notified about
            tenant.environments[env.name.lower()] = env
        tenants[tenant.id] = tenant
    return tenants


class _Loader:
    def __init__(self, company: Company, tpl: dict, types: dict[str, EntityType],
                 behaviors: dict[str, Behavior]) -> None:
        self.company = company
        self.tpl = tpl
        self.types = types
        self.behaviors = behaviors
        self.stamp = tpl.get("lastModifiedDateTime", DEFAULT_STAMP)
        self.seed = uuid.UUID(company.id)
        self.counter = 0
        call = Call("GET", "", {}, Headers(), b"", "", "")
        self.ctx = Ctx(env=company.env, company=company, call=call, types=types, behaviors=behaviors, api_root="")

    def new_id(self, hint: str) -> str:
        return str(uuid.uuid5(self.seed, hint))

    def put(self, set_name: str, row: dict, hint: str) -> dict:
        row = dict(row)
        row.setdefault("id", self.new_id(set_name + ":" + hint))
        row["id"] = row["id"].lower()
        row.setdefault("lastModifiedDateTime", self.stamp)
        return self.company.t(set_name).insert(row)

    def code_id(self, set_name: str, code: str | None) -> str:
        if not code:
            return EMPTY_GUID
        row = self.company.t(set_name).find("code", code)
        if row is None:
            raise ValueError("fixture refers to unknown %s code %r" % (set_name, code))
        return row["id"]

    def dims(self, spec: dict[str, str] | None) -> dict:
        out = {}
        for dim_code, value_code in (spec or {}).items():
            dim = self.company.dimension_by_code(dim_code)
            value = self.company.dimension_value_by_code(dim["id"], value_code) if dim else None
            if dim is None or value is None:
                raise ValueError("fixture refers to unknown dimension value %s=%s" % (dim_code, value_code))
            out[dim["id"]] = (value["id"], self.company.db.next_version())
        return out

    # ----------------------------------------------------------------------------------------------------
    def load(self) -> None:
        c, tpl = self.company, self.tpl
        c.setup = dict(tpl.get("setup", {}))
        c.posting_accounts = dict(tpl.get("postingAccounts", {}))
        c.setup_templates = {k: dict(v) for k, v in tpl.get("apiSetupTemplates", {}).items()}
        for ws in tpl.get("webServices", []):
            c.services[ws["name"]] = {"page": int(ws["page"]), "published": bool(ws.get("published", True))}
        for row in tpl.get("noSeries", []):
            self.put("noSeries", {"code": row["code"], "description": row.get("description", ""),
                                  "defaultNos": row.get("defaultNos", True), "manualNos": row.get("manualNos", False),
                                  "startingNo": row.get("startingNo", ""), "lastNoUsed": row.get("lastNoUsed", "")},
                     row["code"])
        sales = tpl.get("salesSetup", {})
        self.put("salesSetup", {"primaryKey": "", "invoiceNos": sales.get("invoiceNos", ""),
                                "postedInvoiceNos": sales.get("postedInvoiceNos", ""),
                                "customerNos": sales.get("customerNos", "")}, "salesSetup")
        info = dict(tpl.get("companyInformation", {}))
        info.setdefault("displayName", c.name)
        info["currencyCode"] = c.lcy
        self.put("companyInformation", info, "companyInformation")
        gl = dict(tpl.get("generalLedgerSetup", {}))
        gl.setdefault("localCurrencyCode", c.lcy)
        self.put("generalLedgerSetup", gl, "generalLedgerSetup")
        for set_name in ("unitsOfMeasure", "currencies", "paymentTerms"):
            for row in tpl.get(set_name, []):
                self.put(set_name, row, row["code"])
        tax_type = edm_member("VAT" if c.uses_vat else "Sales Tax")
        for row in tpl.get("taxGroups", []):
            self.put("taxGroups", {**row, "taxType": tax_type}, row["code"])
        for row in tpl.get("taxAreas", []):
            r = {k: v for k, v in row.items() if k != "rates"}
            self.put("taxAreas", {**r, "taxType": tax_type, "_rates": dict(row.get("rates", {}))}, row["code"])
        for row in tpl.get("vatBusPostingGroups", []):
            self.put("vatBusPostingGroups", row, row["code"])
        for set_name in ("vatProdPostingGroups", "salesTaxGroups"):
            for row in tpl.get(set_name, []):
                self.put(set_name, row, row["code"])
        for row in tpl.get("genBusPostingGroups", []):
            self.put("genBusPostingGroups", row, row["code"])
        for row in tpl.get("customerPostingGroups", []):
            self.put("customerPostingGroups", row, row["code"])
        for row in tpl.get("vendorPostingGroups", []):
            self.put("vendorPostingGroups", row, row["code"])
        for row in tpl.get("generalProductPostingGroups", []):
            self.put("generalProductPostingGroups", {
                **({"id": row["id"]} if row.get("id") else {}),
                "code": row["code"], "description": row.get("description", ""),
                "defaultVATProductPostingGroup": row.get("defaultVATProductPostingGroup", ""),
                "autoInsertDefault": row.get("autoInsertDefault", True),
                "_salesAccount": row.get("salesAccount", ""), "_purchaseAccount": row.get("purchaseAccount", ""),
            }, row["code"])
        for row in tpl.get("accounts", []):
            self.put("accounts", {
                "id": row.get("id") or self.new_id("accounts:" + row["number"]),
                "number": row["number"], "displayName": row.get("displayName", ""),
                "category": edm_member(row.get("category", " ")), "subCategory": row.get("subCategory", ""),
                "accountType": edm_member(row.get("accountType", "Posting")),
                "directPosting": row.get("directPosting", True), "blocked": row.get("blocked", False),
                "_taxGroupCode": row.get("taxGroupCode", ""),
                "_vatProdPostingGroup": row.get("vatProdPostingGroup", ""),
            }, row["number"])
        for row in tpl.get("dimensions", []):
            dim = self.put("dimensions", {"id": row.get("id") or self.new_id("dimensions:" + row["code"]),
                                          "code": row["code"], "displayName": row.get("displayName", ""),
                                          "consolidationCode": row.get("consolidationCode", ""),
                                          "_blocked": row.get("blocked", False)}, row["code"])
            for v in row.get("values", []):
                self.put("dimensionValues", {
                    "id": v.get("id") or self.new_id("dimensionValues:%s:%s" % (row["code"], v["code"])),
                    "code": v["code"], "dimensionId": dim["id"], "_dimensionCode": row["code"],
                    "displayName": v.get("displayName", ""), "consolidationCode": v.get("consolidationCode", ""),
                    "_valueType": edm_member(v.get("type", "Standard")), "_blocked": v.get("blocked", False),
                }, "%s:%s" % (row["code"], v["code"]))
        self._items()
        self._parties()
        for row in tpl.get("projects", []):
            self.put("projects", row, row["number"])
        for set_name in ("purchaseInvoices", "purchaseCreditMemos", "salesInvoices"):
            for row in tpl.get(set_name, []):
                self._document(set_name, row)
        for row in tpl.get("generalLedgerEntries", []):
            self._gl_entry(row)

    def _items(self) -> None:
        for row in self.tpl.get("items", []):
            base = row.get("baseUnitOfMeasure", "")
            units = tuple(row.get("unitsOfMeasure", [base] if base else []))
            record = {k: v for k, v in row.items()
                      if k not in ("baseUnitOfMeasure", "unitsOfMeasure", "type", "vatProdPostingGroup")}
            record.update({
                "type": edm_member(row.get("type", "Inventory")),
                "baseUnitOfMeasureCode": base, "baseUnitOfMeasureId": self.code_id("unitsOfMeasure", base),
                "taxGroupId": self.code_id("salesTaxGroups" if self.company.uses_vat else "taxGroups",
                                           row.get("taxGroupCode")),
                "generalProductPostingGroupId": self.code_id("generalProductPostingGroups",
                                                             row.get("generalProductPostingGroupCode")),
                "_unitsOfMeasure": units,
                "_vatProdPostingGroup": row.get("vatProdPostingGroup", ""),
            })
            self.put("items", record, row["number"])

    def _parties(self) -> None:
        c = self.company
        for set_name in ("customers", "vendors"):
            for row in self.tpl.get(set_name, []):
                record: dict[str, Any] = {}
                for key, value in row.items():
                    if key in ("genBusPostingGroup", "customerPostingGroup", "vendorPostingGroup",
                               "vatBusPostingGroup", "taxAreaCode"):
                        record["_" + key] = value
                    elif key == "paymentTermsCode":
                        record["paymentTermsId"] = self.code_id("paymentTerms", value)
                    elif key == "blocked":
                        record["blocked"] = edm_member(value)
                    elif key == "type":
                        record["type"] = edm_member(value)
                    elif key == "defaultDimensions":
                        record["_defaultDims"] = self.dims(value)
                    elif key == "currencyCode":
                        record["currencyCode"] = value or c.lcy
                        record["currencyId"] = EMPTY_GUID if value in ("", c.lcy) else self.code_id("currencies", value)
                    else:
                        record[key] = value
                record.setdefault("currencyCode", c.lcy)
                record.setdefault("blocked", edm_member(" "))
                if set_name == "customers":
                    derive_customer_tax(self.ctx, record, {})
                self.put(set_name, record, row["number"])

    def _document(self, set_name: str, row: dict) -> None:
        c = self.company
        kind = DOC_KINDS[set_name]
        header_behavior: DocumentBehavior = self.behaviors[set_name]  # type: ignore[assignment]
        line_behavior: LineBehavior = self.behaviors[kind.lines_set]  # type: ignore[assignment]
        party = c.by_number(kind.party_set, row[kind.party_no])
        if party is None:
            raise ValueError("fixture document %s refers to unknown %s %s" % (row.get("number"), kind.party_set,
                                                                              row[kind.party_no]))
        header: dict[str, Any] = {
            "id": row.get("id") or self.new_id(set_name + ":" + row["number"]),
            "number": row.get("draftNumber", row["number"]), "status": edm_member("Draft"), "_posted": False,
            "discountAppliedBeforeTax": True, "_dims": self.dims(row.get("dimensions")),
        }
        header.update(header_behavior._party_fields(c, party))
        for key, value in row.items():
            if key in ("lines", "dimensions", "posted", "draftNumber", "id", kind.party_no, "number"):
                continue
            header[key] = value
        header.setdefault("postingDate", header.get(kind.date_field, self.stamp[:10]))
        header_behavior._shortcut_codes(c, header)
        header = self.put(set_name, header, row["number"])
        for n, ln in enumerate(row.get("lines", []), start=1):
            values = {k: v for k, v in ln.items() if k not in ("dimensions", "id")}
            values["lineType"] = edm_member(values.get("lineType", "Item"))
            resolved = line_behavior._resolve(self.ctx, header, {}, values)
            line = {"id": ln.get("id") or self.new_id("%s:%s:%d" % (kind.lines_set, row["number"], n)),
                    "documentId": header["id"], "sequence": ln.get("sequence", n * 10000), **resolved,
                    "_dims": {**header["_dims"], **self.dims(ln.get("dimensions"))}}
            self.put(kind.lines_set, line, "%s:%d" % (row["number"], n))
        header_behavior.recalc(self.ctx, header)
        if row.get("posted"):
            lines = c.t(kind.lines_set).by_index("documentId", header["id"])
            priced = [ln for ln in lines if ln.get("lineType") != edm_member("Comment")]
            header_behavior._post_gl(self.ctx, header, party, priced, row["number"])
            changes = {"number": row["number"], "status": edm_member(row.get("status", "Open")), "_posted": True}
            if "remainingAmount" in header_behavior.etype.props:
                changes["remainingAmount"] = header.get("totalAmountIncludingTax", 0)
            c.t(set_name).update(header, changes)

    def _gl_entry(self, row: dict) -> None:
        c = self.company
        account = c.by_number("accounts", row["accountNumber"])
        number = row.get("entryNumber") or c.gl_entry_no + 1
        c.gl_entry_no = max(c.gl_entry_no, number)
        self.put("generalLedgerEntries", {
            "id": row.get("id") or self.new_id("generalLedgerEntries:%d" % number),
            "entryNumber": number, "postingDate": row["postingDate"], "documentNumber": row.get("documentNumber", ""),
            "documentType": edm_member(row.get("documentType", " ")),
            "accountId": account["id"] if account else EMPTY_GUID, "accountNumber": row["accountNumber"],
            "description": row.get("description", ""), "debitAmount": row.get("debitAmount", 0),
            "creditAmount": row.get("creditAmount", 0), "_dims": self.dims(row.get("dimensions")),
        }, str(number))


def _build_company(env: Environment, spec: dict, tpl: dict, types: dict[str, EntityType],
                   behaviors: dict[str, Behavior]) -> Company:
    company = Company(env, spec["id"].lower(), spec["name"], tax_mode=tpl.get("taxMode", "salesTax"),
                      country=tpl.get("country", "US"), lcy=tpl.get("lcy", "USD"), api_types=types)
    loader = _Loader(company, tpl, types, behaviors)
    # Deterministic ids and stamps while loading: G/L entries of posted fixture documents get uuid5 ids.
    company.clock = _FixedClock(loader.stamp, tpl.get("workDate", loader.stamp[:10]))
    company.id_factory = lambda: loader.new_id("auto:%d" % _next(loader))
    try:
        loader.load()
    finally:
        company.clock = env.clock
        company.id_factory = None
    return company


def _next(loader: _Loader) -> int:
    loader.counter += 1
    return loader.counter
