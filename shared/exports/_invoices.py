"""Sales invoices: one deep-insert POST with every line and the header's dimensions.

Mapping (docs/contract.md §2/§4, docs/business-central.md §1, §6, §7):
- Customer: the ledger's BC id of the message's customer snapshot; the snapshot is exported first when
  the ledger does not know it. With customer export disabled, the snapshot's BC number is used.
- Products: with `products.enabled`, a line's product snapshot (one with an `id`) the ledger does not know
  is exported first as an item (`_products.py`, one POST); a known one costs nothing.
- `externalDocumentNumber` = the host invoice id (Code[35], upper-case): the idempotency key, kept on
  posting. With `defaults.useHostInvoiceNumber`, `number` = the host invoice id too (Manual Nos.).
- invoiceDate → invoiceDate and postingDate; dueDate; currencyCode; yourReference →
  customerPurchaseOrderReference (Text[35], shortened with a warning).
- Lines: `lineType` Item with `lineObjectNumber` = the product's number, or `defaults.writeInItem` for a
  line without a product; `unitOfMeasureCode` = the line's unit, else the product snapshot's `unit` (or
  `products.baseUnit` for a snapshot without one: the item's base unit), else `defaults.unitOfMeasure`; quantity,
  unitPrice, discountPercent; description (Text[100], shortened with a warning). US sales tax:
  `taxCode` = `defaults.taxGroupCode`, none when taxes are disabled; VAT: no US tax fields (the item's
  VAT Prod. Posting Group applies).
- Dimensions on the header only (the sandbox's inferred rule, as BC's CreateDim: lines inherit the
  header's dimensions; a line repeating one is a duplicate): the project as a value of
  `projects.dimension`, the department of `invoices.departmentDimension` from the invoice's department
  or from the project tag group `invoices.departmentTagGroup`. A global dimension (Shortcut Dimension
  1/2 in the G/L setup, cached per worker) is written as `shortcutDimension1Code/2Code`, which overrides
  a customer's default dimension; any other as a header `dimensionSetLines` entry, and if a customer
  default already put that dimension on the invoice (BC: "The dimension set line already exists"),
  the invoice is created without it and the value PATCHed afterwards.
- Everything is sent by code (item number, unit code, dimension value code): BC resolves them inside the
  one request, so no look-up precedes it. A BC refusal is attributed to the host field afterwards,
  by the value BC names or, for "Item does not exist." and an unknown dimension value, one diagnostic
  read.

BC requests: a new invoice 1 (2 for the first one of a worker: the G/L setup), +1 per new product; with `invoices.post`
+2 (the action answers 204, so the posted number is read back); an update of a draft 2 (GET with lines,
then one `$batch` with `Isolation: snapshot` that PATCHes the header and changed lines, deletes extra
lines and inserts new ones); unchanged content 0. A posted invoice is never changed: the outcome is
`failed` with code `InvoicePosted`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from shared.bc import (
    BcConflictError,
    BcNotFoundError,
    BcPermanentError,
    decode_error,
    eq,
)
from shared.bc._batch import BatchOperation, child_url, entity_url, get, patch, post, query_url
from shared.bc._batch import delete as delete_op
from shared.errors import TransientError
from shared.jsontypes import JsonObject, JsonValue
from shared.messages import UNSET, InvoiceData, ProjectData, Version, shorten

from ._context import ExportContext, ExportResult
from ._customers import export_customer
from ._entity import Attempt, EntityJob, EntityRun, Work, content_hash
from ._errors import BcHas, Candidate, ExportFailed, attribute_field, failed_from_bc
from ._ledger import LedgerRow
from ._products import export_product
from ._projects import export_project

__all__ = ["INVOICE", "InvoicePlan", "plan_invoice", "export_invoice"]

log = logging.getLogger(__name__)

INVOICE = "invoice"
_ALREADY_EXISTS = "Internal_EntityWithSameKeyExists"
_DIMENSION_LINE_EXISTS = "The dimension set line already exists"
_DRAFT_STATUSES = {"Draft", "In_x0020_Review", "In Review"}
#: Code fields: BC stores them upper-case, so they compare upper-case.
_CODE_FIELDS = frozenset({"externalDocumentNumber", "currencyCode", "customerNumber", "shortcutDimension1Code",
                          "shortcutDimension2Code", "lineObjectNumber", "unitOfMeasureCode", "taxCode"})


@dataclass
class InvoicePlan:
    host_id: str
    number: str | None
    customer: dict[str, str]  # {"customerId": …} or {"customerNumber": …}
    header: JsonObject
    lines: list[JsonObject]
    dims: dict[str, str]  # dimension code -> value code
    #: For attributing BC's errors: (host field, words naming it, value sent), per line and header.
    sources: list[Candidate] = field(default_factory=list)
    line_items: list[tuple[str, str]] = field(default_factory=list)  # (host field, item number) per line
    dim_fields: dict[str, str] = field(default_factory=dict)  # dimension code -> host field

    @property
    def digest(self) -> str:
        return content_hash({"number": self.number, "customer": self.customer, "header": self.header,
                             "lines": self.lines, "dims": self.dims})


def plan_invoice(ctx: ExportContext, data: InvoiceData, customer: dict[str, str]) -> InvoicePlan:
    """What BC should hold for this invoice; warnings for values that had to be shortened."""
    settings, record = ctx.settings, ctx.record
    number = _host_number(ctx, data)
    header: JsonObject = {"externalDocumentNumber": data.id.upper()}
    if data.invoice_date:
        header["invoiceDate"] = data.invoice_date
        header["postingDate"] = data.invoice_date
    if data.due_date:
        header["dueDate"] = data.due_date
    if data.currency_code is not UNSET:
        header["currencyCode"] = data.currency_code
    if data.your_reference is not UNSET:
        reference, cut = shorten(data.your_reference, 35)
        if cut:
            ctx.warn(f"yourReference was shortened to Business Central's 35 characters: '{reference}'.")
        header["customerPurchaseOrderReference"] = reference
    tax_code = settings.tax_group_code if record.tax_mode == "salesTax" else None
    lines: list[JsonObject] = []
    sources: list[Candidate] = []
    items: list[tuple[str, str]] = []
    units: list[Candidate] = []
    for line in data.lines:
        where = f"data.lines[{line.index}]"
        if line.product_number is not UNSET:
            item, item_field = line.product_number, f"{where}.product.number"
        else:
            item, item_field = settings.write_in_item, "defaults.writeInItem"
        snapshot = line.product
        if line.unit_of_measure is not UNSET:
            unit, unit_field = line.unit_of_measure, f"{where}.unitOfMeasure"
        elif snapshot is not UNSET and snapshot.unit is not UNSET:
            # The line's unit must be one of the item's units: the product's own unit is its base unit.
            unit, unit_field = snapshot.unit, f"{where}.product.unit"
        elif snapshot is not UNSET and settings.products_enabled and settings.product_base_unit:
            unit, unit_field = settings.product_base_unit, "products.baseUnit"
        else:
            unit, unit_field = settings.unit_of_measure, "defaults.unitOfMeasure"
        out: JsonObject = {"sequence": (line.index + 1) * 10000, "lineType": "Item", "lineObjectNumber": item}
        text = line.description if line.description else line.product_name
        if text:
            description, cut = shorten(text, 100)
            if cut:
                ctx.warn(f"The description of line {line.index + 1} was shortened to Business Central's 100 "
                         "characters.")
            out["description"] = description
        out["quantity"] = line.quantity
        out["unitPrice"] = line.unit_price
        out["discountPercent"] = line.discount_percent if line.discount_percent is not UNSET else 0
        out["unitOfMeasureCode"] = unit
        if tax_code:
            out["taxCode"] = tax_code
        lines.append(out)
        items.append((item_field, item))
        units.append((unit_field, (), unit))
        sources.append((item_field, (), item))
    dims, dim_fields = _dimensions(ctx, data)
    sources = ([("data.id", ("enter numbers manually", "No. Series", '"number"'), number)] if number else []) + [
        ("data.id", ('"externalDocumentNumber"', "External Document No."), header["externalDocumentNumber"]),
        ("defaults.taxGroupCode", ("Tax Group", "VAT Prod. Posting Group", '"taxCode"'), tax_code),
        ("data.currencyCode", ('"currencyCode"', "Currency"), header.get("currencyCode")),
        ("data.invoiceDate", ("Posting Date", '"postingDate"', '"invoiceDate"'), header.get("invoiceDate")),
        ("data.dueDate", ('"dueDate"',), header.get("dueDate")),
        ("data.customer", ("Customer", "customer"), None),
    ] + [(dim_fields[d], (), v) for d, v in dims.items()] + sources + units
    return InvoicePlan(host_id=data.id, number=number, customer=customer, header=header, lines=lines, dims=dims,
                       sources=sources, line_items=items, dim_fields=dim_fields)


def _host_number(ctx: ExportContext, data: InvoiceData) -> str | None:
    if not ctx.settings.use_host_invoice_number:
        return None
    number = data.id.upper()
    if len(number) > 20:
        raise ExportFailed("HostNumberTooLong", f"The invoice id is {len(number)} characters long; with "
                           "defaults.useHostInvoiceNumber it becomes the BC invoice number, which holds at most 20 "
                           "characters. Switch the setting off (BC then numbers the invoice) and replay, or use "
                           "shorter ids.", "data.id", replayable=True)
    return number


def _dimensions(ctx: ExportContext, data: InvoiceData) -> tuple[dict[str, str], dict[str, str]]:
    settings = ctx.settings
    dims: dict[str, str] = {}
    fields: dict[str, str] = {}
    if data.project is not UNSET:
        if settings.project_dimension:
            dims[settings.project_dimension] = data.project.number
            fields[settings.project_dimension] = "data.project.number"
        else:
            ctx.warn("The invoice names a project, but no projects.dimension is set, so it carries no project "
                     "dimension.")
    dimension = settings.department_dimension
    if dimension:
        code, where = None, None
        if settings.department_source == "projectTagGroup":
            wanted = (settings.department_tag_group or "").strip().lower()
            for i, tag in enumerate(data.project_tags):
                if tag.group.strip().lower() == wanted:
                    code, where = tag.value.upper(), f"data.projectTags[{i}].value"
                    break
        elif data.department is not UNSET:
            code, where = data.department.code, "data.department.code"
        if code is not None and where is not None:
            if len(code) > 20:
                raise ExportFailed("InvalidMessage", f"is {len(code)} characters long; a dimension value code "
                                   "holds at most 20", where)
            if dimension in dims and dims[dimension] != code:
                ctx.warn(f"projects.dimension and invoices.departmentDimension are both {dimension}; the "
                         "project's value was kept.")
            else:
                dims[dimension] = code
                fields[dimension] = where
    return dims, fields


def export_invoice(ctx: ExportContext, data: InvoiceData, *, version: Version | None) -> ExportResult:
    settings = ctx.settings
    _host_number(ctx, data)  # checks that need no BC come before the customer and project are written
    _dimensions(ctx, data)
    customer = _customer_ref(ctx, data)
    if data.project is not UNSET and settings.projects_enabled and settings.project_dimension and data.project.id:
        name = data.project.name if data.project.name else data.project.number
        export_project(ctx, ProjectData(id=data.project.id, number=data.project.number, name=name),
                       version=None, snapshot=True, prefix="data.project")
    _export_products(ctx, data)
    plan = plan_invoice(ctx, data, customer)
    post = bool(settings.post_invoices)

    return EntityRun(ctx, _InvoiceJob(ctx, plan, post), version).run()


class _InvoiceJob(EntityJob):
    kind = INVOICE

    def __init__(self, ctx: ExportContext, plan: InvoicePlan, post: bool) -> None:
        self.ctx, self.plan, self.post = ctx, plan, post
        self.host_id, self.digest = plan.host_id, plan.digest

    def is_current(self, row: LedgerRow) -> bool:
        return not self.post or bool(row.details.get("posted"))

    def refusal(self, row: LedgerRow) -> ExportFailed | None:
        if row.bc_id and row.details.get("posted") and row.content_hash != self.digest:
            return _posted_error(row.bc_id, row.bc_number)
        return None

    def work(self, attempt: Attempt) -> Work:
        return _Writer(self.ctx, attempt, self.plan, self.post).run()


def _posted_error(bc_id: str | None, bc_number: str | None) -> ExportFailed:
    return ExportFailed(
        "InvoicePosted",
        f"Invoice {bc_number or bc_id} is posted in Business Central; a posted invoice is never changed. "
        "Correct it in BC with a sales credit memo.", "data", bc=BcHas(bc_id, bc_number),
        ledger_details={"posted": True})


def _export_products(ctx: ExportContext, data: InvoiceData) -> None:
    """Line products the ledger does not know yet become items first (one POST each); with products.enabled
    off, a line's product is only named by its number, as BC must already have it."""
    if not ctx.settings.products_enabled:
        return
    seen: set[str] = set()
    for line in data.lines:
        product = line.product
        if product is UNSET or product.id in seen:
            continue
        seen.add(product.id)
        export_product(ctx, product, version=None, snapshot=True, prefix=f"data.lines[{line.index}].product")


def _customer_ref(ctx: ExportContext, data: InvoiceData) -> dict[str, str]:
    if ctx.settings.customers_enabled:
        result = export_customer(ctx, data.customer, version=None, snapshot=True, prefix="data.customer")
        if result.bc_id:
            return {"customerId": result.bc_id}
        if result.bc_number:
            return {"customerNumber": result.bc_number}
    if data.customer.number is not UNSET:
        return {"customerNumber": data.customer.number}
    raise ExportFailed("CustomerUnknown", "Customer export is off (customers.enabled is false), so the invoice "
                       "needs the customer's Business Central number in data.customer.number.",
                       "data.customer.number")


class _Writer:
    """The BC work of one claimed invoice attempt."""

    def __init__(self, ctx: ExportContext, attempt: Attempt, plan: InvoicePlan, post: bool) -> None:
        self.ctx, self.attempt, self.plan, self.post = ctx, attempt, plan, post
        self.client = ctx.client()
        self.cid = ctx.company_id
        previous = attempt.previous
        self.details: JsonObject = dict(previous.details) if previous and previous.details else {}

    # -- flow -------------------------------------------------------------------------------------

    def run(self) -> Work:
        previous = self.attempt.previous
        bc_id = previous.bc_id if previous else None
        existing = None
        adopted = False
        if bc_id:
            existing = self._get(bc_id)
        elif self.attempt.lookup_needed:
            existing = self._find()
            adopted = existing is not None
        if existing is not None:
            return self._existing(existing, adopted)
        return self._create()

    def _create(self) -> Work:
        shortcuts = self.ctx.lookups.shortcut_dimensions(self.client, self.ctx.connector, self.cid)
        body = self._body(shortcuts)
        late_dims: dict[str, str] = {}
        try:
            created = self.client.create_entity(self.cid, "salesInvoices", body)
        except BcPermanentError as err:
            if _DIMENSION_LINE_EXISTS in err.message and body.get("dimensionSetLines"):
                # A customer default dimension is on the invoice already: create without ours, then set them.
                late_dims = {str(line["code"]): str(line["valueCode"]) for line in _objects(body.pop("dimensionSetLines"))}
                try:
                    created = self.client.create_entity(self.cid, "salesInvoices", body)
                except BcPermanentError as again:
                    raise self._failed(again) from again
            elif err.code == _ALREADY_EXISTS and self.plan.number:
                existing = self._find()
                if existing is None:
                    raise ExportFailed(err.code, f"Business Central already has an invoice numbered "
                                       f"{self.plan.number} for another external document number. {err.message}",
                                       "data.id") from err
                return self._existing(existing, adopted=True)
            else:
                raise self._failed(err) from err
        bc_id, number = created["id"], created.get("number")
        self.attempt.created(bc_id, number)
        if late_dims:
            self._set_dimensions(bc_id, late_dims)
        self.details.update(posted=False, dims=dict(self.plan.dims), draftNumber=number)
        if self.post:
            number = self._post(bc_id, number)
        return Work("created", bc_id, number, self.details)

    def _existing(self, invoice: JsonObject, adopted: bool) -> Work:
        bc_id, number = invoice["id"], invoice.get("number")
        previous = self.attempt.previous
        if not _is_draft(invoice):
            self.details["posted"] = True
            if adopted or (previous is not None and previous.content_hash == self.plan.digest):
                return Work("created" if adopted else "unchanged", bc_id, number, self.details)
            raise _posted_error(bc_id, number)
        for _ in range(3):
            ops = self._update_operations(invoice)
            if not ops:
                break
            try:
                self._run_batch(ops)
                break
            except BcConflictError:
                invoice = self._get(bc_id)  # changed in BC between our read and our write: read again
                if invoice is None or not _is_draft(invoice):
                    raise TransientError(f"Invoice {number} changed in Business Central while it was being "
                                         "updated; the message is retried.") from None
        else:
            raise TransientError(f"Invoice {number} kept changing in Business Central; the message is retried.")
        changed = bool(ops)
        self.details.update(posted=False, dims=dict(self.plan.dims), draftNumber=number)
        if self.post:
            number = self._post(bc_id, number)
        if adopted:
            status = "updated" if changed else "created"  # an unfinished attempt had created it: ours
        else:
            status = "updated" if changed or self.post else "unchanged"
        return Work(status, bc_id, number, self.details)

    # -- reads ------------------------------------------------------------------------------------

    _EXPAND = "salesInvoiceLines,dimensionSetLines"

    def _get(self, bc_id: str) -> JsonObject | None:
        try:
            return self.client.get_entity(self.cid, f"salesInvoices({bc_id})", expand=self._EXPAND)
        except BcNotFoundError as err:
            if err.code == "Internal_CompanyNotFound":
                raise
            log.warning("Invoice %s (BC id %s) no longer exists in BC; creating it again", self.plan.host_id, bc_id)
            return None

    def _find(self) -> JsonObject | None:
        """The invoice by its idempotency key (drafts and posted ones: the entity spans both)."""
        rows = list(self.client.list_entities(self.cid, "salesInvoices",
                                              filter=eq("externalDocumentNumber", self.plan.header["externalDocumentNumber"]),
                                              expand=self._EXPAND))
        if len(rows) > 1:
            log.warning("BC has %d invoices with external document number %s; using the first", len(rows),
                        self.plan.header["externalDocumentNumber"])
        return rows[0] if rows else None

    # -- writes -----------------------------------------------------------------------------------

    def _body(self, shortcuts: tuple[str, str]) -> JsonObject:
        plan = self.plan
        body: JsonObject = {**plan.customer, **plan.header}
        if plan.number:
            body["number"] = plan.number
        dim_lines: list[JsonValue] = []
        for dimension, value in plan.dims.items():
            if dimension in shortcuts:
                body[_shortcut_field(shortcuts, dimension)] = value
            else:
                dim_lines.append({"code": dimension, "valueCode": value})
        body["salesInvoiceLines"] = [dict(line) for line in plan.lines]
        if dim_lines:
            body["dimensionSetLines"] = dim_lines
        return body

    def _set_dimensions(self, bc_id: str, dims: dict[str, str]) -> None:
        current = {row.get("code"): row for row in
                   self.client.list_entities(self.cid, f"salesInvoices({bc_id})/dimensionSetLines")}
        invoice = entity_url(self.cid, "salesInvoices", bc_id)
        ops = [op for code, value in dims.items()
               if (op := _dimension_operation(invoice, code, value, current.get(code))) is not None]
        if ops:
            self._run_batch(ops)

    def _update_operations(self, invoice: JsonObject) -> list[BatchOperation]:
        """What turns BC's draft into the plan: header PATCH first, then dimension set lines, then lines."""
        url = entity_url(self.cid, "salesInvoices", str(invoice["id"]))
        shortcuts = self.ctx.lookups.shortcut_dimensions(self.client, self.ctx.connector, self.cid)
        ours_before = set(_object(self.details.get("dims")).keys())
        wanted, dim_ops = _dimension_changes(url, self.plan, shortcuts, ours_before,
                                             _by_code(invoice.get("dimensionSetLines")))
        return _header_operations(url, invoice, wanted) + dim_ops + _line_operations(url, self.plan.lines,
                                                                                    invoice.get("salesInvoiceLines"))

    def _run_batch(self, ops: list[BatchOperation]) -> None:
        """All operations in one `$batch`; with Isolation: snapshot (≤ 100) it is all or nothing."""
        snapshot = len(ops) <= 100
        responses = self.client.batch([op.to_request() for op in ops], isolation_snapshot=snapshot)
        failures = [r for r in responses if int(r.get("status") or 0) >= 400]
        if not failures:
            return
        first = next((r for r in failures if int(r.get("status") or 0) != 424), failures[0])
        err = decode_error(first, method="PATCH")
        if isinstance(err, BcPermanentError) and not isinstance(err, BcConflictError):
            raise self._failed(err)
        raise err

    def _post(self, bc_id: str, draft_number: str | None) -> str | None:
        try:
            self.client.invoke_action(self.cid, f"salesInvoices({bc_id})", "Microsoft.NAV.post")
        except BcPermanentError as err:
            field = attribute_field(err.message, [
                ("data.customer", ("Customer", "customer"), None),
                ("data.invoiceDate", ("Posting Date",), None),
                ("data.lines", ("quantity", "line item", "nothing to post"), None),
            ] + [(f, (), v) for f, v in ((self.plan.dim_fields[d], self.plan.dims[d]) for d in self.plan.dims)],
                "data")
            raise failed_from_bc(
                err, field, bc=BcHas(bc_id, draft_number), replayable=True,
                prefix=f"Invoice {draft_number} was created as a draft, but Business Central refused to post it: ",
                ledger_details={"posted": False, "dims": dict(self.plan.dims), "draftNumber": draft_number},
            ) from err
        got = self.client.get_entity(self.cid, f"salesInvoices({bc_id})", select=["number", "status"])
        self.details["posted"] = True
        return got.get("number") or draft_number

    def _failed(self, err: BcPermanentError) -> ExportFailed:
        """BC refused the invoice: name the host field, reading BC once when its text names no value."""
        plan = self.plan
        field = attribute_field(err.message, plan.sources, None)
        if field is None and "Item does not exist" in err.message:
            field = self._missing_item()
        if field is None and "Dimension Value" in err.message:
            field = self._missing_dimension_value()
        return failed_from_bc(err, field or "data")

    def _missing_item(self) -> str | None:
        numbers = sorted({number for _, number in self.plan.line_items})
        found: set[str] = set()
        for start in range(0, len(numbers), 20):
            chunk = numbers[start:start + 20]
            rows = self.client.list_entities(self.cid, "items", filter=" or ".join(eq("number", n) for n in chunk),
                                             select=["number"])
            found.update(str(r.get("number", "")).upper() for r in rows)
        return next((where for where, number in self.plan.line_items if number not in found), None)

    def _missing_dimension_value(self) -> str | None:
        ops = [get(query_url(entity_url(self.cid, "dimensions"), filter=eq("code", code),
                             expand=f"dimensionValues($filter={eq('code', value)};$select=code)", select="code"),
                   id=str(i))
               for i, (code, value) in enumerate(self.plan.dims.items())]
        if not ops:
            return None
        responses = self.client.batch([op.to_request() for op in ops])
        for (code, _), response in zip(self.plan.dims.items(), responses, strict=False):
            rows = ((response.get("body") or {}).get("value") or []) if int(response.get("status") or 0) < 400 else []
            if not rows or not rows[0].get("dimensionValues"):
                return self.plan.dim_fields.get(code)
        return None


# -- the operations of an update, one small function per part ---------------------------------------


def _object(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _objects(value: JsonValue) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _by_code(rows: JsonValue) -> dict[str, JsonObject]:
    return {str(row.get("code")): row for row in _objects(rows)}


def _sequence(value: JsonValue) -> int:
    return int(value) if isinstance(value, (int, float)) else int(str(value or 0))


def _shortcut_field(shortcuts: tuple[str, str], dimension: str) -> str:
    return f"shortcutDimension{shortcuts.index(dimension) + 1}Code"


def _dimension_operation(invoice: str, code: str, value: str, row: JsonObject | None) -> BatchOperation | None:
    """The write that gives the invoice's dimension set line `code` the value `value` ("" = none)."""
    lines = child_url(invoice, "dimensionSetLines")
    if value and row is None:
        return post(lines, {"code": code, "valueCode": value})
    if value and row is not None and row.get("valueCode") != value:
        return patch(child_url(invoice, "dimensionSetLines", str(row["id"])), {"valueCode": value})
    if not value and row is not None:
        return delete_op(child_url(invoice, "dimensionSetLines", str(row["id"])))
    return None


def _dimension_changes(invoice: str, plan: InvoicePlan, shortcuts: tuple[str, str], ours_before: set[str],
                       existing: dict[str, JsonObject]) -> tuple[JsonObject, list[BatchOperation]]:
    """The header fields wanted (shortcut dimensions included) and the dimension set line writes: ours now,
    and ours before that the plan no longer has (removed)."""
    wanted: JsonObject = {**plan.customer, **plan.header}
    ops: list[BatchOperation] = []
    for dimension in set(plan.dims) | ours_before:
        value = plan.dims.get(dimension, "")
        if dimension in shortcuts:
            wanted[_shortcut_field(shortcuts, dimension)] = value
        elif (op := _dimension_operation(invoice, dimension, value, existing.get(dimension))) is not None:
            ops.append(op)
    return wanted, ops


def _header_operations(invoice: str, current: JsonObject, wanted: JsonObject) -> list[BatchOperation]:
    changes = {k: v for k, v in wanted.items() if not _same(k, current.get(k), v)}
    if not changes:
        return []
    return [patch(invoice, changes, if_match=str(current.get("@odata.etag") or "*"))]


def _line_operations(invoice: str, planned: list[JsonObject], existing: JsonValue) -> list[BatchOperation]:
    """Lines matched by `sequence`: changed ones PATCHed, new ones POSTed, extra ones DELETEd."""
    lines = child_url(invoice, "salesInvoiceLines")
    current = {_sequence(line.get("sequence")): line for line in _objects(existing)}
    ops: list[BatchOperation] = []
    for line in planned:
        have = current.pop(_sequence(line["sequence"]), None)
        ops.extend(_line_update(invoice, line, have) if have is not None else [post(lines, line)])
    ops.extend(delete_op(child_url(invoice, "salesInvoiceLines", str(extra["id"]))) for extra in current.values())
    return ops


def _line_update(invoice: str, line: JsonObject, have: JsonObject) -> list[BatchOperation]:
    url = child_url(invoice, "salesInvoiceLines", str(have["id"]))
    if have.get("lineType") != line["lineType"] or str(have.get("lineObjectNumber", "")).upper() \
            != line["lineObjectNumber"]:
        # lineObjectNumber cannot be changed on a line (APIV2 page): replace the line.
        return [delete_op(url), post(child_url(invoice, "salesInvoiceLines"), line)]
    changes = {k: v for k, v in line.items()
               if k not in ("sequence", "lineType", "lineObjectNumber") and not _same(k, have.get(k), v)}
    return [patch(url, changes)] if changes else []


def _is_draft(invoice: JsonObject) -> bool:
    return str(invoice.get("status") or "Draft") in _DRAFT_STATUSES


def _same(name: str, have: JsonValue, want: JsonValue) -> bool:
    """Whether BC's value already is what we would write (codes compare upper-case, numbers by value)."""
    if isinstance(want, bool) or isinstance(have, bool):
        return have == want
    if isinstance(want, (int, float)):
        try:
            return math.isclose(float(have), float(want), rel_tol=0, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if name == "customerId":
        return str(have or "").lower() == str(want or "").lower()
    if name in _CODE_FIELDS:
        return str(have or "").upper() == str(want or "").upper()
    return (have if have is not None else "") == (want if want is not None else "")

