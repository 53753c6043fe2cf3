"""Documents: salesInvoices, purchaseInvoices, purchaseCreditMemos, their lines, deep insert and posting.

One entity covers draft and posted documents, and `id` survives posting while `number` moves to the
posted series (docs/business-central.md §1, SalesInvoiceAggregator). Error texts are the AL labels of the APIV2 pages
(APIV2SalesInvoices/SalesInvoiceLines/PurchaseCreditMemos in microsoft/ALAppExtensions) where read;
texts marked *inferred* were not found in source.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sandbox.errors import BcApiError

from ._bcerrors import already_exists, dialog, must_be_equal, must_have_value, not_implemented, table_relation
from ._company import Company
from ._dimsets import DimSetSource, check_usable
from ._engine import Behavior, Ctx, Source
from ._entities import Ref, apply_refs
from ._http import coerce_body
from ._query import query_error
from ._schema import EMPTY_GUID, edm_member
from ._values import new_guid, round2

__all__ = ["DocKind", "DOC_KINDS", "DocumentBehavior", "LineBehavior", "post_gl_entry"]

ITEM, ACCOUNT, COMMENT = edm_member("Item"), edm_member("Account"), edm_member("Comment")
DRAFT, OPEN = edm_member("Draft"), edm_member("Open")


@dataclass(frozen=True)
class DocKind:
    header_set: str
    lines_set: str
    sales: bool
    party_set: str
    party_caption: str
    party_id: str
    party_no: str
    party_name: str
    bill_id: str
    bill_no: str
    bill_name: str
    party_prefix: str  # sellTo / buyFrom
    bill_prefix: str  # billTo / payTo
    series: str
    posted_series: str
    date_field: str
    price_field: str
    word: str
    gl_doc_type: str
    sign: int
    missing_party: str
    party_not_found: str
    party_mismatch: str
    line_table_caption: str


SALES_INVOICE = DocKind(
    "salesInvoices", "salesInvoiceLines", True, "customers", "Customer", "customerId", "customerNumber",
    "customerName", "billToCustomerId", "billToCustomerNumber", "billToName", "sellTo", "billTo",
    "invoiceNos", "postedInvoiceNos", "invoiceDate", "unitPrice", "invoice", "Invoice", 1,
    'A "customerNumber" or a "customerId" must be provided.', "The sell-to customer cannot be found.",
    "The sell-to customer values do not match to a specific Customer.", "Sales Line",
)
PURCHASE_INVOICE = DocKind(
    "purchaseInvoices", "purchaseInvoiceLines", False, "vendors", "Vendor", "vendorId", "vendorNumber",
    "vendorName", "payToVendorId", "payToVendorNumber", "payToName", "buyFrom", "payTo",
    "purchaseInvoiceNos", "postedPurchaseInvoiceNos", "invoiceDate", "unitCost", "invoice", "Invoice", 1,
    'A "vendorNumber" or a "vendorId" must be provided.', "The buy-from vendor cannot be found.",
    "The buy-from vendor values do not match to a Vendor.", "Purchase Line",
)
PURCHASE_CREDIT_MEMO = DocKind(
    "purchaseCreditMemos", "purchaseCreditMemoLines", False, "vendors", "Vendor", "vendorId", "vendorNumber",
    "vendorName", "payToVendorId", "payToVendorNumber", "payToName", "buyFrom", "payTo",
    "purchaseCreditMemoNos", "postedPurchaseCreditMemoNos", "creditMemoDate", "unitCost", "credit memo",
    "Credit Memo", -1,
    'A "vendorNumber" or a "vendorId" must be provided.', "The buy-from vendor cannot be found.",
    "The buy-from vendor values do not match to a Vendor.", "Purchase Line",
)
DOC_KINDS = {k.header_set: k for k in (SALES_INVOICE, PURCHASE_INVOICE, PURCHASE_CREDIT_MEMO)}

_ADDRESS = (("addressLine1", "AddressLine1"), ("addressLine2", "AddressLine2"), ("city", "City"),
            ("country", "Country"), ("state", "State"), ("postalCode", "PostCode"))


def add_date_formula(start: str, formula: str) -> str:
    """A small DateFormula subset: <n>D/W/M/Y and CM (current month end), combined with '+'."""
    d = date.fromisoformat(start)
    for part in re.findall(r"[+-]?[^+-]+", (formula or "").replace(" ", "").upper()):
        m = re.fullmatch(r"([+-]?)(\d*)([DWMYQ]|CM)", part)
        if not m:
            continue
        sign = -1 if m.group(1) == "-" else 1
        n = int(m.group(2) or 0) * sign
        unit = m.group(3)
        if unit == "D":
            d += timedelta(days=n)
        elif unit == "W":
            d += timedelta(weeks=n)
        elif unit in ("M", "Q", "Y"):
            months = n * {"M": 1, "Q": 3, "Y": 12}[unit]
            y, mo = divmod(d.month - 1 + months, 12)
            year, month = d.year + y, mo + 1
            d = date(year, month, min(d.day, calendar.monthrange(year, month)[1]))
        elif unit == "CM":
            d = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
    return d.isoformat()


def post_gl_entry(company: Company, *, posting_date: str, doc_type: str, doc_no: str, account_no: str,
                  description: str, amount: float, dims: dict) -> dict:
    """One G/L entry (debit when amount > 0). Entry numbers come from a per-company sequence."""
    account = company.by_number("accounts", account_no)
    company.gl_entry_no += 1
    return company.insert("generalLedgerEntries", {
        "entryNumber": company.gl_entry_no,
        "postingDate": posting_date,
        "documentNumber": doc_no,
        "documentType": edm_member(doc_type),
        "accountId": account["id"] if account else EMPTY_GUID,
        "accountNumber": account_no,
        "description": description[:100],
        "debitAmount": round2(amount) if amount > 0 else 0,
        "creditAmount": round2(-amount) if amount < 0 else 0,
        "_dims": dict(dims),
    })


class DocumentBehavior(Behavior):
    """Document headers. Deep insert takes the lines and the header's dimension set lines."""

    extra_writable = ("number",)  # Editable=false, yet validated against Manual Nos. (docs/business-central.md §6)

    def __init__(self, etype: Any, kind: DocKind) -> None:
        super().__init__(etype)
        self.kind = kind
        self.set_name = kind.header_set
        self.deep_navs = (kind.lines_set, "dimensionSetLines")
        party_nav = "customer" if kind.sales else "vendor"
        self.navigations = {
            kind.lines_set: ("lines", kind.lines_set, "documentId"),
            "dimensionSetLines": ("dims", "dimensionSetLines", ""),
            party_nav: ("lookup", kind.party_set, kind.party_id),
            "currency": ("lookup", "currencies", "currencyId"),
            "paymentTerm": ("lookup", "paymentTerms", "paymentTermsId"),
        }

    def key_fields(self, key: str) -> list[tuple[str, str]]:
        return [("Id", key)]

    def dims_writable(self, ctx: Ctx, record: dict) -> bool:
        return not record.get("_posted")

    # -- party ---------------------------------------------------------------------------------------------
    def _resolve_party(self, company: Company, values: dict) -> dict | None:
        k = self.kind
        table = company.t(k.party_set)
        party = None
        if k.party_id in values and values[k.party_id] != EMPTY_GUID:
            party = table.get(values[k.party_id])
            if party is None:
                raise dialog(k.party_not_found)
        if values.get(k.party_no):
            by_no = table.find("number", values[k.party_no])
            if party is not None and (by_no is None or by_no["id"] != party["id"]):
                raise dialog(k.party_mismatch)
            if by_no is None:
                raise dialog(k.party_not_found)
            party = by_no
        return party

    def _check_blocked(self, party: dict, verb: str) -> None:
        blocked = party.get("blocked", "_x0020_")
        bad = ("All", "Invoice") if self.kind.sales else ("All",)
        if blocked in bad:
            # Customer/Vendor CheckBlockedCustOnDocs: 'You cannot %1 this type of document when %2 %3 is
            # blocked with type %4' (label seen in BC's test codeunits, Locked).
            raise dialog("You cannot %s this type of document when %s %s is blocked with type %s"
                         % (verb, self.kind.party_caption, party["number"], blocked))

    def _party_fields(self, company: Company, party: dict) -> dict[str, Any]:
        k = self.kind
        props = self.etype.props
        out: dict[str, Any] = {
            k.party_id: party["id"], k.party_no: party["number"], k.party_name: party.get("displayName", ""),
            k.bill_id: party["id"], k.bill_no: party["number"], k.bill_name: party.get("displayName", ""),
            "currencyId": party.get("currencyId", EMPTY_GUID),
            "currencyCode": party.get("currencyCode", company.lcy),
            "paymentTermsId": party.get("paymentTermsId", EMPTY_GUID),
            "_taxAreaCode": party.get("_vatBusPostingGroup" if company.uses_vat else "_taxAreaCode", ""),
            "_taxLiable": party.get("taxLiable", False),
        }
        for src, suffix in _ADDRESS:
            for prefix in (k.party_prefix, k.bill_prefix):
                if prefix + suffix in props:
                    out[prefix + suffix] = party.get(src, "")
        if k.sales:
            out.update({"shipToName": party.get("displayName", ""), "phoneNumber": party.get("phoneNumber", ""),
                        "email": party.get("email", ""), "salesperson": party.get("salespersonCode", "")})
            for src, suffix in _ADDRESS:
                out["shipTo" + suffix] = party.get(src, "")
        if "shipmentMethodId" in props:
            out["shipmentMethodId"] = party.get("shipmentMethodId", EMPTY_GUID)
        return {key: v for key, v in out.items() if key in props or key.startswith("_")}

    def _due_date(self, company: Company, record: dict) -> str:
        terms = company.t("paymentTerms").get(record.get("paymentTermsId", EMPTY_GUID))
        return add_date_formula(record[self.kind.date_field], terms.get("dueDateCalculation", "") if terms else "")

    # -- create ----------------------------------------------------------------------------------------------
    def create(self, ctx: Ctx, values: dict, navs: dict, parent: dict | None) -> dict:
        company = ctx.company
        assert company is not None
        k = self.kind
        with company.db.atomic():
            if not values.get(k.party_no) and values.get(k.party_id, EMPTY_GUID) == EMPTY_GUID:
                raise dialog(k.missing_party)
            party = self._resolve_party(company, values)
            assert party is not None
            self._check_blocked(party, "create")
            table = company.t(self.set_name)
            series = company.series_code(k.series)
            number = values.pop("number", "")
            if number:
                company.test_manual(series)
                if table.check_unique("number", (number, False)) is not None:
                    raise already_exists(self.etype.caption, [("No.", number), ("Posted", "No")])
            else:
                number = company.next_no(series, table, "number", (False,))
            today = company.clock.today()
            record: dict[str, Any] = {
                "id": new_guid(), "number": number, "status": DRAFT, "_posted": False,
                k.date_field: today, "postingDate": today,
                "discountAppliedBeforeTax": True,
                "_dims": {dim: (val, company.db.next_version())
                          for dim, (val, _rv) in party.get("_defaultDims", {}).items()},
            }
            record.update(self._party_fields(company, party))
            record.update(self._client_values(ctx, values))
            if "dueDate" not in values:
                record["dueDate"] = self._due_date(company, record)
            self._apply_shortcuts(ctx, record, values)
            self._shortcut_codes(company, record)
            header = company.insert(self.set_name, record)
            dim_source = DimSetSource(ctx, self, header)
            dim_type = ctx.types["dimensionSetLines"]
            for raw in navs.get("dimensionSetLines", []):
                dvals, _ = coerce_body(dim_type, raw)
                dim_source.insert(ctx, dvals, {})
            lines_behavior: LineBehavior = ctx.behavior(k.lines_set)  # type: ignore[assignment]
            for raw in navs.get(k.lines_set, []):
                lvals, lnavs = coerce_body(lines_behavior.etype, raw, navs_allowed=lines_behavior.deep_navs,
                                           navs_known=lines_behavior.navs_known())
                lines_behavior.create(ctx, lvals, lnavs, header, recalc=False)
            self.recalc(ctx, header)
            return header

    def _client_values(self, ctx: Ctx, values: dict) -> dict:
        """Writable header fields as sent, with id/code references resolved."""
        company = ctx.company
        assert company is not None
        k = self.kind
        out = {key: v for key, v in values.items()
               if key not in (k.party_id, k.party_no, "shortcutDimension1Code", "shortcutDimension2Code")}
        refs = [Ref("currencyId", "currencyCode", "currencies", "Currency", lcy=True),
                Ref("paymentTermsId", None, "paymentTerms", "Payment Terms"),
                Ref("shipmentMethodId", None, None, "Shipment Method")]
        if "disputeStatusId" in self.etype.props:
            refs.append(Ref("disputeStatusId", None, None, "Dispute Status"))
        apply_refs(ctx, tuple(refs), out)
        if k.bill_id in out or k.bill_no in out:
            bill = self._resolve_bill(company, out)
            out.update({k.bill_id: bill["id"], k.bill_no: bill["number"], k.bill_name: bill.get("displayName", "")})
        if "invoiceId" in out or "invoiceNumber" in out:
            out.update(self._corrected_invoice(company, out))
        return out

    def _resolve_bill(self, company: Company, values: dict) -> dict:
        k = self.kind
        table = company.t(k.party_set)
        who = "bill-to customer" if k.sales else "pay-to vendor"
        bill = None
        if k.bill_id in values:
            bill = table.get(values[k.bill_id])
            if bill is None:
                raise dialog("The %s cannot be found." % who)
        if k.bill_no in values:
            by_no = table.find("number", values[k.bill_no])
            if by_no is None or (bill is not None and by_no["id"] != bill["id"]):
                raise dialog("The %s values do not match to a specific %s." % (who, k.party_caption)
                             if bill is not None else "The %s cannot be found." % who)
            bill = by_no
        assert bill is not None
        return bill

    def _corrected_invoice(self, company: Company, values: dict) -> dict:
        """purchaseCreditMemos.invoiceId/invoiceNumber: a posted purchase invoice (page 30083 labels)."""
        invoices = company.t("purchaseInvoices")
        inv = None
        if values.get("invoiceId", EMPTY_GUID) != EMPTY_GUID:
            inv = invoices.get(values["invoiceId"])
            if inv is None or not inv.get("_posted"):
                raise dialog('The "invoiceId" does not match to an Invoice.')
        if values.get("invoiceNumber"):
            by_no = invoices.find("number", values["invoiceNumber"], True)
            if by_no is None or (inv is not None and by_no["id"] != inv["id"]):
                raise dialog('The "invoiceId" and "invoiceNumber" do not match to a specific Invoice.')
            inv = by_no
        return {"invoiceId": inv["id"] if inv else EMPTY_GUID, "invoiceNumber": inv["number"] if inv else ""}

    # -- shortcut dimensions ---------------------------------------------------------------------------------
    def _apply_shortcuts(self, ctx: Ctx, record: dict, values: dict) -> None:
        """shortcutDimension1/2Code written on the header set the global dimensions' values."""
        company = ctx.company
        assert company is not None
        setup = company.gl_setup()
        dims = dict(record.get("_dims", {}))
        for i in (1, 2):
            fieldname = "shortcutDimension%dCode" % i
            if fieldname not in values:
                continue
            dim = company.dimension_by_code(setup.get(fieldname, ""))
            code = values[fieldname]
            if dim is None:
                if code:
                    raise table_relation("Shortcut Dimension %d Code" % i, "Sales Header" if self.kind.sales
                                         else "Purchase Header", code, "Dimension Value")
                continue
            if not code:
                dims.pop(dim["id"], None)
                continue
            value = company.dimension_value_by_code(dim["id"], code)
            if value is None:
                raise table_relation("Shortcut Dimension %d Code" % i, "Sales Header" if self.kind.sales
                                     else "Purchase Header", code, "Dimension Value")
            check_usable(company, dim, value)
            dims[dim["id"]] = (value["id"], company.db.next_version())
        record["_dims"] = dims

    def _shortcut_codes(self, company: Company, record: dict) -> None:
        setup = company.gl_setup()
        dims = record.get("_dims", {})
        for i in (1, 2):
            fieldname = "shortcutDimension%dCode" % i
            dim = company.dimension_by_code(setup.get(fieldname, ""))
            code = ""
            if dim is not None and dim["id"] in dims:
                value = company.dimension_value(dims[dim["id"]][0])
                code = value["code"] if value else ""
            record[fieldname] = code

    def write_dims(self, ctx: Ctx, header: dict, dims: dict) -> None:
        """New dimension set on the header; lines that carried the header's old values follow (BC asks
        "update the lines?" in the UI; the sandbox answers yes)."""
        company = ctx.company
        assert company is not None
        old = header.get("_dims", {})
        preview = {"_dims": dims}
        self._shortcut_codes(company, preview)
        company.modify(self.set_name, header, preview)
        lines = company.t(self.kind.lines_set)
        for line in lines.by_index("documentId", header["id"]):
            ldims = dict(line.get("_dims", {}))
            changed = False
            for dim_id in set(old) | set(dims):
                old_val = old.get(dim_id, (None,))[0]
                if ldims.get(dim_id, (None,))[0] != old_val:
                    continue  # the line has its own value for this dimension
                if dim_id in dims:
                    if ldims.get(dim_id, (None,))[0] != dims[dim_id][0]:
                        ldims[dim_id] = (dims[dim_id][0], company.db.next_version())
                        changed = True
                elif dim_id in ldims:
                    del ldims[dim_id]
                    changed = True
            if changed:
                company.modify(self.kind.lines_set, line, {"_dims": ldims})

    # -- update / delete -------------------------------------------------------------------------------------
    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        company = ctx.company
        assert company is not None
        k = self.kind
        if record.get("_posted"):
            allowed = {"promisedPayDate", "disputeStatus", "disputeStatusId"}
            if set(values) - allowed:
                # Label CannotModifyPostedInvoiceErr of table "Sales Invoice Entity Aggregate".
                raise dialog("The %s has been posted and can no longer be modified." % k.word)
            return company.modify(self.set_name, record, values)
        with company.db.atomic():
            changes: dict[str, Any] = {}
            if k.party_id in values or k.party_no in values:
                party = self._resolve_party(company, values)
                if party is not None and party["id"] != record.get(k.party_id):
                    self._check_blocked(party, "create")
                    changes.update(self._party_fields(company, party))
            number = values.pop("number", None)
            if number is not None and number != record.get("number"):
                company.test_manual(company.series_code(k.series))
                if company.t(self.set_name).check_unique("number", (number, False), record["id"]) is not None:
                    raise already_exists(self.etype.caption, [("No.", number), ("Posted", "No")])
                changes["number"] = number
            changes.update(self._client_values(ctx, values))
            preview = {**record, **changes}
            if (k.date_field in values or "paymentTermsId" in changes) and "dueDate" not in values:
                changes["dueDate"] = self._due_date(company, preview)
            if "shortcutDimension1Code" in values or "shortcutDimension2Code" in values:
                self._apply_shortcuts(ctx, preview, values)
                company.modify(self.set_name, record, changes)
                self.write_dims(ctx, record, preview["_dims"])
            else:
                company.modify(self.set_name, record, changes)
            self.recalc(ctx, record)
            return record

    def delete(self, ctx: Ctx, record: dict) -> None:
        company = ctx.company
        assert company is not None
        if record.get("_posted"):
            raise dialog("The %s has been posted and can no longer be deleted." % self.kind.word)  # inferred
        lines = company.t(self.kind.lines_set)
        for line in lines.by_index("documentId", record["id"]):
            lines.delete(line)
        company.t(self.set_name).delete(record)

    # -- totals ----------------------------------------------------------------------------------------------
    def recalc(self, ctx: Ctx, header: dict) -> None:
        """Line amounts, tax, invoice discount allocation and header totals (all read-only fields)."""
        company = ctx.company
        assert company is not None
        k = self.kind
        lines_table = company.t(k.lines_set)
        lines = lines_table.by_index("documentId", header["id"])
        priced = [ln for ln in lines if ln.get("lineType", COMMENT) != COMMENT]
        base_total = sum(ln.get("amountExcludingTax", 0) for ln in priced)
        discount = header.get("discountAmount", 0) or 0
        remaining = discount
        totals = {"net": 0.0, "tax": 0.0, "gross": 0.0}
        for i, ln in enumerate(priced):
            amount = ln.get("amountExcludingTax", 0)
            if i == len(priced) - 1:
                alloc = round2(remaining)
            else:
                alloc = round2(discount * amount / base_total) if base_total else 0
            remaining -= alloc
            pct = company.tax_percent(header.get("_taxAreaCode", ""), header.get("_taxLiable", False),
                                      ln.get("taxCode", ""))
            net = round2(amount - alloc)
            net_tax = round2(net * pct / 100)
            changes = {
                "taxPercent": pct,
                "totalTaxAmount": round2(amount * pct / 100),
                "amountIncludingTax": round2(amount + round2(amount * pct / 100)),
                "invoiceDiscountAllocation": alloc,
                "netAmount": net,
                "netTaxAmount": net_tax,
                "netAmountIncludingTax": round2(net + net_tax),
                "discountAppliedBeforeTax": True,
            }
            if any(ln.get(key) != v for key, v in changes.items()):
                lines_table.update(ln, changes)
            totals["net"] += net
            totals["tax"] += net_tax
        header_changes = {
            "totalAmountExcludingTax": round2(totals["net"]),
            "totalTaxAmount": round2(totals["tax"]),
            "totalAmountIncludingTax": round2(totals["net"] + totals["tax"]),
        }
        if "remainingAmount" in self.etype.props:
            header_changes["remainingAmount"] = header_changes["totalAmountIncludingTax"]
        if any(header.get(key) != v for key, v in header_changes.items()):
            company.modify(self.set_name, header, header_changes)

    # -- posting ---------------------------------------------------------------------------------------------
    def action(self, ctx: Ctx, record: dict, name: str) -> None:
        if name != "Microsoft.NAV.post":
            if name in self.etype.actions:
                raise not_implemented("the bound action '%s'" % name)
            raise query_error("Could not find a property named '%s' on type '%s'." % (name, self.etype.qualified))
        company = ctx.company
        assert company is not None
        with company.db.atomic():
            self.post(ctx, record)

    def post(self, ctx: Ctx, header: dict) -> None:
        company = ctx.company
        assert company is not None
        k = self.kind
        if header.get("_posted"):
            raise dialog("The action can be applied to a draft %s only." % k.word)
        lines = company.t(k.lines_set).by_index("documentId", header["id"])
        if not lines:
            # APIV2 - Send Sales Document: ThereIsNothingToSellInvoiceErr / NoLineErr of the credit memo page
            raise dialog("Please add at least one line item to the %s." % k.word)
        priced = [ln for ln in lines if ln.get("lineType", COMMENT) != COMMENT]
        if any(not ln.get("quantity") for ln in priced):
            # Lines Instruction Mgt.: LinesMissingQuantityErr
            raise dialog("One or more document lines with a value in the No. field do not have a quantity "
                         "specified.")
        if not priced:
            raise dialog("There is nothing to post.")  # Sales-Post / Purch.-Post DocumentErrorsMgt text
        party = company.t(k.party_set).get(header.get(k.party_id, ""))
        if party is None:
            raise dialog(k.party_not_found)
        self._check_blocked(party, "post")
        key = "No.=%s" % party["number"]
        if not party.get("_genBusPostingGroup"):
            raise must_have_value("Gen. Bus. Posting Group", k.party_caption, key)
        group_field, group_caption = (("_customerPostingGroup", "Customer Posting Group") if k.sales
                                      else ("_vendorPostingGroup", "Vendor Posting Group"))
        if not party.get(group_field):
            raise must_have_value(group_caption, k.party_caption, key)
        self._check_posting_date(company, header)
        doc_desc = "%s %s" % (k.gl_doc_type, header.get("number", ""))
        self._check_dims(company, header, lines, doc_desc)
        posted_no = company.next_no(company.series_code(k.posted_series), company.t(self.set_name), "number",
                                    (True,))
        self._post_gl(ctx, header, party, priced, posted_no)
        changes = {"number": posted_no, "status": OPEN, "_posted": True}
        if "remainingAmount" in self.etype.props:
            changes["remainingAmount"] = header.get("totalAmountIncludingTax", 0)
        company.modify(self.set_name, header, changes)

    def _check_posting_date(self, company: Company, header: dict) -> None:
        setup = company.gl_setup()
        start, end = setup.get("allowPostingFrom", "0001-01-01"), setup.get("allowPostingTo", "0001-01-01")
        pdate = header.get("postingDate", "")
        if (start != "0001-01-01" and pdate < start) or (end != "0001-01-01" and pdate > end):
            raise dialog("Posting Date is not within your range of allowed posting dates.")

    def _check_dims(self, company: Company, header: dict, lines: list[dict], doc_desc: str) -> None:
        """Blocked dimension values fail at posting (text inferred from DimMgt's 'dimensions used in ... are
        invalid' family)."""
        for rec in [header] + lines:
            for dim_id, (value_id, _rv) in rec.get("_dims", {}).items():
                dim, value = company.dimension(dim_id), company.dimension_value(value_id)
                if dim is None or value is None:
                    continue
                try:
                    check_usable(company, dim, value)
                except BcApiError as err:
                    raise dialog("The dimensions used in %s are invalid. %s" % (doc_desc, err.message)) from err

    def _post_gl(self, ctx: Ctx, header: dict, party: dict, lines: list[dict], doc_no: str) -> None:
        company = ctx.company
        assert company is not None
        k = self.kind
        pdate = header.get("postingDate") or company.clock.today()
        desc = "%s %s" % (k.gl_doc_type, header.get("number", ""))
        # Sales: revenue credited (negative), purchases: expense debited; credit memos reverse the sign.
        sign = (-1 if k.sales else 1) * k.sign
        accounts = company.posting_accounts
        for ln in lines:
            if ln.get("lineType") == ACCOUNT:
                account_no = ln.get("lineObjectNumber", "")
            else:
                item = company.t("items").get(ln.get("itemId", ""))
                group = company.by_code("generalProductPostingGroups",
                                        item.get("generalProductPostingGroupCode", "") if item else "")
                purpose = "_salesAccount" if k.sales else "_purchaseAccount"
                account_no = (group or {}).get(purpose) or accounts.get("sales" if k.sales else "purchases", "")
            post_gl_entry(company, posting_date=pdate, doc_type=k.gl_doc_type, doc_no=doc_no,
                          account_no=account_no, description=ln.get("description") or desc,
                          amount=sign * ln.get("netAmount", 0), dims=ln.get("_dims", {}))
        tax = header.get("totalTaxAmount", 0)
        if tax:
            purpose = ("sales" if k.sales else "purchase") + ("Vat" if company.uses_vat else "Tax")
            tax_account = accounts.get(purpose, "")
            post_gl_entry(company, posting_date=pdate, doc_type=k.gl_doc_type, doc_no=doc_no,
                          account_no=tax_account, description=desc, amount=sign * tax, dims=header.get("_dims", {}))
        if k.sales:
            group = company.by_code("customerPostingGroups", party.get("_customerPostingGroup", ""))
            balance_account = (group or {}).get("receivablesAccount") or accounts.get("receivables", "")
        else:
            group = company.by_code("vendorPostingGroups", party.get("_vendorPostingGroup", ""))
            balance_account = (group or {}).get("payablesAccount") or accounts.get("payables", "")
        post_gl_entry(company, posting_date=pdate, doc_type=k.gl_doc_type, doc_no=doc_no,
                      account_no=balance_account, description=desc,
                      amount=-sign * header.get("totalAmountIncludingTax", 0), dims=header.get("_dims", {}))


class LineBehavior(Behavior):
    """Document lines, under their document or top-level with a documentId filter."""

    deep_navs = ("dimensionSetLines",)

    def __init__(self, etype: Any, kind: DocKind) -> None:
        super().__init__(etype)
        self.kind = kind
        self.set_name = kind.lines_set
        self.navigations = {
            "dimensionSetLines": ("dims", "dimensionSetLines", ""),
            "item": ("lookup", "items", "itemId"),
            "account": ("lookup", "accounts", "accountId"),
        }
        if "unitOfMeasureId" in etype.props:
            self.navigations["unitOfMeasure"] = ("lookup", "unitsOfMeasure", "unitOfMeasureId")

    def key_fields(self, key: str) -> list[tuple[str, str]]:
        return [("SystemId", key)]

    def _header(self, ctx: Ctx, line: dict) -> dict | None:
        assert ctx.company is not None
        return ctx.company.t(self.kind.header_set).get(line.get("documentId", ""))

    def dims_writable(self, ctx: Ctx, line: dict) -> bool:
        header = self._header(ctx, line)
        return header is None or not header.get("_posted")

    def check_list(self, source: Source, conjuncts: list[tuple[str, str, Any]]) -> None:
        if getattr(source, "parent_field", None) is None and getattr(source, "only_id", None) is None:
            if not any(op == "eq" and key in ("documentId", "id") for key, op, _ in conjuncts):
                raise dialog("You must specify an Id or a Document Id to get the lines.")

    def write_dims(self, ctx: Ctx, line: dict, dims: dict) -> None:
        assert ctx.company is not None
        header = self._header(ctx, line)
        if header is not None and header.get("_posted"):
            raise dialog("The %s has been posted and can no longer be modified." % self.kind.word)
        ctx.company.modify(self.set_name, line, {"_dims": dims})

    # -- create ----------------------------------------------------------------------------------------------
    def create(self, ctx: Ctx, values: dict, navs: dict, parent: dict | None, *, recalc: bool = True) -> dict:
        company = ctx.company
        assert company is not None
        k = self.kind
        header = parent
        if header is None:
            doc_id = values.get("documentId")
            if not doc_id:
                raise dialog("You must specify a document id to create a line.")  # inferred
            header = company.t(k.header_set).get(doc_id)
            if header is None:
                raise dialog('The "documentId" does not match to a %s.' % self.kind.word.title())  # inferred
        if header.get("_posted"):
            raise dialog("The %s has been posted and can no longer be modified." % k.word)
        with company.db.atomic():
            table = company.t(self.set_name)
            record: dict[str, Any] = {"id": new_guid(), "documentId": header["id"]}
            seq = values.get("sequence")
            existing = table.by_index("documentId", header["id"])
            if seq is None or seq == 0:
                seq = (max((ln.get("sequence", 0) for ln in existing), default=0) // 10000 + 1) * 10000
            elif table.check_unique("sequence", (header["id"], seq)) is not None:
                raise already_exists(self.etype.caption, [("Document Id", header["id"]), ("Line No.", str(seq))])
            record["sequence"] = seq
            record.update(self._resolve(ctx, header, {}, values))
            record["_dims"] = {**header.get("_dims", {})}
            line = company.insert(self.set_name, record)
            dim_source = DimSetSource(ctx, self, line)
            dim_type = ctx.types["dimensionSetLines"]
            for raw in navs.get("dimensionSetLines", []):
                dvals, _ = coerce_body(dim_type, raw)
                dim_source.insert(ctx, dvals, {})
            if recalc:
                ctx.behavior(k.header_set).recalc(ctx, header)  # type: ignore[attr-defined]
            return line

    def _resolve(self, ctx: Ctx, header: dict, current: dict, values: dict) -> dict[str, Any]:
        """Line type, item/account, unit of measure, tax code, prices and line amount from the written values."""
        company = ctx.company
        assert company is not None
        k = self.kind
        merged = {**current, **values}
        out = dict(values)
        if merged.get("itemId", EMPTY_GUID) != EMPTY_GUID and merged.get("accountId", EMPTY_GUID) != EMPTY_GUID \
                and ("itemId" in values or "accountId" in values):
            raise dialog('Both "itemId" and "accountId" are specified. Specify only one of them.')
        line_type = values.get("lineType")
        if line_type is None:
            if values.get("itemId", EMPTY_GUID) != EMPTY_GUID:
                line_type = ITEM
            elif values.get("accountId", EMPTY_GUID) != EMPTY_GUID:
                line_type = ACCOUNT
            else:
                line_type = current.get("lineType", COMMENT)
        out["lineType"] = line_type
        if line_type not in (ITEM, ACCOUNT, COMMENT):
            raise not_implemented("lines of type '%s'" % line_type)
        if line_type == COMMENT:
            if merged.get("lineObjectNumber"):
                # The AL page validates lineObjectNumber against the line type set before it; with no
                # lineType the line is a comment and the number names nothing (text inferred).
                raise dialog('The "lineObjectNumber" cannot be used on a Comment line. Set "lineType" to '
                             '"Item" or "Account".')
            out["quantity"] = 0
            return out
        obj = None
        if line_type == ITEM:
            items = company.t("items")
            if values.get("itemId", EMPTY_GUID) != EMPTY_GUID:
                obj = items.get(values["itemId"])
                if obj is None:
                    raise dialog("Item does not exist.")
            if "lineObjectNumber" in values:
                by_no = items.find("number", values["lineObjectNumber"])
                if by_no is None or (obj is not None and by_no["id"] != obj["id"]):
                    raise dialog("Item does not exist.")
                obj = by_no
            if obj is None:
                obj = items.get(current.get("itemId", "")) if current else None
            if obj is None:
                raise dialog("Item does not exist.")
            if obj.get("blocked"):
                raise must_be_equal("Blocked", "No", "Item", "No.=%s" % obj["number"], "Yes")
            if k.sales and obj["id"] != current.get("itemId") and not obj.get("generalProductPostingGroupCode"):
                # Sales Line "No." OnValidate: Item.TestField("Gen. Prod. Posting Group") (text inferred from the
                # TestField format).
                raise must_have_value("Gen. Prod. Posting Group", "Item", "No.=%s" % obj["number"])
            out.update({"itemId": obj["id"], "accountId": EMPTY_GUID, "lineObjectNumber": obj["number"]})
        else:
            accounts = company.t("accounts")
            if values.get("accountId", EMPTY_GUID) != EMPTY_GUID:
                obj = accounts.get(values["accountId"])
                if obj is None:
                    raise dialog("Account does not exist.")
            if "lineObjectNumber" in values:
                by_no = accounts.find("number", values["lineObjectNumber"])
                if by_no is None or (obj is not None and by_no["id"] != obj["id"]):
                    raise dialog("Account does not exist.")
                obj = by_no
            if obj is None:
                obj = accounts.get(current.get("accountId", "")) if current else None
            if obj is None:
                raise dialog("Account does not exist.")
            key = "No.=%s" % obj["number"]
            if obj.get("accountType", "Posting") != "Posting":
                raise must_be_equal("Account Type", "Posting", "G/L Account", key,
                                    obj["accountType"].replace("_x002D_", "-"))
            if obj.get("blocked"):
                raise must_be_equal("Blocked", "No", "G/L Account", key, "Yes")
            if not obj.get("directPosting", True):
                raise must_be_equal("Direct Posting", "Yes", "G/L Account", key, "No")
            out.update({"accountId": obj["id"], "itemId": EMPTY_GUID, "lineObjectNumber": obj["number"]})
        new_object = obj["id"] != current.get("itemId" if line_type == ITEM else "accountId")
        if new_object:
            out.setdefault("description", obj.get("displayName", "")[:100])
            if line_type == ITEM:
                default_price = obj.get("unitPrice", 0) if k.sales else obj.get("unitCost", 0)
                out.setdefault(k.price_field, default_price)
                if not values.get("unitOfMeasureCode") and values.get("unitOfMeasureId", EMPTY_GUID) == EMPTY_GUID:
                    out["unitOfMeasureCode"] = obj.get("baseUnitOfMeasureCode", "")
            if "taxCode" not in values:
                default_tax = obj.get("taxGroupCode", "") if line_type == ITEM else obj.get("_taxGroupCode", "")
                if company.uses_vat:
                    default_tax = obj.get("_vatProdPostingGroup", "")
                out["taxCode"] = default_tax
        self._unit_of_measure(company, obj, line_type, out)
        self._tax_code(company, out)
        self._amounts({**current, **out}, out)
        return out

    def _unit_of_measure(self, company: Company, obj: dict, line_type: str, out: dict) -> None:
        units = company.t("unitsOfMeasure")
        uom = None
        if out.get("unitOfMeasureId", EMPTY_GUID) != EMPTY_GUID:
            uom = units.get(out["unitOfMeasureId"])
            if uom is None:
                raise dialog('The "unitOfMeasureId" does not match to a Unit of Measure.')  # inferred
        code = out.get("unitOfMeasureCode")
        if code:
            by_code = units.find("code", code)
            if by_code is None:
                raise table_relation("Unit of Measure Code", self.kind.line_table_caption, code, "Unit of Measure")
            if uom is not None and uom["id"] != by_code["id"]:
                raise dialog("The unit of measure values do not match to a specific Unit of Measure.")  # inferred
            uom = by_code
        if uom is None:
            if "unitOfMeasureCode" in out or "unitOfMeasureId" in out:
                out["unitOfMeasureCode"], out["unitOfMeasureId"] = "", EMPTY_GUID
            return
        if line_type == ITEM and uom["code"] not in obj.get("_unitsOfMeasure", (obj.get("baseUnitOfMeasureCode"),)):
            raise table_relation("Unit of Measure Code", self.kind.line_table_caption, uom["code"],
                                 "Item Unit of Measure")
        out["unitOfMeasureCode"], out["unitOfMeasureId"] = uom["code"], uom["id"]

    def _tax_code(self, company: Company, out: dict) -> None:
        """taxCode validates a VAT Prod. Posting Group (UseVat) or a Tax Group Code (docs/business-central.md §7)."""
        code = out.get("taxCode")
        if not code:
            return
        if company.t("taxGroups").find("code", code[:20]) is None:
            if company.uses_vat:
                raise table_relation("VAT Prod. Posting Group", self.kind.line_table_caption, code[:20],
                                     "VAT Product Posting Group")
            raise table_relation("Tax Group Code", self.kind.line_table_caption, code[:20], "Tax Group")

    def _amounts(self, merged: dict, out: dict) -> None:
        price_field = self.kind.price_field
        qty = merged.get("quantity", 0) or 0
        price = merged.get(price_field, 0) or 0
        gross = round2(qty * price)
        if "discountAmount" in out and "discountPercent" not in out:
            disc = out["discountAmount"]
            out["discountPercent"] = round(disc * 100 / gross, 5) if gross else 0
        else:
            pct = merged.get("discountPercent", 0) or 0
            disc = round2(gross * pct / 100)
            out["discountAmount"] = disc
        out["amountExcludingTax"] = round2(gross - disc)

    # -- update / delete -------------------------------------------------------------------------------------
    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        company = ctx.company
        assert company is not None
        header = self._header(ctx, record)
        if header is not None and header.get("_posted"):
            raise dialog("The %s has been posted and can no longer be modified." % self.kind.word)
        if "sequence" in values and values["sequence"] != record.get("sequence"):
            raise dialog('The value for "sequence" cannot be modified. Delete and insert the line again.')
        if "documentId" in values and values["documentId"] != record.get("documentId"):
            raise dialog('The value for "documentId" cannot be modified.')
        if "lineObjectNumber" in values and record.get("lineObjectNumber") and \
                values["lineObjectNumber"] != record.get("lineObjectNumber"):
            raise dialog('The value for "lineObjectNumber" cannot be modified.')
        with company.db.atomic():
            changes = self._resolve(ctx, header or {}, record, values)
            company.modify(self.set_name, record, changes)
            if header is not None:
                ctx.behavior(self.kind.header_set).recalc(ctx, header)  # type: ignore[attr-defined]
            return record

    def delete(self, ctx: Ctx, record: dict) -> None:
        company = ctx.company
        assert company is not None
        header = self._header(ctx, record)
        if header is not None and header.get("_posted"):
            raise dialog("The %s has been posted and can no longer be modified." % self.kind.word)
        company.t(self.set_name).delete(record)
        if header is not None:
            ctx.behavior(self.kind.header_set).recalc(ctx, header)  # type: ignore[attr-defined]
