"""Writes sandbox/fixtures/bc.json: the bundled BC world, with stable GUIDs (uuid5 of readable names).

    python -m sandbox.bc._fixturegen sandbox/fixtures/bc.json

The JSON file is the product (replaceable with `BcWorld.load(path)`); this script only keeps it
consistent and regenerable. A later bulk generator (100,000 purchase invoice lines / G/L entries for
benchmarks) can reuse `company_template()` and append documents before writing.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any

from sandbox import constants as C

__all__ = ["build", "gid", "company_template"]

NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://bc-connector.invalid/sandbox/bc-fixtures")

WEB_SERVICES = [
    {"name": "Customer_Card", "page": 21, "published": True},
    {"name": "DimensionValues", "page": 537, "published": True},
    {"name": "GenBusinessPostingGroups", "page": 312, "published": True},
    {"name": "CustomerPostingGroups", "page": 110, "published": True},
    {"name": "NoSeries", "page": 456, "published": True},
    {"name": "SalesReceivablesSetup", "page": 459, "published": True},
    {"name": "Item_Card", "page": 30, "published": True},
]


def gid(*parts: str) -> str:
    return str(uuid.uuid5(NS, ":".join(parts)))


def _rows(tpl: str, set_name: str, key: str, rows: list[dict]) -> list[dict]:
    return [{"id": gid(tpl, set_name, str(r[key])), **r} for r in rows]


def _series(prefix_map: list[tuple[str, str, str, bool, str]]) -> list[dict]:
    return [{"code": code, "description": desc, "defaultNos": True, "manualNos": manual, "startingNo": start,
             "lastNoUsed": last}
            for code, desc, start, manual, last in prefix_map]


def _us(tpl: str, name: str, small: bool = False) -> dict[str, Any]:
    stamp = "2026-11-01T08:00:00.000Z"
    dims = [
        {"code": "DEPARTMENT", "displayName": "Department", "values": [
            {"code": "ADM", "displayName": "Administration"},
            {"code": "PROD", "displayName": "Production"},
            {"code": "SALES", "displayName": "Sales"}]},
        {"code": "PROJECT", "displayName": "Project", "values": [
            {"code": "P-1001", "displayName": "Website relaunch"},
            {"code": "P-1002", "displayName": "ERP rollout"},
            {"code": "P-1003", "displayName": "Office move"},
            {"code": "P-0999", "displayName": "Closed pilot project", "blocked": True}]},
        {"code": "AREA", "displayName": "Area", "values": [
            {"code": "10", "displayName": "Europe North"},
            {"code": "20", "displayName": "Europe South"},
            {"code": "30", "displayName": "America"}]},
    ]
    for d in dims:
        d["id"] = gid(tpl, "dimensions", d["code"])
        for v in d["values"]:
            v["id"] = gid(tpl, "dimensionValues", d["code"], v["code"])
    accounts = [
        ("10000", "BALANCE SHEET", "Assets", "Heading", False),
        ("13100", "Customers, Domestic", "Assets", "Posting", False),
        ("13200", "Customers, Foreign", "Assets", "Posting", False),
        ("18100", "Bank, Checking", "Assets", "Posting", True),
        ("22100", "Vendors, Domestic", "Liabilities", "Posting", False),
        ("22200", "Vendors, Foreign", "Liabilities", "Posting", False),
        ("22500", "Sales Tax Payable", "Liabilities", "Posting", False),
        ("40100", "Sales, Retail", "Income", "Posting", True),
        ("40400", "Consulting Fees", "Income", "Posting", True),
        ("50100", "Cost of Materials", "Cost of Goods Sold", "Posting", True),
        ("50400", "Cost of Labor", "Cost of Goods Sold", "Posting", True),
        ("60100", "Travel", "Expense", "Posting", True),
        ("60200", "Office Supplies", "Expense", "Posting", True),
        ("60300", "Software Subscriptions", "Expense", "Posting", True),
        ("60400", "Subcontractors", "Expense", "Posting", True),
        ("60900", "Old Expense Account (blocked)", "Expense", "Posting", True),
    ]
    account_rows = [{"id": gid(tpl, "accounts", n), "number": n, "displayName": d, "category": cat,
                     "accountType": at, "directPosting": dp, "blocked": n == "60900",
                     "taxGroupCode": "NONTAXABLE" if cat in ("Expense", "Cost of Goods Sold") else ""}
                    for n, d, cat, at, dp in accounts]
    items = [
        {"number": "1000", "displayName": "Consulting Hour", "type": "Service", "baseUnitOfMeasure": "HOUR",
         "unitsOfMeasure": ["HOUR", "DAY"], "taxGroupCode": "LABOR", "generalProductPostingGroupCode": "SERVICES",
         "unitPrice": 150, "unitCost": 90},
        {"number": "1100", "displayName": "Training Day", "type": "Service", "baseUnitOfMeasure": "DAY",
         "unitsOfMeasure": ["DAY"], "taxGroupCode": "LABOR", "generalProductPostingGroupCode": "SERVICES",
         "unitPrice": 1200, "unitCost": 700},
        {"number": "1896-S", "displayName": "ATHENS Desk", "type": "Inventory", "baseUnitOfMeasure": "PCS",
         "unitsOfMeasure": ["PCS", "BOX"], "taxGroupCode": "TAXABLE", "generalProductPostingGroupCode": "RETAIL",
         "unitPrice": 1000.8, "unitCost": 780.7, "gtin": "5901234123457"},
        {"number": "1900-S", "displayName": "PARIS Guest Chair, black", "type": "Inventory",
         "baseUnitOfMeasure": "PCS", "unitsOfMeasure": ["PCS"], "taxGroupCode": "TAXABLE",
         "generalProductPostingGroupCode": "RETAIL", "unitPrice": 192.8, "unitCost": 150.2},
        {"number": "WRITE-IN", "displayName": "Write-in item", "type": "Non-Inventory", "baseUnitOfMeasure": "PCS",
         "unitsOfMeasure": ["PCS", "HOUR", "DAY", "BOX"], "taxGroupCode": "TAXABLE",
         "generalProductPostingGroupCode": "MISC", "unitPrice": 0, "unitCost": 0},
        {"number": "1999-B", "displayName": "Discontinued Floor Lamp", "type": "Inventory", "blocked": True,
         "baseUnitOfMeasure": "PCS", "unitsOfMeasure": ["PCS"], "taxGroupCode": "TAXABLE",
         "generalProductPostingGroupCode": "RETAIL", "unitPrice": 85, "unitCost": 40},
    ]
    customers = [
        {"number": "C10000", "displayName": "Adatum Corporation", "type": "Company",
         "addressLine1": "192 Market Square", "city": "Atlanta", "state": "GA", "country": "US",
         "postalCode": "31772", "phoneNumber": "+1 404 555 0101", "email": "ap@adatum.example",
         "taxLiable": True, "taxAreaCode": "ATLANTA, GA", "genBusPostingGroup": "DOMESTIC",
         "customerPostingGroup": "DOMESTIC", "paymentTermsCode": "30 DAYS",
         "defaultDimensions": {"DEPARTMENT": "SALES"}},
        {"number": "C20000", "displayName": "Trey Research", "type": "Company", "addressLine1": "153 Thomas Drive",
         "city": "Chicago", "state": "IL", "country": "US", "postalCode": "61236", "taxLiable": True,
         "taxAreaCode": "CHICAGO, IL", "genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC",
         "paymentTermsCode": "14 DAYS"},
        {"number": "C30000", "displayName": "School of Fine Art", "type": "Company", "addressLine1": "10 High Tower",
         "city": "Miami", "state": "FL", "country": "US", "postalCode": "37125", "taxLiable": False,
         "taxAreaCode": "MIAMI, FL", "genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC",
         "paymentTermsCode": "30 DAYS"},
        {"number": "C40000", "displayName": "Alpine Ski House", "type": "Company", "city": "Denver", "state": "CO",
         "country": "US", "blocked": "All", "genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC"},
        {"number": "C50000", "displayName": "Relecloud (no posting groups)", "type": "Company", "city": "Seattle",
         "state": "WA", "country": "US"},
        {"number": "C60000", "displayName": "Contoso GmbH", "type": "Company", "addressLine1": "Hafenstrasse 1",
         "city": "Hamburg", "country": "DE", "postalCode": "20457", "genBusPostingGroup": "EXPORT",
         "customerPostingGroup": "FOREIGN", "currencyCode": "EUR", "paymentTermsCode": "30 DAYS"},
    ]
    vendors = [
        {"number": "V10000", "displayName": "Fabrikam Office Supplies", "city": "Atlanta", "state": "GA",
         "country": "US", "genBusPostingGroup": "DOMESTIC", "vendorPostingGroup": "DOMESTIC",
         "paymentTermsCode": "30 DAYS"},
        {"number": "V20000", "displayName": "Northwind Travel", "city": "Boston", "state": "MA", "country": "US",
         "genBusPostingGroup": "DOMESTIC", "vendorPostingGroup": "DOMESTIC", "paymentTermsCode": "14 DAYS"},
        {"number": "V30000", "displayName": "Litware Consulting", "city": "Austin", "state": "TX", "country": "US",
         "genBusPostingGroup": "DOMESTIC", "vendorPostingGroup": "DOMESTIC", "paymentTermsCode": "30 DAYS"},
    ]
    purchase_invoices = [
        {"number": "PP-INV108001", "vendorNumber": "V10000", "vendorInvoiceNumber": "FAB-7781",
         "invoiceDate": "2026-09-15", "postingDate": "2026-09-15", "dueDate": "2026-10-15", "posted": True,
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "60200", "description": "Printer paper and toner",
              "quantity": 1, "unitCost": 240, "dimensions": {"PROJECT": "P-1001"}},
             {"lineType": "Account", "lineObjectNumber": "60100", "description": "Flights Atlanta - Chicago",
              "quantity": 2, "unitCost": 310, "dimensions": {"PROJECT": "P-1002", "DEPARTMENT": "PROD"}},
             {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1, "unitCost": 780.7,
              "dimensions": {"PROJECT": "P-1001"}},
         ]},
        {"number": "PP-INV108002", "vendorNumber": "V30000", "vendorInvoiceNumber": "LIT-2026-114",
         "invoiceDate": "2026-10-02", "postingDate": "2026-10-02", "dueDate": "2026-11-01", "posted": True,
         "dimensions": {"DEPARTMENT": "ADM"},
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "60400", "description": "UX subcontracting, 16 hours",
              "quantity": 16, "unitCost": 95, "unitOfMeasureCode": "HOUR", "dimensions": {"PROJECT": "P-1001"}},
             {"lineType": "Account", "lineObjectNumber": "60300", "description": "Design tool licences",
              "quantity": 1, "unitCost": 1200},
         ]},
        {"number": "PP-INV108003", "vendorNumber": "V20000", "vendorInvoiceNumber": "NWT-55102",
         "invoiceDate": "2026-11-05", "postingDate": "2026-11-05", "dueDate": "2026-11-19", "posted": True,
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "60100", "description": "Moving company deposit",
              "quantity": 1, "unitCost": 455.5, "dimensions": {"PROJECT": "P-1003"}},
             {"lineType": "Account", "lineObjectNumber": "60200", "description": "Cable ties",
              "quantity": 3, "unitCost": 19.99, "dimensions": {"PROJECT": "P-1002"}},
             {"lineType": "Comment", "description": "Delivered to site B"},
         ]},
        {"number": "P-INV1001", "vendorNumber": "V10000", "vendorInvoiceNumber": "FAB-7802",
         "invoiceDate": "2026-11-18", "postingDate": "2026-11-18", "dueDate": "2026-12-18",
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "60200", "description": "Whiteboard markers (draft)",
              "quantity": 10, "unitCost": 4.5, "dimensions": {"PROJECT": "P-1001"}},
         ]},
    ]
    credit_memos = [
        {"number": "PP-CR109001", "vendorNumber": "V10000", "vendorCreditMemoNumber": "FAB-CR-12",
         "creditMemoDate": "2026-10-20", "postingDate": "2026-10-20", "dueDate": "2026-10-20", "posted": True,
         "invoiceNumber": "PP-INV108001",
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "60200", "description": "Returned toner cartridge",
              "quantity": 1, "unitCost": 40, "dimensions": {"PROJECT": "P-1001"}},
         ]},
    ]
    sales_invoices = [
        {"number": "PS-INV103001", "draftNumber": "S-INV100001", "customerNumber": "C10000",
         "externalDocumentNumber": "PSA-000001", "invoiceDate": "2026-10-01", "postingDate": "2026-10-01",
         "dueDate": "2026-10-31", "posted": True,
         "lines": [{"lineType": "Item", "lineObjectNumber": "1000", "quantity": 10, "unitPrice": 150,
                    "dimensions": {"PROJECT": "P-1001"}}]},
        {"number": "S-INV100002", "customerNumber": "C20000", "externalDocumentNumber": "PSA-000002",
         "invoiceDate": "2026-11-10", "postingDate": "2026-11-10", "dueDate": "2026-11-24",
         "lines": [{"lineType": "Item", "lineObjectNumber": "1100", "quantity": 2, "unitPrice": 1200},
                   {"lineType": "Item", "lineObjectNumber": "1896-S", "quantity": 1}]},
    ]
    gl_journal = [
        {"postingDate": "2026-09-30", "documentNumber": "G00001", "accountNumber": "60100",
         "description": "Taxi to client site", "debitAmount": 120, "dimensions": {"PROJECT": "P-1002"}},
        {"postingDate": "2026-09-30", "documentNumber": "G00001", "accountNumber": "18100",
         "description": "Taxi to client site", "creditAmount": 120},
        {"postingDate": "2026-10-31", "documentNumber": "G00002", "accountNumber": "60300",
         "description": "Hosting, October", "debitAmount": 99, "dimensions": {"PROJECT": "P-1001"}},
        {"postingDate": "2026-10-31", "documentNumber": "G00002", "accountNumber": "18100",
         "description": "Hosting, October", "creditAmount": 99},
    ]
    if small:
        purchase_invoices = purchase_invoices[:1]
        credit_memos, sales_invoices, gl_journal = [], [], []
        customers = customers[:2]
    for n, e in enumerate(gl_journal, start=1):
        e["id"] = gid(tpl, "generalLedgerEntries", "journal", str(n))
    return {
        "taxMode": "salesTax", "country": "US", "lcy": "USD", "workDate": "2026-11-20",
        "lastModifiedDateTime": stamp,
        "companyInformation": {"displayName": name, "addressLine1": "7122 South Ashford Street",
                               "addressLine2": "Westminster", "city": "Atlanta", "state": "GA", "country": "US",
                               "postalCode": "31772", "phoneNumber": "+1 425 555 0100",
                               "email": "info@cronus-usa.example", "website": "https://cronus-usa.example",
                               "taxRegistrationNumber": "", "industry": "Professional services",
                               "currentFiscalYearStartDate": "2026-01-01"},
        "generalLedgerSetup": {"localCurrencySymbol": "$", "shortcutDimension1Code": "DEPARTMENT",
                               "shortcutDimension2Code": "PROJECT"},
        "noSeries": _series([
            ("CUST", "Customers", "C00010", True, "C00010"),
            ("VEND", "Vendors", "V00010", True, "V00010"),
            ("ITEM", "Items", "1000", True, "1999"),
            ("JOB", "Projects", "J00010", False, "J00010"),
            ("S-INV", "Sales Invoice", "S-INV100001", False, "S-INV100002"),
            ("PS-INV", "Posted Sales Invoice", "PS-INV103001", False, "PS-INV103001"),
            ("P-INV", "Purchase Invoice", "P-INV1001", False, "P-INV1001"),
            ("PP-INV", "Posted Purchase Invoice", "PP-INV108001", False, "PP-INV108003"),
            ("P-CR", "Purchase Credit Memo", "P-CR1001", False, ""),
            ("PP-CR", "Posted Purchase Credit Memo", "PP-CR109001", False, "PP-CR109001"),
        ]),
        "salesSetup": {"invoiceNos": "S-INV", "postedInvoiceNos": "PS-INV", "customerNos": "CUST"},
        "setup": {"vendorNos": "VEND", "itemNos": "ITEM", "jobNos": "JOB", "purchaseInvoiceNos": "P-INV",
                  "postedPurchaseInvoiceNos": "PP-INV", "purchaseCreditMemoNos": "P-CR",
                  "postedPurchaseCreditMemoNos": "PP-CR"},
        "postingAccounts": {"receivables": "13100", "payables": "22100", "sales": "40100", "purchases": "50100",
                            "salesTax": "22500", "purchaseTax": "22500"},
        "webServices": [dict(w) for w in WEB_SERVICES],
        "unitsOfMeasure": _rows(tpl, "unitsOfMeasure", "code", [
            {"code": "PCS", "displayName": "Piece", "internationalStandardCode": "H87", "symbol": "pcs"},
            {"code": "HOUR", "displayName": "Hour", "internationalStandardCode": "HUR", "symbol": "h"},
            {"code": "DAY", "displayName": "Day", "internationalStandardCode": "DAY", "symbol": "d"},
            {"code": "BOX", "displayName": "Box", "internationalStandardCode": "BX", "symbol": "box"}]),
        "taxGroups": _rows(tpl, "taxGroups", "code", [
            {"code": "TAXABLE", "displayName": "Taxable"}, {"code": "NONTAXABLE", "displayName": "Nontaxable"},
            {"code": "LABOR", "displayName": "Labor"}, {"code": "MATERIALS", "displayName": "Materials"}]),
        "taxAreas": _rows(tpl, "taxAreas", "code", [
            {"code": "ATLANTA, GA", "displayName": "Atlanta, Georgia",
             "rates": {"TAXABLE": 8.9, "MATERIALS": 8.9}},
            {"code": "CHICAGO, IL", "displayName": "Chicago, Illinois",
             "rates": {"TAXABLE": 10.25, "MATERIALS": 10.25, "LABOR": 2.5}},
            {"code": "MIAMI, FL", "displayName": "Miami, Florida", "rates": {"TAXABLE": 7, "MATERIALS": 7}}]),
        "currencies": _rows(tpl, "currencies", "code", [
            {"code": "EUR", "displayName": "Euro", "symbol": "€", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": 0.01},
            {"code": "CAD", "displayName": "Canadian dollar", "symbol": "$", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": 0.01},
            {"code": "GBP", "displayName": "Pound sterling", "symbol": "£", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": 0.01}]),
        "paymentTerms": _rows(tpl, "paymentTerms", "code", [
            {"code": "14 DAYS", "displayName": "Net 14 days", "dueDateCalculation": "14D"},
            {"code": "30 DAYS", "displayName": "Net 30 days", "dueDateCalculation": "30D"},
            {"code": "CM", "displayName": "Current month", "dueDateCalculation": "CM"},
            {"code": "COD", "displayName": "Cash on delivery", "dueDateCalculation": "0D"}]),
        "generalProductPostingGroups": _rows(tpl, "generalProductPostingGroups", "code", [
            {"code": "RETAIL", "description": "Retail", "salesAccount": "40100", "purchaseAccount": "50100"},
            {"code": "SERVICES", "description": "Services", "salesAccount": "40400", "purchaseAccount": "50400"},
            {"code": "MISC", "description": "Miscellaneous", "salesAccount": "40100", "purchaseAccount": "60200"}]),
        "genBusPostingGroups": _rows(tpl, "genBusPostingGroups", "code", [
            {"code": "DOMESTIC", "description": "Domestic customers and vendors", "defVatBusPostingGroup": ""},
            {"code": "EU", "description": "Customers and vendors in EU", "defVatBusPostingGroup": ""},
            {"code": "EXPORT", "description": "Other customers and vendors (not EU)", "defVatBusPostingGroup": ""}]),
        "customerPostingGroups": _rows(tpl, "customerPostingGroups", "code", [
            {"code": "DOMESTIC", "description": "Domestic customers", "receivablesAccount": "13100"},
            {"code": "FOREIGN", "description": "Foreign customers", "receivablesAccount": "13200"}]),
        "vendorPostingGroups": _rows(tpl, "vendorPostingGroups", "code", [
            {"code": "DOMESTIC", "description": "Domestic vendors", "payablesAccount": "22100"},
            {"code": "FOREIGN", "description": "Foreign vendors", "payablesAccount": "22200"}]),
        "accounts": account_rows,
        "dimensions": dims,
        "items": _rows(tpl, "items", "number", items),
        "customers": _rows(tpl, "customers", "number", customers),
        "vendors": _rows(tpl, "vendors", "number", vendors),
        "projects": _rows(tpl, "projects", "number", [{"number": "J00010", "displayName": "Website relaunch"}]),
        "purchaseInvoices": _docs(tpl, "purchaseInvoices", purchase_invoices),
        "purchaseCreditMemos": _docs(tpl, "purchaseCreditMemos", credit_memos),
        "salesInvoices": _docs(tpl, "salesInvoices", sales_invoices),
        "generalLedgerEntries": gl_journal,
    }


def _docs(tpl: str, set_name: str, docs: list[dict]) -> list[dict]:
    out = []
    for d in docs:
        d = dict(d)
        d["id"] = gid(tpl, set_name, d["number"])
        d["lines"] = [{"id": gid(tpl, set_name + ":line", d["number"], str(n)), **ln}
                      for n, ln in enumerate(d.get("lines", []), start=1)]
        out.append(d)
    return out


def _vat(tpl: str, name: str) -> dict[str, Any]:
    base = _us(tpl, name)
    accounts = [
        ("0000", "BILANZ", "Assets", "Heading", False, ""),
        ("1200", "Bank", "Assets", "Posting", True, ""),
        ("1400", "Forderungen aus Lieferungen und Leistungen", "Assets", "Posting", False, ""),
        ("1410", "Forderungen Ausland", "Assets", "Posting", False, ""),
        ("1576", "Abziehbare Vorsteuer 19 %", "Assets", "Posting", False, ""),
        ("1600", "Verbindlichkeiten aus Lieferungen und Leistungen", "Liabilities", "Posting", False, ""),
        ("1610", "Verbindlichkeiten Ausland", "Liabilities", "Posting", False, ""),
        ("1776", "Umsatzsteuer 19 %", "Liabilities", "Posting", False, ""),
        ("3400", "Wareneingang 19 % Vorsteuer", "Cost of Goods Sold", "Posting", True, "STANDARD"),
        ("4660", "Reisekosten Arbeitnehmer", "Expense", "Posting", True, "STANDARD"),
        ("4930", "Bürobedarf", "Expense", "Posting", True, "STANDARD"),
        ("4940", "Zeitschriften, Bücher", "Expense", "Posting", True, "REDUCED"),
        ("4964", "Aufwendungen für Software", "Expense", "Posting", True, "STANDARD"),
        ("8400", "Erlöse 19 % USt", "Income", "Posting", True, "STANDARD"),
    ]
    base.update({
        "taxMode": "vat", "country": "DE", "lcy": "EUR",
        "companyInformation": {"displayName": name, "addressLine1": "Am Sandtorkai 7", "city": "Hamburg",
                               "country": "DE", "postalCode": "20457", "phoneNumber": "+49 40 555 0100",
                               "email": "info@fabrikam-nordsued.example",
                               "website": "https://fabrikam-nordsued.example",
                               "taxRegistrationNumber": "DE123456789", "industry": "Engineering",
                               "currentFiscalYearStartDate": "2026-01-01"},
        "generalLedgerSetup": {"localCurrencySymbol": "€", "shortcutDimension1Code": "DEPARTMENT",
                               "shortcutDimension2Code": "PROJECT"},
        "noSeries": _series([
            ("CUST", "Debitoren", "K10000", True, "K40000"),
            ("VEND", "Kreditoren", "L10000", True, "L20000"),
            ("ITEM", "Artikel", "1000", True, "1999"),
            ("JOB", "Projekte", "J00010", False, "J00010"),
            ("S-INV", "Verkaufsrechnung", "S-INV100001", False, ""),
            ("PS-INV", "Geb. Verkaufsrechnung", "PS-INV103001", False, ""),
            ("P-INV", "Einkaufsrechnung", "P-INV1001", False, ""),
            ("PP-INV", "Geb. Einkaufsrechnung", "PP-INV108001", False, "PP-INV108002"),
            ("P-CR", "Einkaufsgutschrift", "P-CR1001", False, ""),
            ("PP-CR", "Geb. Einkaufsgutschrift", "PP-CR109001", False, "PP-CR109001"),
        ]),
        "postingAccounts": {"receivables": "1400", "payables": "1600", "sales": "8400", "purchases": "3400",
                            "salesVat": "1776", "purchaseVat": "1576"},
        "currencies": _rows(tpl, "currencies", "code", [
            {"code": "USD", "displayName": "US-Dollar", "symbol": "$", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": 0.01},
            {"code": "GBP", "displayName": "Britisches Pfund", "symbol": "£", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": 0.01},
            {"code": "CHF", "displayName": "Schweizer Franken", "symbol": "CHF", "amountDecimalPlaces": "2:2",
             "amountRoundingPrecision": 0.05}]),
        "taxGroups": _rows(tpl, "taxGroups", "code", [
            {"code": "STANDARD", "displayName": "Normaler MwSt.-Satz (19 %)"},
            {"code": "REDUCED", "displayName": "Ermäßigter MwSt.-Satz (7 %)"},
            {"code": "ZERO", "displayName": "Keine MwSt."}]),
        "taxAreas": _rows(tpl, "taxAreas", "code", [
            {"code": "DOMESTIC", "displayName": "Inland", "rates": {"STANDARD": 19, "REDUCED": 7, "ZERO": 0}},
            {"code": "EU", "displayName": "EU-Ausland", "rates": {}},
            {"code": "EXPORT", "displayName": "Drittland", "rates": {}}]),
        "genBusPostingGroups": _rows(tpl, "genBusPostingGroups", "code", [
            {"code": "DOMESTIC", "description": "Inland", "defVatBusPostingGroup": "DOMESTIC",
             "autoInsertDefault": True},
            {"code": "EU", "description": "EU-Ausland", "defVatBusPostingGroup": "EU", "autoInsertDefault": True},
            {"code": "EXPORT", "description": "Drittland", "defVatBusPostingGroup": "EXPORT",
             "autoInsertDefault": True}]),
        "customerPostingGroups": _rows(tpl, "customerPostingGroups", "code", [
            {"code": "DOMESTIC", "description": "Debitoren Inland", "receivablesAccount": "1400"},
            {"code": "FOREIGN", "description": "Debitoren Ausland", "receivablesAccount": "1410"}]),
        "vendorPostingGroups": _rows(tpl, "vendorPostingGroups", "code", [
            {"code": "DOMESTIC", "description": "Kreditoren Inland", "payablesAccount": "1600"},
            {"code": "FOREIGN", "description": "Kreditoren Ausland", "payablesAccount": "1610"}]),
        "generalProductPostingGroups": _rows(tpl, "generalProductPostingGroups", "code", [
            {"code": "RETAIL", "description": "Handel", "defaultVATProductPostingGroup": "STANDARD",
             "salesAccount": "8400", "purchaseAccount": "3400"},
            {"code": "SERVICES", "description": "Dienstleistungen", "defaultVATProductPostingGroup": "STANDARD",
             "salesAccount": "8400", "purchaseAccount": "3400"},
            {"code": "MISC", "description": "Sonstiges", "defaultVATProductPostingGroup": "STANDARD",
             "salesAccount": "8400", "purchaseAccount": "4930"}]),
        "accounts": [{"id": gid(tpl, "accounts", n), "number": n, "displayName": d, "category": cat,
                      "accountType": at, "directPosting": dp, "vatProdPostingGroup": vat}
                     for n, d, cat, at, dp, vat in accounts],
    })
    for item in base["items"]:
        # APIV2 - Items has no VAT Prod. Posting Group field and its taxGroupCode is the sales-tax Tax Group
        # (none in a VAT company): the group is set on the Item Card (or by Auto Insert Default).
        item["taxGroupCode"] = ""
        item["vatProdPostingGroup"] = "STANDARD"
    base["items"][1]["vatProdPostingGroup"] = "REDUCED"  # Training Day: 7 % (illustrates a second rate)
    base["customers"] = _rows(tpl, "customers", "number", [
        {"number": "K10000", "displayName": "Müller Bau GmbH", "type": "Company", "addressLine1": "Elbchaussee 12",
         "city": "Hamburg", "country": "DE", "postalCode": "22763", "taxRegistrationNumber": "DE811111111",
         "genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC", "vatBusPostingGroup": "DOMESTIC",
         "paymentTermsCode": "14 DAYS", "defaultDimensions": {"DEPARTMENT": "SALES"}},
        {"number": "K20000", "displayName": "Nordlicht AB", "type": "Company", "city": "Malmö", "country": "SE",
         "taxRegistrationNumber": "SE556677889901", "genBusPostingGroup": "EU", "customerPostingGroup": "FOREIGN",
         "vatBusPostingGroup": "EU", "paymentTermsCode": "30 DAYS"},
        {"number": "K30000", "displayName": "Contoso Ltd.", "type": "Company", "city": "Seattle", "state": "WA",
         "country": "US", "genBusPostingGroup": "EXPORT", "customerPostingGroup": "FOREIGN",
         "vatBusPostingGroup": "EXPORT", "currencyCode": "USD"},
        {"number": "K40000", "displayName": "Schmidt & Söhne OHG (keine Buchungsgruppen)", "type": "Company",
         "city": "Bremen", "country": "DE"},
    ])
    base["vendors"] = _rows(tpl, "vendors", "number", [
        {"number": "L10000", "displayName": "Bürowelt Nord GmbH", "city": "Hamburg", "country": "DE",
         "genBusPostingGroup": "DOMESTIC", "vendorPostingGroup": "DOMESTIC", "vatBusPostingGroup": "DOMESTIC",
         "paymentTermsCode": "14 DAYS"},
        {"number": "L20000", "displayName": "Reisebüro Alster", "city": "Hamburg", "country": "DE",
         "genBusPostingGroup": "DOMESTIC", "vendorPostingGroup": "DOMESTIC", "vatBusPostingGroup": "DOMESTIC",
         "paymentTermsCode": "14 DAYS"},
    ])
    base["purchaseInvoices"] = _docs(tpl, "purchaseInvoices", [
        {"number": "PP-INV108001", "vendorNumber": "L10000", "vendorInvoiceNumber": "BW-2026-0915",
         "invoiceDate": "2026-09-15", "postingDate": "2026-09-15", "dueDate": "2026-09-29", "posted": True,
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "4930", "description": "Kopierpapier",
              "quantity": 5, "unitCost": 24.9, "taxCode": "STANDARD", "dimensions": {"PROJECT": "P-1001"}},
             {"lineType": "Account", "lineObjectNumber": "4940", "description": "Fachbücher",
              "quantity": 2, "unitCost": 49, "taxCode": "REDUCED", "dimensions": {"PROJECT": "P-1002"}},
         ]},
        {"number": "PP-INV108002", "vendorNumber": "L20000", "vendorInvoiceNumber": "RA-88231",
         "invoiceDate": "2026-10-12", "postingDate": "2026-10-12", "dueDate": "2026-10-26", "posted": True,
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "4660", "description": "Bahnfahrt Hamburg - München",
              "quantity": 1, "unitCost": 189.5, "taxCode": "STANDARD", "dimensions": {"PROJECT": "P-1003"}},
         ]},
    ])
    base["purchaseCreditMemos"] = _docs(tpl, "purchaseCreditMemos", [
        {"number": "PP-CR109001", "vendorNumber": "L10000", "vendorCreditMemoNumber": "BW-GS-77",
         "creditMemoDate": "2026-09-30", "postingDate": "2026-09-30", "dueDate": "2026-09-30", "posted": True,
         "invoiceNumber": "PP-INV108001",
         "lines": [
             {"lineType": "Account", "lineObjectNumber": "4930", "description": "Gutschrift Kopierpapier",
              "quantity": 1, "unitCost": 24.9, "taxCode": "STANDARD", "dimensions": {"PROJECT": "P-1001"}},
         ]},
    ])
    base["salesInvoices"] = []
    base["generalLedgerEntries"] = [
        {"id": gid(tpl, "generalLedgerEntries", "journal", "1"), "postingDate": "2026-10-31",
         "documentNumber": "G00001", "accountNumber": "4964", "description": "Cloud-Hosting Oktober",
         "debitAmount": 79, "dimensions": {"PROJECT": "P-1001"}},
        {"id": gid(tpl, "generalLedgerEntries", "journal", "2"), "postingDate": "2026-10-31",
         "documentNumber": "G00001", "accountNumber": "1200", "description": "Cloud-Hosting Oktober",
         "creditAmount": 79},
    ]
    base["projects"] = _rows(tpl, "projects", "number", [{"number": "J00010", "displayName": "Website-Relaunch"}])
    return base


#: Company ids, per environment (stable, so tests and `make run` can refer to them).
COMPANY_IDS = {
    ("Production", "us"): gid("company", "Production", "us"),
    ("Production", "vat"): gid("company", "Production", "vat"),
    ("Sandbox", "us"): gid("company", "Sandbox", "us"),
    ("Sandbox", "vat"): gid("company", "Sandbox", "vat"),
    ("other", "us"): gid("company", "other", "Production", "us"),
}

OTHER_COMPANY = "Fabrikam US, Inc."


def company_template(kind: str) -> dict[str, Any]:
    if kind == "us":
        return _us("us", C.US_COMPANY)
    if kind == "vat":
        return _vat("vat", C.VAT_COMPANY)
    if kind == "other":
        return _us("other", OTHER_COMPANY, small=True)
    raise ValueError(kind)


def build() -> dict[str, Any]:
    def env(name: str) -> dict:
        return {"name": name, "enabledApps": [C.DEMO_CLIENT_ID], "companies": [
            {"id": COMPANY_IDS[(name, "us")], "name": C.US_COMPANY, "template": "us",
             "createdAt": "2026-01-05T09:00:00.000Z"},
            {"id": COMPANY_IDS[(name, "vat")], "name": C.VAT_COMPANY, "template": "vat",
             "createdAt": "2026-01-05T09:05:00.000Z"},
        ]}

    return {
        "_about": ("BC sandbox world (sandbox/bc). Generated by `python -m sandbox.bc._fixturegen`; edit the "
                   "generator, not this file. Codes name references; ids are stable uuid5 values."),
        "systemVersion": "27.1.41698.0",
        "tenants": [
            {"id": C.TENANT_ID, "domain": C.TENANT_DOMAIN,
             "environments": [env(C.ENVIRONMENT), env(C.SANDBOX_ENVIRONMENT)]},
            {"id": C.OTHER_TENANT_ID, "domain": C.OTHER_TENANT_DOMAIN, "environments": [
                {"name": "Production", "enabledApps": [C.DEMO_CLIENT_ID], "companies": [
                    {"id": COMPANY_IDS[("other", "us")], "name": OTHER_COMPANY, "template": "other",
                     "createdAt": "2026-02-01T09:00:00.000Z"}]}]},
        ],
        "companyTemplates": {"us": company_template("us"), "vat": company_template("vat"),
                             "other": company_template("other")},
    }


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "sandbox/fixtures/bc.json"
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(build(), fh, indent=1, ensure_ascii=False)
        fh.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
