"""Customers: create or update through API v2.0, posting groups through the `Customer_Card` page.

Mapping (docs/contract.md §2/§4, docs/business-central.md §1, §2, §7):
- name → displayName, type, email, phone → phoneNumber, website, invoiceAddress → addressLine1/2, city,
  state, postalCode, country, currencyCode, taxRegistrationNumber, blocked (true → All, false → blank).
- Posting groups: `customers.domestic` when the invoice address country is empty or the company's own
  country (`companyCountry` of the connector), else `customers.abroad`. API v2.0 has no posting-group
  fields, so they are PATCHed on page 21 (`webServices.customerCard`) with the ETag BC gave the API
  write (the page and the API share the record and its ETag).
- Tax, US sales-tax companies: `taxLiable` = taxes enabled (`defaults.taxGroupCode` not null);
  `taxAreaId` is left to BC (its API Setup template or the customer's existing value). The settings
  have no tax-area field, and a guessed area would be wrong for customers outside the company's state.
  VAT companies: no US tax fields at all (docs/business-central.md §7 "Recommended behaviour").

BC requests: a new customer 2 (POST + card PATCH); an update 1 or 2 (only the parts that changed);
unchanged content 0. Found through the ledger, else by number: a POST with a number BC already has
fails with `Internal_EntityWithSameKeyExists`, and only then is the customer read (no read-before-write).
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass
from shared.bc import BcConflictError, BcNotFoundError, BcPermanentError, eq
from shared.clock import parse_iso
from shared.connectors import ConnectorRecord, ConnectorSettings
from shared.connectors._webservices import not_published_message
from shared.jsontypes import JsonObject
from shared.messages import UNSET, Address, CustomerData, Version

from ._context import ExportContext, ExportResult
from ._entity import Attempt, EntityJob, EntityRun, Work, content_hash
from ._errors import Candidate, ExportFailed, attribute_field, failed_from_bc
from ._ledger import LedgerRow

__all__ = ["CustomerPlan", "plan_customer", "export_customer", "CUSTOMER"]

log = logging.getLogger(__name__)

CUSTOMER = "customer"
_ALREADY_EXISTS = "Internal_EntityWithSameKeyExists"


@dataclass(frozen=True)
class CustomerPlan:
    number: str | None
    api: JsonObject
    card: JsonObject
    abroad: bool
    prefix: str

    @property
    def api_hash(self) -> str:
        return content_hash(self.api)

    @property
    def card_hash(self) -> str:
        return content_hash(self.card)

    @property
    def digest(self) -> str:
        return content_hash({"number": self.number, "api": self.api, "card": self.card})


def plan_customer(data: CustomerData, settings: ConnectorSettings, record: ConnectorRecord, prefix: str = "data"
                  ) -> CustomerPlan:
    """What BC should hold for this customer, from the message and the connector's settings."""
    api: JsonObject = {"displayName": data.name}
    simple = (("type", data.type), ("email", data.email), ("phoneNumber", data.phone),
              ("website", data.website), ("currencyCode", data.currency_code),
              ("taxRegistrationNumber", data.tax_registration_number), ("blocked", data.blocked))
    for name, value in simple:
        if value is not UNSET:
            api[name] = value
    address = data.invoice_address
    if isinstance(address, Address):
        for name, value in (("addressLine1", address.line1), ("addressLine2", address.line2),
                            ("city", address.city), ("state", address.state),
                            ("postalCode", address.postal_code), ("country", address.country_code)):
            if value is not UNSET:
                api[name] = value
    if record.tax_mode == "salesTax":
        api["taxLiable"] = settings.tax_group_code is not None
    company_country = (record.company_country or "").upper()
    country = data.country_code.upper()
    if country and not company_country:
        raise ExportFailed(
            "CompanyCountryUnknown",
            f"The connector does not know the country of company '{record.company_name}', so domestic and "
            "abroad customers cannot be told apart. Save the connector again to read it from BC, then replay.",
            "customers.domestic", replayable=True)
    abroad = bool(country) and country != company_country
    groups = settings.customers_abroad if abroad else settings.customers_domestic
    card = {"Gen_Bus_Posting_Group": groups.gen_bus_posting_group,
            "Customer_Posting_Group": groups.customer_posting_group}
    number = data.number if data.number is not UNSET else None
    return CustomerPlan(number=number, api=api, card=card, abroad=abroad, prefix=prefix)


def _candidates(plan: CustomerPlan) -> list[Candidate]:
    p = plan.prefix
    side = "abroad" if plan.abroad else "domestic"
    api = plan.api
    return [
        (f"{p}.number", ("enter numbers manually", "Customer Nos."), plan.number),
        (f"customers.{side}.genBusPostingGroup", ("Gen. Bus. Posting Group", "Gen_Bus_Posting_Group"),
         plan.card["Gen_Bus_Posting_Group"]),
        (f"customers.{side}.customerPostingGroup", ("Customer Posting Group", "Customer_Posting_Group"),
         plan.card["Customer_Posting_Group"]),
        (f"{p}.currencyCode", ('"currencyCode"', "Currency"), api.get("currencyCode")),
        (f"{p}.invoiceAddress.countryCode", ('"country"', "Country/Region"), api.get("country")),
        (f"{p}.invoiceAddress.postalCode", ('"postalCode"', "Post Code"), api.get("postalCode")),
        (f"{p}.email", ('"email"', "E-Mail", "email address"), api.get("email")),
        (f"{p}.phone", ('"phoneNumber"', "Phone No."), api.get("phoneNumber")),
        (f"{p}.website", ('"website"', "Home Page"), api.get("website")),
        (f"{p}.taxRegistrationNumber", ('"taxRegistrationNumber"', "VAT Registration No."),
         api.get("taxRegistrationNumber")),
        (f"{p}.type", ('"type"', "Contact Type"), api.get("type")),
        (f"{p}.blocked", ('"blocked"',), None),
        (f"{p}.name", ('"displayName"',), api.get("displayName")),
        (f"{p}.invoiceAddress", ('"addressLine1"', '"addressLine2"', '"city"', '"state"'), None),
    ]


def export_customer(ctx: ExportContext, data: CustomerData, *, version: Version | None,
                    snapshot: bool = False, prefix: str = "data") -> ExportResult:
    """Export one customer. `snapshot`: the customer inside an invoice, exported only if the ledger does
    not know it yet (its failures are reported on the invoice, which keeps the message for replay)."""
    if snapshot:
        row = ctx.ledger.get(ctx.connector, CUSTOMER, data.id)
        if row is not None and row.bc_id:
            return ExportResult("unchanged", row.bc_id, row.bc_number)
    plan = plan_customer(data, ctx.settings, ctx.record, prefix)
    return EntityRun(ctx, _CustomerJob(ctx, data.id, plan, snapshot), version).run()


class _CustomerJob(EntityJob):
    kind = CUSTOMER

    def __init__(self, ctx: ExportContext, host_id: str, plan: CustomerPlan, snapshot: bool) -> None:
        self.ctx, self.host_id, self.plan, self.snapshot = ctx, host_id, plan, snapshot
        self.digest = plan.digest

    def known(self, row: LedgerRow) -> bool:
        return bool(row.bc_id)

    def work(self, attempt: Attempt) -> Work:
        try:
            return _write(self.ctx, attempt, self.plan)
        except BcPermanentError as err:
            raise failed_from_bc(err, attribute_field(err.message, _candidates(self.plan), self.plan.prefix),
                                 bc=attempt.bc) from err


def _write(ctx: ExportContext, attempt: Attempt, plan: CustomerPlan) -> Work:
    client = ctx.client()
    previous = attempt.previous
    details = dict(previous.details) if previous and previous.details else {}
    bc_id = previous.bc_id if previous else None
    number = previous.bc_number if previous else None
    adopted = False
    if bc_id is None and attempt.lookup_needed:
        found = _find(ctx, plan, previous)
        if found is not None:
            bc_id, number, adopted = found["id"], found.get("number"), True
    etag = None
    # Found after an unfinished attempt: most likely that attempt created it, so this message did.
    status = "created" if adopted else "updated"
    api_written = False
    if bc_id is not None and (adopted or details.get("apiHash") != plan.api_hash):
        try:
            updated = client.update_entity(ctx.company_id, f"customers({bc_id})", plan.api, etag="*")
            etag, number, api_written = updated.get("@odata.etag"), updated.get("number", number), True
        except BcNotFoundError:
            log.warning("Customer %s (BC id %s) was deleted in BC; creating it again", plan.api["displayName"], bc_id)
            bc_id = None
    if bc_id is None:
        body = dict(plan.api)
        if plan.number:
            body["number"] = plan.number
        try:
            created = client.create_entity(ctx.company_id, "customers", body)
            status = "created"
        except BcPermanentError as err:
            if err.code != _ALREADY_EXISTS or not plan.number:
                raise
            # BC already has this number (made by hand, or by an attempt whose ledger write was lost): adopt it.
            existing = list(client.list_entities(ctx.company_id, "customers", filter=eq("number", plan.number),
                                                 select=["id", "number"], top=1))
            if not existing:
                raise
            created = client.update_entity(ctx.company_id, f"customers({existing[0]['id']})", plan.api, etag="*")
            adopted = True
        bc_id, number, etag, api_written = created["id"], created.get("number"), created.get("@odata.etag"), True
        attempt.created(bc_id, number)
    if plan.number and number and plan.number != number:
        ctx.warn(f"The customer is number {number} in Business Central; the message's number {plan.number} "
                 "was not applied (customers are not renumbered).")
    card_written = False
    if status == "created" or adopted or details.get("cardHash") != plan.card_hash:
        _write_card(ctx, number, plan.card, etag)
        card_written = True
    if not api_written and not card_written:
        status = "unchanged"
    details.update(apiHash=plan.api_hash, cardHash=plan.card_hash, abroad=plan.abroad)
    return Work(status, bc_id, number, details)


def _write_card(ctx: ExportContext, number: str | None, card: JsonObject, etag: str | None) -> None:
    service = ctx.settings.web_services.customer_card
    client = ctx.client()
    try:
        client.update_odata(ctx.company_name, service, number, card, etag=etag or "*")
    except BcConflictError:
        # BC may word the page's ETag differently from the API's: the groups come from the settings, so
        # writing them over whatever changed is right.
        client.update_odata(ctx.company_name, service, number, card, etag="*")
    except BcNotFoundError as err:
        if err.code in ("BadRequest_NotFound", "Internal_CompanyNotFound"):
            raise ExportFailed(
                err.code or "NotFound",
                not_published_message("customerCard", service, ctx.company_name,
                                      "replay the message (posting groups are set through this page)"),
                "webServices.customerCard", replayable=True) from err
        raise


def _find(ctx: ExportContext, plan: CustomerPlan, previous: LedgerRow | None) -> JsonObject | None:
    """The customer an unfinished attempt may have created: by number, else by name created since then."""
    client = ctx.client()
    if plan.number:
        rows = list(client.list_entities(ctx.company_id, "customers", filter=eq("number", plan.number),
                                         select=["id", "number"], top=1))
        return rows[0] if rows else None
    rows = list(client.list_entities(ctx.company_id, "customers", filter=eq("displayName", plan.api["displayName"]),
                                     select=["id", "number", "lastModifiedDateTime"]))
    since = parse_iso(previous.attempt_started_at if previous else None)
    if since is not None:
        since -= _dt.timedelta(minutes=5)  # clock skew between this worker and BC
        rows = [r for r in rows if (parse_iso(r.get("lastModifiedDateTime")) or since) >= since]
    rows.sort(key=lambda r: r.get("lastModifiedDateTime") or "", reverse=True)
    return rows[0] if rows else None

