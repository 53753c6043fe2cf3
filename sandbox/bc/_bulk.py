"""Data a test or a benchmark needs that BC's own API cannot produce: volume, and records that arrive late.

- `bulk_insert`: posted purchase invoices (N lines, k per invoice) and G/L entries on expense accounts, all
  carrying a project dimension value, written straight into the store (about 100,000 rows a second), so
  an import can be measured against 100,000 of each. Bulk invoices are stored as posted *without* their
  G/L entries, so the two sources can be sized independently.
- `insert_ledger_entry`: one G/L entry with a chosen entry number and `lastModifiedDateTime`, e.g. a
  number lower than entries already visible: BC draws entry numbers from a NumberSequence, so concurrent
  postings commit out of order and leave gaps (docs/business-central.md §8).
- `insert_posted_document`: one posted purchase invoice or credit memo, with G/L entries, optionally
  stamped with an older `lastModifiedDateTime` (a document that commits late).
- `set_document_status`: what paying a posted invoice does to the API entity: a new status and a new
  `lastModifiedDateTime` (the sandbox has no payments otherwise).

Every function runs under the environment's lock (the caller holds it) and raises ValueError for a bad
spec, KeyError for something missing.
"""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta

from ._company import Company
from ._documents import DOC_KINDS
from ._schema import EMPTY_GUID, edm_member
from ._values import format_datetime, new_guid, parse_datetime_literal, round2

__all__ = ["bulk_insert", "insert_ledger_entry", "insert_posted_document", "set_document_status"]

#: Bulk ids start with "ff" and a counter that never repeats in a process: they sort after the fixture ids
#: (random uuid5 values), so every insert appends to the tables' sorted keys instead of shifting them.
_bulk_ids = itertools.count(1)

_ACCOUNT, _OPEN = edm_member("Account"), edm_member("Open")
_STATUSES = ("Open", "Paid", "Canceled", "Corrective")


def _bulk_id() -> str:
    n = next(_bulk_ids)
    return "ff%06x-%04x-4%03x-8%03x-%012x" % (n & 0xFFFFFF, (n >> 24) & 0xFFFF, 0, 0, n)


def _int(spec: dict, name: str, default: int, low: int = 0, high: int = 1_000_000) -> int:
    value = spec.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError('"%s" must be a whole number from %d to %d' % (name, low, high))
    return value


def _date(spec: dict, name: str, default: str) -> str:
    value = spec.get(name, default)
    try:
        return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
    except (TypeError, ValueError):
        raise ValueError('"%s" must be a date like 2026-11-02' % name) from None


def _stamp(spec: dict, company: Company) -> str:
    value = spec.get("lastModifiedDateTime")
    if value is None:
        return company.now()
    stamp = parse_datetime_literal(value) if isinstance(value, str) else None
    if stamp is None:
        raise ValueError('"lastModifiedDateTime" must be a date-time like 2026-11-02T10:00:00Z')
    return stamp


def _dims(company: Company, spec: dict[str, str] | None) -> dict:
    out = {}
    for dim_code, value_code in (spec or {}).items():
        dim = company.dimension_by_code(dim_code)
        value = company.dimension_value_by_code(dim["id"], value_code) if dim else None
        if dim is None or value is None:
            raise KeyError("no dimension value %s=%s in company %r" % (dim_code, value_code, company.name))
        out[dim["id"]] = (value["id"], company.db.next_version())
    return out


def _project_sets(company: Company, spec: dict) -> list[dict]:
    dimension = spec.get("dimension", "PROJECT")
    projects = spec.get("projects") or ["P-1001", "P-1002", "P-1003"]
    if not isinstance(projects, list) or not all(isinstance(p, str) for p in projects):
        raise ValueError('"projects" must be a list of dimension value codes')
    return [_dims(company, {dimension: p}) for p in projects]


def _accounts(company: Company, spec: dict, default: list[str]) -> list[dict]:
    numbers = spec.get("accounts") or default
    out = []
    for number in numbers:
        account = company.by_number("accounts", number)
        if account is None:
            raise KeyError("no G/L account %r in company %r" % (number, company.name))
        out.append(account)
    return out


def bulk_insert(company: Company, spec: dict) -> dict:
    """Append posted purchase invoices and G/L entries; see the module docstring. Answers what was added.

    spec: purchaseInvoiceLines (N), linesPerDocument (default 10), generalLedgerEntries (M), postingDate
    (default today), projects (dimension value codes, default P-1001..P-1003), dimension (default PROJECT),
    withoutProjectEvery (every n-th line/entry carries no project; 0 = never), creditEvery (every n-th G/L
    entry is a credit, i.e. a reversal; 0 = never), vendor (default the first vendor), accounts (expense
    account numbers, default the company's accounts in category Expense).
    """
    started = time.perf_counter()
    lines = _int(spec, "purchaseInvoiceLines", 0)
    per_doc = _int(spec, "linesPerDocument", 10, 1, 1000)
    entries = _int(spec, "generalLedgerEntries", 0)
    posting_date = _date(spec, "postingDate", company.clock.today())
    without_every = _int(spec, "withoutProjectEvery", 0)
    credit_every = _int(spec, "creditEvery", 0)
    project_sets = _project_sets(company, spec)
    expense = [a["number"] for a in company.t("accounts").scan() if a.get("category") == "Expense"
               and not a.get("blocked") and a.get("accountType") == edm_member("Posting")]
    accounts = _accounts(company, spec, expense)
    if not accounts:
        raise ValueError("the company has no expense accounts; pass \"accounts\"")
    vendor = (company.by_number("vendors", spec["vendor"]) if spec.get("vendor")
              else next(iter(company.t("vendors").scan()), None))
    if vendor is None:
        raise KeyError("no vendor %r in company %r" % (spec.get("vendor"), company.name))
    # Stamps one millisecond apart, ending now: distinct, increasing, and all in the past.
    now = company.clock.utcnow()
    docs = -(-lines // per_doc)
    stamp_at = iter(format_datetime(now - timedelta(milliseconds=docs + entries - i)) for i in range(docs + entries))

    series = company.series_code("postedPurchaseInvoiceNos")
    headers, line_rows = company.t("purchaseInvoices"), company.t("purchaseInvoiceLines")
    made = 0
    for doc_no in range(docs):
        count = min(per_doc, lines - made)
        header_id = _bulk_id()
        number = company.next_no(series, headers, "number", (True,))
        total = 0.0
        for n in range(count):
            index = made + n
            account = accounts[index % len(accounts)]
            quantity = 1 + index % 5
            cost = round2(10 + (index * 7919) % 50000 / 100)
            amount = round2(quantity * cost)
            total += amount
            dims = {} if without_every and (index + 1) % without_every == 0 else project_sets[index % len(project_sets)]
            line_rows.insert({
                "id": _bulk_id(), "documentId": header_id, "sequence": (n + 1) * 10000, "lineType": _ACCOUNT,
                "accountId": account["id"], "itemId": EMPTY_GUID, "lineObjectNumber": account["number"],
                "description": "%s, bulk line %d" % (account.get("displayName", ""), index + 1),
                "quantity": quantity, "unitCost": cost, "amountExcludingTax": amount, "amountIncludingTax": amount,
                "netAmount": amount, "netAmountIncludingTax": amount, "taxCode": account.get("_taxGroupCode", ""),
                "_dims": dims,
            })
        made += count
        headers.insert({
            "id": header_id, "number": number, "status": _OPEN, "_posted": True, "postingDate": posting_date,
            "invoiceDate": posting_date, "dueDate": posting_date, "vendorInvoiceNumber": "BULK-%d" % (doc_no + 1),
            "vendorId": vendor["id"], "vendorNumber": vendor["number"], "vendorName": vendor.get("displayName", ""),
            "payToVendorId": vendor["id"], "payToVendorNumber": vendor["number"],
            "payToName": vendor.get("displayName", ""), "currencyId": EMPTY_GUID, "currencyCode": company.lcy,
            "discountAppliedBeforeTax": True, "totalAmountExcludingTax": round2(total),
            "totalAmountIncludingTax": round2(total), "lastModifiedDateTime": next(stamp_at), "_dims": {},
        })

    ledger = company.t("generalLedgerEntries")
    first_entry = company.gl_entry_no + 1
    for index in range(entries):
        account = accounts[index % len(accounts)]
        amount = round2(5 + (index * 104729) % 100000 / 100)
        credit = bool(credit_every) and (index + 1) % credit_every == 0
        dims = {} if without_every and (index + 1) % without_every == 0 else project_sets[index % len(project_sets)]
        company.gl_entry_no += 1
        ledger.insert({
            "id": _bulk_id(), "entryNumber": company.gl_entry_no, "postingDate": posting_date,
            "documentNumber": "BULK%06d" % (index // 2 + 1), "documentType": edm_member(" "),
            "accountId": account["id"], "accountNumber": account["number"],
            "description": "%s, bulk entry %d" % (account.get("displayName", ""), index + 1),
            "debitAmount": 0 if credit else amount, "creditAmount": amount if credit else 0,
            "lastModifiedDateTime": next(stamp_at), "_dims": dims,
        })
    return {"purchaseInvoices": docs, "purchaseInvoiceLines": lines, "generalLedgerEntries": entries,
            "firstEntryNumber": first_entry if entries else None,
            "lastEntryNumber": company.gl_entry_no if entries else None,
            "seconds": round(time.perf_counter() - started, 3)}


def insert_ledger_entry(company: Company, spec: dict) -> dict:
    """One G/L entry, possibly late: `entryNumber` below the highest one and/or an old `lastModifiedDateTime`.

    spec: accountNumber (required), entryNumber (default: the next one), postingDate (default today),
    debitAmount / creditAmount, description, documentNumber, dimensions ({"PROJECT": "P-1001"}),
    lastModifiedDateTime (default now). Raises ValueError if the entry number is taken.
    """
    account = company.by_number("accounts", spec.get("accountNumber", ""))
    if account is None:
        raise KeyError("no G/L account %r in company %r" % (spec.get("accountNumber"), company.name))
    number = _int(spec, "entryNumber", company.gl_entry_no + 1, 1, 2**31 - 1)
    if company.t("generalLedgerEntries").find("entryNumber", number) is not None:
        raise ValueError("G/L entry number %d is taken" % number)
    debit, credit = spec.get("debitAmount", 0), spec.get("creditAmount", 0)
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (debit, credit)):
        raise ValueError('"debitAmount" and "creditAmount" must be numbers')
    company.gl_entry_no = max(company.gl_entry_no, number)
    row = company.t("generalLedgerEntries").insert({
        "id": new_guid(), "entryNumber": number, "postingDate": _date(spec, "postingDate", company.clock.today()),
        "documentNumber": str(spec.get("documentNumber", ""))[:20], "documentType": edm_member(" "),
        "accountId": account["id"], "accountNumber": account["number"],
        "description": str(spec.get("description", account.get("displayName", "")))[:100],
        "debitAmount": round2(debit), "creditAmount": round2(credit), "lastModifiedDateTime": _stamp(spec, company),
        "_dims": _dims(company, spec.get("dimensions")),
    })
    return {"id": row["id"], "entryNumber": number, "lastModifiedDateTime": row["lastModifiedDateTime"]}


def insert_posted_document(company: Company, set_name: str, spec: dict, types: dict, behaviors: dict) -> dict:
    """One posted purchase invoice or credit memo (with its G/L entries), as the fixture loader builds them.

    spec: like a fixture document (vendorNumber, postingDate, lines with lineType/lineObjectNumber/
    description/quantity/unitCost/dimensions, dimensions on the header), plus `lastModifiedDateTime` (default
    now) and `number` (default: the next number of the posted series).
    """
    from ._fixtures import _Loader  # the fixture loader computes lines, totals and G/L entries like posting

    if set_name not in ("purchaseInvoices", "purchaseCreditMemos"):
        raise ValueError("posted documents are purchaseInvoices or purchaseCreditMemos, not %r" % set_name)
    kind = DOC_KINDS[set_name]
    stamp = _stamp(spec, company)
    row = {k: v for k, v in spec.items() if k != "lastModifiedDateTime"}
    row.setdefault(kind.date_field, _date(spec, "postingDate", company.clock.today()))
    row.setdefault("postingDate", row[kind.date_field])
    row.setdefault("dueDate", row["postingDate"])
    if not row.get("number"):
        row["number"] = company.next_no(company.series_code(kind.posted_series), company.t(set_name), "number",
                                        (True,))
    row["posted"] = True
    row["id"] = new_guid()
    row["lines"] = [{"id": new_guid(), **line} for line in row.get("lines", [])]
    loader = _Loader(company, {"lastModifiedDateTime": stamp}, types, behaviors)
    loader._document(set_name, row)
    header = company.t(set_name).get(row["id"])
    # Computing totals and posting touched the header; a late commit keeps the stamp it was written with.
    company.t(set_name).update(header, {"lastModifiedDateTime": stamp})
    lines = company.t(kind.lines_set).by_index("documentId", row["id"])
    return {"id": header["id"], "number": header["number"], "lastModifiedDateTime": header["lastModifiedDateTime"],
            "lineIds": [line["id"] for line in lines]}


def set_document_status(company: Company, set_name: str, document_id: str, status: str) -> dict:
    """A posted document's status changes (e.g. Paid): BC stamps a new lastModifiedDateTime on the entity."""
    if set_name not in ("purchaseInvoices", "purchaseCreditMemos"):
        raise ValueError("statuses are set on purchaseInvoices or purchaseCreditMemos, not %r" % set_name)
    if status not in _STATUSES:
        raise ValueError('"status" must be one of %s' % ", ".join(_STATUSES))
    header = company.t(set_name).get((document_id or "").lower())
    if header is None or not header.get("_posted"):
        raise KeyError("no posted %s %r in company %r" % (set_name, document_id, company.name))
    company.modify(set_name, header, {"status": edm_member(status)})
    return {"id": header["id"], "status": header["status"], "lastModifiedDateTime": header["lastModifiedDateTime"]}
