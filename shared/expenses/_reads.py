"""The Business Central reads of an import, as pages (API v2.0; docs/business-central.md §1, §5, §8).

- `read_catalog`: G/L accounts (number, name, category) and the local currency, in one `$batch`.
- `document_pages`: posted purchase invoices or credit memos with their lines and the dimension set lines
  of both, in one request per page (`$expand`), ordered by `lastModifiedDateTime`, filtered by
  `postingDate ge fromDate` and, after the first run, `lastModifiedDateTime ge cursor - overlap`.
- `ledger_pages`: G/L entries with their dimension set lines, in entry number order (the table's key),
  `entryNumber gt low and postingDate ge fromDate`; a backfill also bounds the entry numbers and the
  posting dates.

Pages hold `page_size` entities: `Prefer: odata.maxpagesize` asks BC for that many, and the client's
lazy iterator fetches the next page only when the caller asks for more. The import asks for page N+1 while
it sends and records page N (`_ahead.ReadAhead`: one page ahead at most, so memory stays flat).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Iterator

from shared.bc import decode_error
from shared.connectors._accounts import EXPENSE_CATEGORIES, category_key

from ._ports import BcReader

__all__ = ["AccountCatalog", "DocumentKind", "DOCUMENT_KINDS", "read_catalog", "document_pages", "ledger_pages",
           "documents_by_id"]

_DIMS = "dimensionSetLines($select=code,valueCode)"
_HEADER_FIELDS = "id,number,postingDate,vendorNumber,vendorName,currencyCode,status,lastModifiedDateTime"
_LINE_FIELDS = "id,sequence,lineType,lineObjectNumber,description,quantity,netAmount"
_LEDGER_FIELDS = ("id,entryNumber,postingDate,documentNumber,accountNumber,description,debitAmount,creditAmount,"
                  "lastModifiedDateTime")


@dataclass(frozen=True)
class AccountCatalog:
    names: dict[str, str]  # account number -> name
    expense: frozenset[str]  # numbers of accounts in EXPENSE_CATEGORIES
    local_currency: str


@dataclass(frozen=True)
class DocumentKind:
    source: str  # the entity set, also the ImportCursors row
    lines: str  # the lines navigation
    sign: int  # +1 invoice (cost), -1 credit memo (reduces the cost)


DOCUMENT_KINDS = {
    "purchaseInvoices": DocumentKind("purchaseInvoices", "purchaseInvoiceLines", 1),
    "purchaseCreditMemos": DocumentKind("purchaseCreditMemos", "purchaseCreditMemoLines", -1),
}


def read_catalog(client: BcReader, company_id: str) -> AccountCatalog:
    """One `$batch`: the chart of accounts and the general ledger setup. Raises BcError."""
    base = f"companies({company_id})"
    responses = client.batch([
        {"id": "accounts", "method": "GET", "url": f"{base}/accounts?$select=number,displayName,category"},
        {"id": "setup", "method": "GET", "url": f"{base}/generalLedgerSetup?$select=localCurrencyCode"},
    ])
    bodies = []
    for response in responses:
        if int(response.get("status", 0)) >= 400:
            raise decode_error(response, method="GET")
        bodies.append(list((response.get("body") or {}).get("value", [])))
    accounts, setup = bodies
    names = {a["number"]: a.get("displayName", "") for a in accounts}
    expense = frozenset(a["number"] for a in accounts if category_key(a.get("category", "")) in EXPENSE_CATEGORIES)
    return AccountCatalog(names, expense, (setup[0].get("localCurrencyCode") if setup else "") or "")


def pages(items: Iterator[dict], size: int) -> Iterator[list[dict]]:
    """Consecutive lists of `size` items (the last one shorter)."""
    while True:
        page = list(islice(items, size))
        if not page:
            return
        yield page


def document_pages(client: BcReader, company_id: str, kind: DocumentKind, *, from_date: str,
                   modified_since: str | None, page_size: int) -> Iterator[list[dict]]:
    conditions = [f"postingDate ge {from_date}"]
    if modified_since is not None:
        conditions.append(f"lastModifiedDateTime ge {modified_since}")
    items = client.list_entities(
        company_id, kind.source, filter=" and ".join(conditions), select=_HEADER_FIELDS,
        expand=[_DIMS, f"{kind.lines}($select={_LINE_FIELDS};$expand={_DIMS})"],
        orderby="lastModifiedDateTime", page_size=page_size)
    return pages(items, page_size)


def ledger_pages(client: BcReader, company_id: str, *, after: int, from_date: str, page_size: int,
                 up_to: int | None = None, before: str | None = None) -> Iterator[list[dict]]:
    conditions = [f"entryNumber gt {after}"]
    if up_to is not None:
        conditions.append(f"entryNumber le {up_to}")
    conditions.append(f"postingDate ge {from_date}")
    if before is not None:
        conditions.append(f"postingDate lt {before}")
    items = client.list_entities(company_id, "generalLedgerEntries", filter=" and ".join(conditions),
                                 select=_LEDGER_FIELDS, expand=_DIMS, page_size=page_size)
    return pages(items, page_size)


def documents_by_id(client: BcReader, company_id: str, kind: DocumentKind, ids: list[str]) -> list[dict]:
    """Posted documents with their lines by id, 100 per `$batch` (one BC request each); gone ones are left out."""
    base = f"companies({company_id})/{kind.source}"
    query = (f"$select={_HEADER_FIELDS}&$expand={_DIMS},{kind.lines}($select={_LINE_FIELDS};$expand={_DIMS})")
    found: list[dict] = []
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        responses = client.batch([{"id": str(n), "method": "GET", "url": f"{base}({doc_id})?{query}"}
                                  for n, doc_id in enumerate(chunk, start=1)])
        for response in responses:
            status = int(response.get("status", 0))
            if status == 404:
                continue  # deleted since (a posted document rarely is): nothing left to import
            if status >= 400:
                raise decode_error(response, method="GET")
            body = response.get("body")
            if isinstance(body, dict):
                found.append(body)
    return found
