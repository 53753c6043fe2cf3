"""A BC company's state (its tables, number series, setup, web services) and the environment holding it."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

from ._bcerrors import dialog
from ._schema import EntityType
from ._store import Db, Table
from ._values import Clock, new_guid

__all__ = ["Company", "Environment", "Tenant", "TABLE_CONFIG", "INTERNAL_TYPES", "inc_str"]

#: Unique keys and secondary indexes per entity set (record keys). Numbers are unique per table, document
#: numbers per (number, posted) as in "Sales Invoice Entity Aggregate" key 1, lines per (document, sequence).
TABLE_CONFIG: dict[str, dict[str, Any]] = {
    "companies": {"unique": {"name": ("name",)}},
    "customers": {"unique": {"number": ("number",)}},
    "vendors": {"unique": {"number": ("number",)}},
    "items": {"unique": {"number": ("number",)}},
    "projects": {"unique": {"number": ("number",)}},
    "accounts": {"unique": {"number": ("number",)}},
    "salesInvoices": {"unique": {"number": ("number", "_posted")}, "indexes": ("externalDocumentNumber",)},
    "purchaseInvoices": {"unique": {"number": ("number", "_posted")}, "indexes": ("vendorInvoiceNumber",)},
    "purchaseCreditMemos": {"unique": {"number": ("number", "_posted")}},
    "salesInvoiceLines": {"unique": {"sequence": ("documentId", "sequence")}, "indexes": ("documentId",)},
    "purchaseInvoiceLines": {"unique": {"sequence": ("documentId", "sequence")}, "indexes": ("documentId",)},
    "purchaseCreditMemoLines": {"unique": {"sequence": ("documentId", "sequence")}, "indexes": ("documentId",)},
    "dimensions": {"unique": {"code": ("code",)}},
    "dimensionValues": {"unique": {"code": ("dimensionId", "code")}, "indexes": ("dimensionId",)},
    "generalLedgerEntries": {"unique": {"entryNumber": ("entryNumber",)}, "indexes": ("documentNumber",)},
    "currencies": {"unique": {"code": ("code",)}},
    "paymentTerms": {"unique": {"code": ("code",)}},
    "unitsOfMeasure": {"unique": {"code": ("code",)}},
    "taxGroups": {"unique": {"code": ("code",)}},
    "taxAreas": {"unique": {"code": ("code",)}},
    "generalProductPostingGroups": {"unique": {"code": ("code",)}},
    "companyInformation": {},
    "generalLedgerSetup": {},
}

#: Tables behind the OData V4 pages that API v2.0 does not expose (sort keys, unique keys).
INTERNAL_TYPES: dict[str, dict[str, Any]] = {
    "genBusPostingGroups": {"sort": ("code",), "unique": {"code": ("code",)}},
    "customerPostingGroups": {"sort": ("code",), "unique": {"code": ("code",)}},
    "vendorPostingGroups": {"sort": ("code",), "unique": {"code": ("code",)}},
    "vatBusPostingGroups": {"sort": ("code",), "unique": {"code": ("code",)}},
    "vatProdPostingGroups": {"sort": ("code",), "unique": {"code": ("code",)}},
    "salesTaxGroups": {"sort": ("code",), "unique": {"code": ("code",)}},
    "noSeries": {"sort": ("code",), "unique": {"code": ("code",)}},
    "salesSetup": {"sort": ("primaryKey",), "unique": {}},
}

_INTERNAL_DEFAULTS = {"_posted": False, "_dimensionCode": "", "primaryKey": ""}


def inc_str(value: str) -> str | None:
    """AL IncStr: increment the last run of digits, keeping its width ("S-INV100001" -> "S-INV100002")."""
    m = re.search(r"(\d+)(?!.*\d)", value)
    if not m:
        return None
    digits = m.group(1)
    bumped = str(int(digits) + 1).rjust(len(digits), "0")
    return value[: m.start(1)] + bumped + value[m.end(1):]


class Company:
    """One company: its tables and settings. All access happens under the environment's lock."""

    def __init__(self, env: "Environment", company_id: str, name: str, *, tax_mode: str, country: str,
                 lcy: str, api_types: dict[str, EntityType]) -> None:
        self.env = env
        self.db = env.db
        self.clock = env.clock
        self.id = company_id
        self.name = name
        self.tax_mode = tax_mode  # "salesTax" (US: Tax Groups/Areas) or "vat" (VAT posting groups)
        self.country = country
        self.lcy = lcy
        self.display_name = name
        self.created_at = ""
        self.business_profile_id = ""
        #: service name -> {"page": int, "published": bool}
        self.services: dict[str, dict[str, Any]] = {}
        #: setup fields not exposed by a page: purchase/jobs/inventory number series codes
        self.setup: dict[str, str] = {}
        #: posting accounts by purpose (receivables, payables, salesTax, vat, ...), fixture-defined
        self.posting_accounts: dict[str, str] = {}
        #: "API Setup" config templates per entity set (docs/business-central.md §2a): internal values applied on POST
        self.setup_templates: dict[str, dict[str, Any]] = {}
        #: last G/L entry number (BC draws them from a NumberSequence: never rolled back, gaps are normal)
        self.gl_entry_no = 0
        #: while loading fixtures: deterministic ids (None: random uuid4)
        self.id_factory: Any = None
        self.tables: dict[str, Table] = {}
        for set_name, cfg in TABLE_CONFIG.items():
            if set_name == "companies":
                continue
            etype = api_types[set_name]
            defaults = {**_INTERNAL_DEFAULTS, **etype.defaults}
            self.tables[set_name] = Table(self.db, etype.sort_keys, defaults,
                                          unique=cfg.get("unique"), indexes=cfg.get("indexes", ()))
            self.tables[set_name].name = set_name  # API tables note their changes (webhooks)
            self.tables[set_name].owner = company_id
        for name, cfg in INTERNAL_TYPES.items():
            self.tables[name] = Table(self.db, cfg["sort"], dict(_INTERNAL_DEFAULTS), unique=cfg["unique"])

    # -- helpers -------------------------------------------------------------------------------------------
    @property
    def uses_vat(self) -> bool:
        """GeneralLedgerSetup.UseVat(): true outside NA localizations (docs/business-central.md §7)."""
        return self.tax_mode == "vat"

    def t(self, name: str) -> Table:
        return self.tables[name]

    def now(self) -> str:
        return self.clock.stamp()

    def new_id(self) -> str:
        return self.id_factory() if self.id_factory is not None else new_guid()

    def insert(self, set_name: str, values: dict[str, Any], *, stamp: str | None = None) -> dict:
        record = dict(values)
        if "id" not in record:
            record["id"] = self.new_id()
        if "lastModifiedDateTime" not in record:
            record["lastModifiedDateTime"] = stamp or self.now()
        return self.tables[set_name].insert(record)

    def modify(self, set_name: str, record: dict, changes: dict[str, Any]) -> dict:
        changes = dict(changes)
        changes.setdefault("lastModifiedDateTime", self.now())
        return self.tables[set_name].update(record, changes)

    def by_code(self, set_name: str, code: str) -> dict | None:
        return self.tables[set_name].find("code", code)

    def by_number(self, set_name: str, number: str) -> dict | None:
        return self.tables[set_name].find("number", number)

    def gl_setup(self) -> dict:
        return next(iter(self.tables["generalLedgerSetup"].rows.values()))

    def sales_setup(self) -> dict:
        return next(iter(self.tables["salesSetup"].rows.values()))

    def series_code(self, purpose: str) -> str:
        """The number series for a purpose: customerNos, invoiceNos, postedInvoiceNos (Sales & Receivables
        Setup, page 459) or vendorNos, purchaseInvoiceNos, ..., jobNos, itemNos (other setups)."""
        sales = self.sales_setup()
        if purpose in ("customerNos", "invoiceNos", "postedInvoiceNos"):
            return sales.get(purpose, "")
        return self.setup.get(purpose, "")

    # -- number series (docs/business-central.md §6) ----------------------------------------------------------------------
    def _series(self, code: str) -> dict:
        series = self.tables["noSeries"].find("code", code)
        if series is None:
            # NoSeries.GetNextNo on a missing series; BC's text is "The No. Series does not exist. ..."
            from ._bcerrors import record_not_found

            raise record_not_found("No. Series", [("Code", code)])
        return series

    def test_manual(self, code: str) -> None:
        """NoSeries.TestManual: the label of NoSeriesImpl.Codeunit.al with %1 Manual Nos., %2 No. Series."""
        if not code:
            return
        if not self._series(code).get("manualNos", False):
            raise dialog("You may not enter numbers manually. If you want to enter numbers manually, please "
                         "activate Manual Nos. in No. Series %s." % code)

    def next_no(self, code: str, table: Table | None = None, unique: str = "number",
                extra: tuple = ()) -> str:
        """Draw the next number (skipping numbers already taken manually, a sandbox simplification)."""
        series = self._series(code)
        last = series.get("lastNoUsed", "")
        candidate = inc_str(last) if last else series.get("startingNo", "")
        if not candidate:
            raise dialog("It is not possible to assign numbers automatically. If you want the program to assign "
                         "numbers automatically, please activate Default Nos. in No. Series %s." % code)
        while table is not None and table.check_unique(unique, (candidate,) + extra) is not None:
            candidate = inc_str(candidate) or candidate
        self.tables["noSeries"].update(series, {"lastNoUsed": candidate})
        return candidate

    # -- dimensions ----------------------------------------------------------------------------------------
    def dimension(self, dim_id: str) -> dict | None:
        return self.tables["dimensions"].get(dim_id)

    def dimension_by_code(self, code: str) -> dict | None:
        return self.tables["dimensions"].find("code", code)

    def dimension_value(self, value_id: str) -> dict | None:
        return self.tables["dimensionValues"].get(value_id)

    def dimension_value_by_code(self, dim_id: str, code: str) -> dict | None:
        return self.tables["dimensionValues"].find("code", dim_id, code)

    # -- taxes (docs/business-central.md §7) ------------------------------------------------------------------------------
    def vat_bus_groups(self) -> Table:
        """VAT Bus. Posting Groups: in a VAT company the API's taxAreas *are* those groups."""
        return self.tables["taxAreas"] if self.uses_vat else self.tables["vatBusPostingGroups"]

    def vat_prod_groups(self) -> Table:
        """VAT Prod. Posting Groups: in a VAT company the API's taxGroups *are* those groups."""
        return self.tables["taxGroups"] if self.uses_vat else self.tables["vatProdPostingGroups"]

    def sales_tax_groups(self) -> Table:
        """The sales-tax "Tax Group" table that items.taxGroupCode validates against in every localization
        (APIV2 - Items has no UseVat switch): the API's taxGroups in a sales-tax company, a table of its own
        (usually empty) in a VAT company."""
        return self.tables["salesTaxGroups"] if self.uses_vat else self.tables["taxGroups"]

    def tax_percent(self, area_code: str, liable: bool, group_code: str) -> float:
        """Sales tax: the tax area's rate for the tax group if the customer is liable; VAT: the VAT posting
        setup of (VAT bus. group, VAT prod. group). Rates live on the tax area rows (`_rates`)."""
        if not group_code or not area_code:
            return 0
        if not self.uses_vat and not liable:
            return 0
        area = self.tables["taxAreas"].find("code", area_code)
        if area is None:
            return 0
        return area.get("_rates", {}).get(group_code, 0)


@dataclass
class Environment:
    """A BC environment: its database, its companies and the apps enabled on 'Microsoft Entra applications'."""

    tenant_id: str
    name: str
    db: Db
    clock: Clock
    lock: threading.RLock = field(default_factory=threading.RLock)
    companies: dict[str, Company] = field(default_factory=dict)  # id -> company
    enabled_apps: set[str] = field(default_factory=set)
    company_rows: Any = None  # Table of the `companies` entity set

    def company_by_name(self, name: str) -> Company | None:
        for company in self.companies.values():
            if company.name == name:
                return company
        return None

    def company_by_id(self, company_id: str) -> Company | None:
        return self.companies.get(company_id.lower())

    def find_company(self, name_or_id: str) -> Company | None:
        return self.company_by_id(name_or_id) or self.company_by_name(name_or_id)



@dataclass
class Tenant:
    id: str
    domain: str
    environments: dict[str, Environment] = field(default_factory=dict)  # lower-case name -> environment
