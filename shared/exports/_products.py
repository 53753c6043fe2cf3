"""Products: the host's products as Business Central items, through API v2.0 `items`.

Mapping (docs/contract.md §2 "products", §4 "product data"; docs/business-central.md §1 items, §7, §9):
- number → `number` (Code[20]; the item series must allow Manual Nos.), name → `displayName` (Text[100],
  shortened with a warning), unitPrice → `unitPrice`, blocked → `blocked` (a retired product is blocked,
  never deleted).
- Made once, when the item is created: type → `type` (else `products.itemType`), unit →
  `baseUnitOfMeasureCode` (else `products.baseUnit`, else `defaults.unitOfMeasure`),
  `generalProductPostingGroupCode` = `products.genProductPostingGroup`; US sales tax:
  `taxGroupCode` = `products.taxGroupCode` or `defaults.taxGroupCode` (none with taxes disabled). An item's
  type and base unit are BC's to keep afterwards (BC refuses to change them once the item has entries): a
  later change of them is reported in `warnings`, not sent.
- VAT companies: API v2.0 items have no VAT Prod. Posting Group field. Without
  `products.vatProductPostingGroup` the item takes its Gen. Prod. Posting Group's default (Auto Insert
  Default, checked on save); with it, the group is PATCHed on page 30 "Item Card"
  (`webServices.itemCard`) after the POST.
- An item BC already has under the number (made by hand, or by an attempt whose ledger write was lost) is
  adopted: the POST answers `Internal_EntityWithSameKeyExists`, the item is read by number and PATCHed only
  where its name, price or blocked state differ. Its posting setup stays as BC has it.

BC requests: a new product 1 (POST; +1 Item Card PATCH in a VAT company with
`products.vatProductPostingGroup`); a change 1 (PATCH, If-Match *); unchanged content 0. On an invoice line a
product snapshot the ledger knows costs 0; an unknown one is exported first (1), then the invoice.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from shared.bc import BcConflictError, BcNotFoundError, BcPermanentError, eq
from shared.connectors import ITEM_TYPES, ConnectorRecord, ConnectorSettings
from shared.connectors._webservices import not_published_message
from shared.jsontypes import JsonObject
from shared.messages import UNSET, ProductData, Version, shorten

from ._context import ExportContext, ExportResult
from ._entity import Attempt, EntityJob, EntityRun, Work, content_hash
from ._errors import Candidate, ExportFailed, attribute_field, failed_from_bc
from ._ledger import PENDING, LedgerRow

__all__ = ["PRODUCT", "ProductPlan", "plan_product", "export_product", "ITEM_NAME_LENGTH"]

log = logging.getLogger(__name__)

PRODUCT = "product"
#: Item.Description is Text[100] (docs/business-central.md §1 items.displayName).
ITEM_NAME_LENGTH = 100
_ALREADY_EXISTS = "Internal_EntityWithSameKeyExists"
_TYPE_CAPTIONS = {member: caption for caption, member in ITEM_TYPES.items()}


@dataclass(frozen=True)
class ProductPlan:
    number: str
    #: What is kept in step: displayName, and unitPrice / blocked when the message has them.
    api: JsonObject
    #: Written only when BC creates the item: type, base unit, posting and tax groups.
    create: JsonObject
    #: The Item Card fields (VAT Prod. Posting Group) written after a POST, when the settings ask for it.
    card: JsonObject
    prefix: str
    shortened_from: str | None = None

    @property
    def digest(self) -> str:
        return content_hash({"number": self.number, "api": self.api, "create": self.create, "card": self.card})

    @property
    def made(self) -> JsonObject:
        """What the ledger remembers of the creation, to warn when a later message asks for another."""
        return {"type": self.create.get("type"), "unit": self.create.get("baseUnitOfMeasureCode")}


def plan_product(data: ProductData, settings: ConnectorSettings, record: ConnectorRecord, prefix: str = "data"
                 ) -> ProductPlan:
    """What BC should hold for this product, from the message and the connector's settings."""
    name, cut = shorten(data.name, ITEM_NAME_LENGTH)
    api: JsonObject = {"displayName": name}
    if data.unit_price is not UNSET:
        api["unitPrice"] = data.unit_price
    if data.blocked is not UNSET:
        api["blocked"] = data.blocked
    create: JsonObject = {
        "type": data.type if data.type is not UNSET else ITEM_TYPES[settings.product_item_type],
        "baseUnitOfMeasureCode": data.unit if data.unit is not UNSET else (settings.product_unit or ""),
        "generalProductPostingGroupCode": settings.product_gen_prod_posting_group or "",
    }
    card: JsonObject = {}
    if record.tax_mode == "salesTax":
        if settings.product_tax_group:
            create["taxGroupCode"] = settings.product_tax_group
    elif settings.product_vat_prod_posting_group:
        card["VAT_Prod_Posting_Group"] = settings.product_vat_prod_posting_group
    return ProductPlan(number=data.number, api=api, create=create, card=card, prefix=prefix,
                       shortened_from=data.name if cut else None)


def export_product(ctx: ExportContext, data: ProductData, *, version: Version | None, snapshot: bool = False,
                   prefix: str = "data") -> ExportResult:
    """Export one product as an item. `snapshot`: a product on an invoice line, exported only when the ledger
    does not know it yet (its failures are reported on the invoice, which keeps the message for replay)."""
    if snapshot:
        row = ctx.ledger.get(ctx.connector, PRODUCT, data.id)
        if row is not None and row.bc_id and row.bc_number == data.number and row.status != PENDING:
            return ExportResult("unchanged", row.bc_id, row.bc_number)
    plan = plan_product(data, ctx.settings, ctx.record, prefix)
    if plan.shortened_from is not None:
        ctx.warn(f"The product name was shortened to Business Central's {ITEM_NAME_LENGTH} characters: "
                 f"'{plan.api['displayName']}'.")
    return EntityRun(ctx, _ProductJob(ctx, data.id, plan, snapshot), version).run()


class _ProductJob(EntityJob):
    kind = PRODUCT

    def __init__(self, ctx: ExportContext, host_id: str, plan: ProductPlan, snapshot: bool) -> None:
        self.ctx, self.host_id, self.plan, self.snapshot = ctx, host_id, plan, snapshot
        self.digest = plan.digest

    def known(self, row: LedgerRow) -> bool:
        return bool(row.bc_id) and row.bc_number == self.plan.number and row.status != PENDING

    def work(self, attempt: Attempt) -> Work:
        try:
            return _Writer(self.ctx, attempt, self.plan, self.snapshot).run()
        except BcPermanentError as err:
            raise failed_from_bc(err, attribute_field(err.message, _candidates(self.plan), self.plan.prefix),
                                 bc=attempt.bc) from err


def _candidates(plan: ProductPlan) -> list[Candidate]:
    p, create = plan.prefix, plan.create
    return [
        (f"{p}.number", ("enter numbers manually", "Item Nos.", '"number"'), plan.number),
        ("products.genProductPostingGroup", ("Gen. Prod. Posting Group", "General Product Posting Group",
                                             '"generalProductPostingGroupCode"'),
         create.get("generalProductPostingGroupCode")),
        ("products.taxGroupCode", ("Tax Group", '"taxGroupCode"'), create.get("taxGroupCode")),
        ("products.vatProductPostingGroup", ("VAT Prod. Posting Group",), plan.card.get("VAT_Prod_Posting_Group")),
        (f"{p}.unit", ("Unit of Measure", '"baseUnitOfMeasureCode"'), create.get("baseUnitOfMeasureCode")),
        (f"{p}.type", ('"type"', "Item Type"), None),
        (f"{p}.unitPrice", ('"unitPrice"', "Unit Price"), None),
        (f"{p}.name", ('"displayName"', "Description"), None),
    ]


class _Writer:
    """The BC work of one claimed product attempt."""

    def __init__(self, ctx: ExportContext, attempt: Attempt, plan: ProductPlan, snapshot: bool) -> None:
        self.ctx, self.attempt, self.plan, self.snapshot = ctx, attempt, plan, snapshot
        self.client = ctx.client()
        self.cid = ctx.company_id
        previous = attempt.previous
        self.details: JsonObject = dict(previous.details) if previous and previous.details else {}

    def run(self) -> Work:
        plan, previous = self.plan, self.attempt.previous
        if previous is not None and previous.bc_number and previous.bc_number != plan.number:
            self.ctx.warn(f"The product number changed from {previous.bc_number} to {plan.number}: item "
                          f"{plan.number} is used; item {previous.bc_number} was left as it is in Business Central.")
        elif previous is not None and previous.bc_id:
            self._warn_unapplied()
            try:
                updated = self.client.update_entity(self.cid, f"items({previous.bc_id})", plan.api, etag="*")
                return self._work("updated", updated)
            except BcNotFoundError as err:
                if err.code == "Internal_CompanyNotFound":
                    raise
                log.warning("Item %s (BC id %s) was deleted in BC; creating it again", plan.number, previous.bc_id)
        if self.attempt.lookup_needed:
            found = self._by_number()
            if found is not None:
                return self._adopt(found, status="created")  # most likely the unfinished attempt made it
        return self._create()

    def _create(self) -> Work:
        plan = self.plan
        body = {"number": plan.number, **plan.create, **plan.api}
        try:
            created = self.client.create_entity(self.cid, "items", body)
        except BcPermanentError as err:
            if err.code != _ALREADY_EXISTS:
                raise
            found = self._by_number()
            if found is None:
                raise
            return self._adopt(found, status="updated")
        self.attempt.created(created.get("id"), created.get("number"))
        if plan.card:
            self._write_card(created.get("number") or plan.number)
        self.details.update(made=plan.made)
        return self._work("created", created)

    def _adopt(self, item: JsonObject, *, status: str) -> Work:
        """An item BC has under this number: ours from now on; only what differs is written."""
        plan = self.plan
        self.ctx.warn(f"Item {plan.number} already existed in Business Central and is used as it is, with its own "
                      "type, base unit and posting groups.")
        self.details.update(made={"type": item.get("type"), "unit": item.get("baseUnitOfMeasureCode")})
        if self.snapshot:
            # Named by an invoice line: use it as it is (a blocked item stays blocked; the product's own
            # messages manage it). BC's content is not known to match the plan.
            return Work("unchanged", str(item["id"]), str(item.get("number") or plan.number), self.details,
                        content_known=False)
        changes = {k: v for k, v in plan.api.items() if not _same(item.get(k), v)}
        if changes:
            item = self.client.update_entity(self.cid, f"items({item['id']})", changes, etag="*")
        elif status == "updated":
            status = "unchanged"
        return self._work(status, item)

    def _by_number(self) -> JsonObject | None:
        rows = list(self.client.list_entities(
            self.cid, "items", filter=eq("number", self.plan.number),
            select=["id", "number", "displayName", "unitPrice", "blocked", "type", "baseUnitOfMeasureCode"], top=1))
        return rows[0] if rows else None

    def _write_card(self, number: str) -> None:
        service = self.ctx.settings.web_services.item_card
        try:
            self.client.update_odata(self.ctx.company_name, service, number, self.plan.card, etag="*")
        except BcConflictError:
            self.client.update_odata(self.ctx.company_name, service, number, self.plan.card, etag="*")
        except BcNotFoundError as err:
            if err.code in ("BadRequest_NotFound", "Internal_CompanyNotFound"):
                raise ExportFailed(
                    err.code or "NotFound",
                    not_published_message("itemCard", service, self.ctx.company_name,
                                          "replay the message (the VAT Prod. Posting Group is set through this "
                                          "page)"),
                    "webServices.itemCard", replayable=True) from err
            raise

    def _warn_unapplied(self) -> None:
        made = self.details.get("made")
        if not isinstance(made, dict):
            return
        wanted = self.plan.made
        for key, what in (("type", "type"), ("unit", "base unit")):
            have, want = made.get(key), wanted.get(key)
            if have and want and str(have).upper() != str(want).upper():
                shown = _TYPE_CAPTIONS.get(str(want), str(want))
                self.ctx.warn(f"Item {self.plan.number} keeps its {what} {_TYPE_CAPTIONS.get(str(have), have)}: an "
                              f"item's {what} is set when it is created ({shown} was not applied; change it in "
                              "Business Central).")

    def _work(self, status: str, item: JsonObject) -> Work:
        return Work(status, str(item.get("id") or self.attempt.bc_id or ""),
                    str(item.get("number") or self.plan.number), self.details)


def _same(have: object, want: object) -> bool:
    if isinstance(want, bool) or isinstance(have, bool):
        return have == want
    if isinstance(want, (int, float)):
        try:
            return math.isclose(float(have), float(want), rel_tol=0, abs_tol=1e-9)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return (have if have is not None else "") == (want if want is not None else "")
