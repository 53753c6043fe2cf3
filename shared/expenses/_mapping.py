"""Business Central rows -> `bc-expenses` messages (docs/contract.md §4), or the reason an entry is skipped.

Message: `{connector, key, source, postingDate, documentNumber, vendor: {number, name}, description,
quantity, amount, currencyCode, account: {number, name}, project: {id, number}, activity, billable}`.

- `key`: `<companyId>:<document line id>` or `<companyId>:gl:<entryNumber>`: stable, so the host can drop
  a repeat (an import is at-least-once: a crash after sending and before saving the cursor re-sends one
  page).
- Signs: a cost is positive. Purchase invoice lines: `amount` = the line's `netAmount` (after invoice
  discount, before tax), `quantity` as posted. Credit memo lines reduce the cost: both negated. G/L
  entries: `amount` = debit - credit, so a credit on an expense account (a reversal, a correction) is
  negative; `quantity` is 1 or -1 with the amount's sign (G/L entries carry no quantity in API v2.0).
- The project: the line's value of the project dimension, else its document's; mapped to the host project
  through the ledger. A value no host project carries is counted (`unknownProjects`) and reported, not sent.
- `account`: the G/L account of an Account line or entry, with its name; `{number: null, name: null}` for
  item and other lines, whose account BC derives from posting setup that API v2.0 does not expose.
  `vendor` is `{number: null, name: null}` for G/L entries.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.jsontypes import JsonObject, JsonValue

from ._projects import HostProject
from ._reads import AccountCatalog, DocumentKind

__all__ = ["ImportContext", "Mapped", "map_document_line", "map_ledger_entry", "is_posted"]

_UNPOSTED = {"draft", "inreview"}


@dataclass(frozen=True)
class ImportContext:
    connector: str
    company_id: str
    dimension: str  # projects.dimension, upper-case
    projects: dict[str, HostProject]
    catalog: AccountCatalog
    activity: str | None
    billable: bool
    from_date: str


@dataclass(frozen=True)
class Mapped:
    """One entry's outcome: a message, or a skip reason, or an unknown project value."""

    message: JsonObject | None = None
    skipped: str | None = None
    unknown: str | None = None


def is_posted(document: JsonObject) -> bool:
    status = str(document.get("status") or "").replace("_x0020_", "").replace(" ", "").lower()
    return status not in _UNPOSTED


def _value(dimension_set: JsonValue, dimension: str) -> str | None:
    """The value code of `dimension` in a row's `dimensionSetLines`, upper-case."""
    for line in dimension_set if isinstance(dimension_set, list) else ():
        if isinstance(line, dict) and str(line.get("code", "")).upper() == dimension:
            return str(line.get("valueCode") or "").upper() or None
    return None


def _clean(number: float) -> float | int:
    """Float noise off (BC amounts have at most 5 decimals); whole numbers as integers (240, not 240.0)."""
    rounded = round(float(number), 5)
    return int(rounded) if rounded.is_integer() else rounded


def _message(ctx: ImportContext, *, key: str, source: str, posting_date: str, document_number: str,
             vendor: tuple[str | None, str | None], description: str, quantity: float, amount: float,
             currency: str, account: str | None, project: HostProject) -> JsonObject:
    return {
        "connector": ctx.connector,
        "key": key,
        "source": source,
        "postingDate": posting_date,
        "documentNumber": document_number,
        "vendor": {"number": vendor[0], "name": vendor[1]},
        "description": description,
        "quantity": _clean(quantity),
        "amount": _clean(amount),
        "currencyCode": currency or ctx.catalog.local_currency,
        "account": {"number": account, "name": ctx.catalog.names.get(account) if account else None},
        "project": {"id": project.id, "number": project.number},
        "activity": ctx.activity,
        "billable": ctx.billable,
    }


def map_document_line(ctx: ImportContext, kind: DocumentKind, document: JsonObject, line: JsonObject) -> Mapped:
    line_type = str(line.get("lineType") or "")
    if line_type == "Comment":
        return Mapped(skipped="comment")
    amount = float(line.get("netAmount") or 0)
    if amount == 0:
        return Mapped(skipped="zeroAmount")
    value = _value(line.get("dimensionSetLines"), ctx.dimension) or _value(document.get("dimensionSetLines"),
                                                                           ctx.dimension)
    if value is None:
        return Mapped(skipped="noProject")
    project = ctx.projects.get(value)
    if project is None:
        return Mapped(unknown=value)
    return Mapped(message=_message(
        ctx, key=f"{ctx.company_id}:{line['id']}", source=kind.source, posting_date=document.get("postingDate", ""),
        document_number=document.get("number", ""),
        vendor=(document.get("vendorNumber") or None, document.get("vendorName") or None),
        description=line.get("description") or "", quantity=kind.sign * float(line.get("quantity") or 0),
        amount=kind.sign * amount, currency=document.get("currencyCode") or "",
        account=(line.get("lineObjectNumber") or None) if line_type == "Account" else None, project=project))


def map_ledger_entry(ctx: ImportContext, entry: JsonObject) -> Mapped:
    if entry.get("postingDate", "") < ctx.from_date:
        return Mapped(skipped="beforeFromDate")
    account = entry.get("accountNumber") or ""
    if account not in ctx.catalog.expense:
        return Mapped(skipped="notExpenseAccount")
    amount = float(entry.get("debitAmount") or 0) - float(entry.get("creditAmount") or 0)
    if amount == 0:
        return Mapped(skipped="zeroAmount")
    value = _value(entry.get("dimensionSetLines"), ctx.dimension)
    if value is None:
        return Mapped(skipped="noProject")
    project = ctx.projects.get(value)
    if project is None:
        return Mapped(unknown=value)
    return Mapped(message=_message(
        ctx, key=f"{ctx.company_id}:gl:{entry['entryNumber']}", source="generalLedger",
        posting_date=entry.get("postingDate", ""), document_number=entry.get("documentNumber", ""),
        vendor=(None, None), description=entry.get("description") or "", quantity=1 if amount > 0 else -1,
        amount=amount, currency="", account=account, project=project))
