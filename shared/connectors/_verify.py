"""Verify a connector's settings against Business Central before they are saved.

A save proves what the exports will need later, so a wrong code surfaces on the settings screen and not
as a failed invoice at month end: the credentials get a token and reach BC, the company exists (by name,
URL-encoded or not, or by id), every referenced code exists in that company, the tax mode fits, the OData
pages that API v2.0 lacks are published (only when the export that needs them is enabled), and Manual
Nos. is on when the host invoice number is used.

Cost in BC requests (see benchmarks/): 1 for the companies, 1 `$batch` for every API v2.0 look-up (the
products export adds its look-ups to that batch), then one per OData V4 page that the enabled exports need
(0 to 7: `Item_Card` only for products in a VAT company with `products.vatProductPostingGroup`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from shared.auth import (
    InvalidClientError,
    ReconnectRequiredError,
    TokenError,
    UnknownApplicationError,
    UnknownTenantError,
)
from shared.bc import (
    BcAuthorizationError,
    BcClient,
    BcNotFoundError,
    decode_company_name,
    decode_error,
    eq,
)

from ._accounts import EXPENSE_CATEGORIES, category_key
from ._settings import ConnectorSettings, FieldError, SettingsInvalid
from ._webservices import not_published_message

__all__ = ["VerifiedCompany", "Verification", "verify_settings", "tax_mode_of"]

@dataclass(frozen=True)
class VerifiedCompany:
    id: str
    name: str
    country: str | None
    tax_mode: str  # "salesTax" | "vat"


@dataclass
class Verification:
    """What a save proved, in sentences for the answer and the log."""

    company: VerifiedCompany
    checks: list[str] = field(default_factory=list)


def verify_settings(settings: ConnectorSettings, client: BcClient, *, client_id: str) -> Verification:
    """Check `settings` against BC through `client`.

    Raises SettingsInvalid with one FieldError per bad field (with BC's valid choices where it has them).
    Transient failures (BcTransientError, TokenEndpointUnavailableError) propagate: the caller answers
    "try again" instead of blaming a field.
    """
    company = _resolve_company(settings, client, client_id)
    verification = Verification(company=company, checks=[
        f"Signed in to Entra ID tenant {settings.tenant_id} as app {client_id} and reached BC "
        f"environment '{settings.environment}'.",
    ])
    errors: list[FieldError] = []
    lookups = _api_lookups(settings, client, company.id)

    info = lookups.get("companyInformation") or []
    country = (info[0].get("country") or None) if info else None
    tax_groups = lookups.get("taxGroups") or []
    tax_mode = tax_mode_of(tax_groups, country)
    company = VerifiedCompany(company.id, company.name, country, tax_mode)
    verification.company = company
    verification.checks.append(
        f"Company '{company.name}' ({company.id}) found; it uses "
        f"{'US sales tax' if tax_mode == 'salesTax' else 'VAT'}"
        f"{f' and is in country {country}' if country else ''}.")

    _check_tax_group(settings, tax_mode, tax_groups, errors, verification.checks)
    if settings.unit_of_measure:
        _check_code_in("defaults.unitOfMeasure", settings.unit_of_measure, lookups["unitsOfMeasure"], "code",
                       "unit of measure", errors, verification.checks)
    if settings.write_in_item:
        _check_write_in_item(settings.write_in_item, lookups["writeInItem"], errors, verification.checks)
    for path, code in _dimension_fields(settings):
        _check_code_in(path, code, lookups["dimensions"], "code", "dimension", errors, verification.checks)
    if settings.expenses_enabled:
        _check_expenses(settings, lookups, errors, verification.checks)
    item_card_needed = settings.products_enabled and _check_products(settings, tax_mode, lookups, errors,
                                                                     verification.checks)

    odata = _ODataChecks(settings, client, company.name, errors, verification.checks)
    if settings.customers_enabled:
        odata.posting_groups()
        odata.published("customerCard", settings.web_services.customer_card)
    if settings.projects_enabled and settings.project_dimension:
        odata.published("dimensionValues", settings.web_services.dimension_values,
                        filter=eq("Dimension_Code", settings.project_dimension))
    if settings.invoices_enabled and settings.use_host_invoice_number:
        odata.manual_nos()
    if item_card_needed:
        odata.published("itemCard", settings.web_services.item_card)
    if errors:
        raise SettingsInvalid(errors)
    return verification


def tax_mode_of(tax_groups: list[dict[str, Any]], country: str | None) -> str:
    """`salesTax` or `vat`, from the taxType BC reports for the company's tax groups.

    BC's TaxGroupBuffer lists Tax Groups (taxType "Sales Tax") in North-American localizations and VAT
    Prod. Posting Groups (taxType "VAT") elsewhere (docs/business-central.md §7). A company with no tax groups at all
    falls back to its country: only US, CA and MX run sales tax.
    """
    types = {str(g.get("taxType", "")).replace(" ", "").lower() for g in tax_groups}
    if "salestax" in types:
        return "salesTax"
    if "vat" in types:
        return "vat"
    return "salesTax" if (country or "").upper() in {"US", "CA", "MX"} else "vat"


# --------------------------------------------------------------------------------------------------


def _resolve_company(settings: ConnectorSettings, client: BcClient, client_id: str) -> VerifiedCompany:
    try:
        companies = list(client.list_companies())
    except TokenError as err:
        raise SettingsInvalid([token_error_field(err, settings)]) from err
    except BcAuthorizationError as err:
        raise SettingsInvalid([FieldError(
            "auth.clientId",
            f"Business Central rejected app {client_id}: {err.message} In BC, open the page "
            "'Microsoft Entra applications', add the client id, set State to Enabled and grant "
            "permission sets (for example D365 BUS FULL ACCESS); for delegated access the user needs "
            "a BC licence.",
        )]) from err
    except BcNotFoundError as err:
        raise SettingsInvalid([FieldError(
            "environment",
            f"Business Central has no environment '{settings.environment}' in tenant {settings.tenant_id} "
            f"({err.message}). Environment names are shown in the BC admin center, e.g. Production.",
        )]) from err
    wanted = decode_company_name(settings.company)
    for company in companies:
        if company.get("id", "").lower() == wanted.lower() or company.get("name") == wanted:
            return VerifiedCompany(company["id"], company["name"], None, "")
    names = tuple(sorted(c.get("name", "") for c in companies))
    near = [n for n in names if n.lower() == wanted.lower()]
    hint = (f" Company names are case-sensitive in BC: did you mean '{near[0]}'?" if near else
            " Write the name exactly as BC shows it (URL-encoded is fine), or use the company id.")
    raise SettingsInvalid([FieldError(
        "company", f"Environment '{settings.environment}' has no company '{wanted}'.{hint}", names)])


def token_error_field(err: TokenError, settings: ConnectorSettings) -> FieldError:
    """The settings field to blame when Entra refuses a token for `settings` (and Entra's reason)."""
    if isinstance(err, UnknownTenantError):
        return FieldError("tenantId", f"Entra ID does not know tenant '{settings.tenant_id}'. {err}")
    if isinstance(err, InvalidClientError):
        return FieldError("auth.clientSecret", str(err))
    if isinstance(err, UnknownApplicationError):
        return FieldError("auth.clientId", str(err))
    if isinstance(err, ReconnectRequiredError):
        return FieldError("auth", str(err))
    return FieldError("auth", f"Could not get a token for Business Central: {err}")


def _api_lookups(settings: ConnectorSettings, client: BcClient, company_id: str) -> dict[str, list[dict]]:
    """Every API v2.0 look-up the checks need, in one `$batch` request."""
    base = f"companies({company_id})"
    operations: dict[str, str] = {
        "companyInformation": f"{base}/companyInformation?$select=country",
        "taxGroups": f"{base}/taxGroups?$select=code,displayName,taxType",
    }
    if settings.unit_of_measure or (settings.products_enabled and settings.product_base_unit):
        operations["unitsOfMeasure"] = f"{base}/unitsOfMeasure?$select=code,displayName"
    if settings.products_enabled:
        operations["genProductPostingGroups"] = (f"{base}/generalProductPostingGroups?$select=code,description,"
                                                 "defaultVATProductPostingGroup,autoInsertDefault")
    if settings.write_in_item:
        operations["writeInItem"] = (f"{base}/items?$filter={eq('number', settings.write_in_item)}"
                                     "&$select=number,displayName,type,blocked")
    if list(_dimension_fields(settings)) or settings.expenses_enabled:
        operations["dimensions"] = f"{base}/dimensions?$select=code,displayName"
    if settings.expenses_enabled and settings.expenses_source == "generalLedger":
        operations["accounts"] = f"{base}/accounts?$select=number,displayName,category"
    names = list(operations)
    responses = client.batch([{"id": name, "method": "GET", "url": operations[name]} for name in names])
    out: dict[str, list[dict]] = {}
    for name, response in zip(names, responses):
        status = int(response.get("status", 0))
        body = response.get("body") or {}
        if status >= 400:
            raise decode_error(response, method="GET")
        out[name] = list(body.get("value", [])) if isinstance(body, dict) else []
    return out


def _dimension_fields(settings: ConnectorSettings) -> Iterable[tuple[str, str]]:
    if (settings.projects_enabled or settings.expenses_enabled) and settings.project_dimension:
        yield "projects.dimension", settings.project_dimension
    if settings.invoices_enabled and settings.department_dimension:
        yield "invoices.departmentDimension", settings.department_dimension


def _check_expenses(settings: ConnectorSettings, lookups: dict[str, list[dict]], errors: list[FieldError],
                    checks: list[str]) -> None:
    """The expense import finds a posting's host project through the project dimension, whichever the source,
    so it needs `projects.dimension` (checked above when set) even with the projects export off. Reading G/L
    entries also needs accounts in the expense categories (README "Expense import")."""
    if not settings.project_dimension:
        errors.append(FieldError(
            "projects.dimension",
            "Required when expenses.enabled is true: imported expenses are matched to host projects by the value "
            "of this dimension on each posting. Choose the dimension your projects use in BC.",
            tuple(str(d.get("code", "")) for d in lookups.get("dimensions", []))))
        return
    if settings.expenses_source != "generalLedger":
        checks.append(f"Expenses: posted purchase invoice and credit memo lines carrying dimension "
                      f"{settings.project_dimension} are imported from {settings.expenses_from_date}.")
        return
    accounts = [a for a in lookups.get("accounts", [])
                if category_key(str(a.get("category", ""))) in EXPENSE_CATEGORIES]
    if not accounts:
        errors.append(FieldError(
            "expenses.source",
            "The company has no G/L accounts in category Expense or Cost of Goods Sold, so there are no G/L "
            "entries to import; use purchaseInvoices, or set the category of the expense accounts in BC's chart "
            "of accounts.", ("purchaseInvoices", "generalLedger")))
        return
    checks.append(f"Expenses: G/L entries on {len(accounts)} expense accounts (categories Expense and Cost of Goods "
                  f"Sold) carrying dimension {settings.project_dimension} are imported from "
                  f"{settings.expenses_from_date}.")


def _check_products(settings: ConnectorSettings, tax_mode: str, lookups: dict[str, list[dict]],
                    errors: list[FieldError], checks: list[str]) -> bool:
    """The settings new items are made with (docs/contract.md §2 "products"). True when the VAT Prod. Posting
    Group is written through the Item Card page, whose web service must then be published.

    API v2.0 `items` has no VAT Prod. Posting Group field, and its `taxGroupCode` is the US sales-tax Tax Group
    in every localization (docs/business-central.md §9). A VAT company's new items therefore get their VAT
    group from the Gen. Prod. Posting Group's default ("Auto Insert Default", which API v2.0
    `generalProductPostingGroups` shows) or, when `products.vatProductPostingGroup` is set, from page 30."""
    groups = lookups.get("genProductPostingGroups") or []
    code = settings.product_gen_prod_posting_group or ""
    group = next((g for g in groups if str(g.get("code", "")) == code), None)
    _check_code_in("products.genProductPostingGroup", code, groups, "code", "gen. product posting group", errors,
                   checks)
    if settings.product_base_unit:
        _check_code_in("products.baseUnit", settings.product_base_unit, lookups.get("unitsOfMeasure") or [], "code",
                       "unit of measure", errors, checks)
    tax_codes = tuple(str(g.get("code", "")) for g in lookups.get("taxGroups") or [])
    vat_group = settings.product_vat_prod_posting_group
    if settings.product_item_type == "Inventory":
        checks.append("New items are of type Inventory: posting their invoices needs an Inventory Posting Group, "
                      "which API v2.0 cannot set on a new item; give the items an API Setup template that has one.")
    if tax_mode == "salesTax":
        if vat_group:
            errors.append(FieldError(
                "products.vatProductPostingGroup",
                "This company uses US sales tax, which has no VAT Prod. Posting Groups; remove the setting (items "
                "get the Tax Group of products.taxGroupCode or defaults.taxGroupCode).", ()))
        if settings.product_tax_group_code and settings.tax_group_code is None:
            errors.append(FieldError(
                "products.taxGroupCode",
                "Taxes are disabled (defaults.taxGroupCode is null), so new items get no Tax Group; set "
                "defaults.taxGroupCode first, or remove products.taxGroupCode.", tax_codes))
        elif settings.product_tax_group_code:
            _check_code_in("products.taxGroupCode", settings.product_tax_group_code, lookups.get("taxGroups") or [],
                           "code", "tax group", errors, checks)
        elif settings.product_tax_group:
            checks.append(f"New items get Tax Group {settings.product_tax_group} (defaults.taxGroupCode).")
        else:
            checks.append("New items get no Tax Group (taxes are disabled).")
        return False
    if settings.product_tax_group_code:
        errors.append(FieldError(
            "products.taxGroupCode",
            "This company uses VAT: an item's Tax Group is a US sales-tax field. Remove products.taxGroupCode; "
            "new items get their VAT Prod. Posting Group from the gen. product posting group's default or from "
            "products.vatProductPostingGroup.", ()))
    if vat_group:
        if vat_group not in tax_codes:
            errors.append(FieldError("products.vatProductPostingGroup",
                                     f"The company has no VAT product posting group '{vat_group}'.", tax_codes))
            return False
        default = str(group.get("defaultVATProductPostingGroup") or "") if group else ""
        same = " (the same as the gen. product posting group's default: leave the setting empty to save that "                "request)" if group and group.get("autoInsertDefault") and default == vat_group else ""
        checks.append(f"New items get VAT Prod. Posting Group {vat_group} through web service "
                      f"{settings.web_services.item_card} (one request per new item){same}.")
        return True
    if group is None:
        return False  # reported on products.genProductPostingGroup
    default = str(group.get("defaultVATProductPostingGroup") or "")
    if group.get("autoInsertDefault") and default:
        checks.append(f"New items get VAT Prod. Posting Group {default}: the default of gen. product posting group "
                      f"{code} (Auto Insert Default).")
        return False
    why = "has no Def. VAT Prod. Posting Group" if not default else "does not have Auto Insert Default on"
    errors.append(FieldError(
        "products.vatProductPostingGroup",
        f"New items would get no VAT Prod. Posting Group: gen. product posting group {code} {why}, and API v2.0 "
        "items have no field for it. Either set products.vatProductPostingGroup (one of the choices; it is written "
        "through the Item Card page, web service webServices.itemCard, one request per new item), or in BC open "
        f"'Gen. Product Posting Groups', give {code} a Def. VAT Prod. Posting Group, tick Auto Insert Default and "
        "save the connector again.", tax_codes))
    return False


def _check_code_in(path: str, code: str, rows: list[dict], key: str, what: str,
                   errors: list[FieldError], checks: list[str]) -> None:
    codes = tuple(str(r.get(key, "")) for r in rows)
    if code in codes:
        checks.append(f"{what.capitalize()} {code} exists.")
        return
    errors.append(FieldError(path, f"The company has no {what} '{code}'.", codes))


def _check_tax_group(settings: ConnectorSettings, tax_mode: str, groups: list[dict],
                     errors: list[FieldError], checks: list[str]) -> None:
    code = settings.tax_group_code
    if code is None:
        if settings.invoices_enabled:
            checks.append("Taxes are disabled for invoice lines (defaults.taxGroupCode is null).")
        return
    if tax_mode == "vat":
        errors.append(FieldError(
            "defaults.taxGroupCode",
            "This company uses VAT, and a default tax group applies only to US sales tax. Set "
            "defaults.taxGroupCode to null ('Disable taxes'): BC then takes the VAT Prod. Posting Group "
            "from each item.", ()))
        return
    _check_code_in("defaults.taxGroupCode", code, groups, "code", "tax group", errors, checks)


def _check_write_in_item(number: str, rows: list[dict], errors: list[FieldError], checks: list[str]) -> None:
    if not rows:
        errors.append(FieldError(
            "defaults.writeInItem",
            f"The company has no item '{number}'. Create an item (type Service or Non-Inventory) to stand "
            "for invoice lines without a product, and enter its number here."))
        return
    item = rows[0]
    if item.get("blocked"):
        errors.append(FieldError("defaults.writeInItem",
                                 f"Item '{number}' is blocked in BC; unblock it or choose another item."))
        return
    checks.append(f"Write-in item {number} ({item.get('displayName', '')}) exists.")


class _ODataChecks:
    """Checks through OData V4 web services, each turning 'not published' into how to publish it."""

    def __init__(self, settings: ConnectorSettings, client: BcClient, company_name: str,
                 errors: list[FieldError], checks: list[str]):
        self.settings, self.client, self.company = settings, client, company_name
        self.errors, self.checks = errors, checks

    def _read(self, setting: str, service: str, **query: Any) -> list[dict] | None:
        try:
            return list(self.client.list_odata(self.company, service, **query))
        except BcNotFoundError:
            self.errors.append(FieldError(f"webServices.{setting}", not_published_message(
                setting, service, self.company, "save the connector again")))
            return None

    def published(self, setting: str, service: str, *, filter: str | None = None) -> None:
        if self._read(setting, service, filter=filter, top=1) is not None:
            self.checks.append(f"Web service {service} is published.")

    def posting_groups(self) -> None:
        ws = self.settings.web_services
        gen = self._read("genBusPostingGroups", ws.gen_bus_posting_groups, select=["Code", "Description"])
        cust = self._read("customerPostingGroups", ws.customer_posting_groups, select=["Code", "Description"])
        for side in ("domestic", "abroad"):
            groups = getattr(self.settings, f"customers_{side}")
            if gen is not None:
                _check_code_in(f"customers.{side}.genBusPostingGroup", groups.gen_bus_posting_group, gen,
                               "Code", "gen. business posting group", self.errors, self.checks)
            if cust is not None:
                _check_code_in(f"customers.{side}.customerPostingGroup", groups.customer_posting_group, cust,
                               "Code", "customer posting group", self.errors, self.checks)

    def manual_nos(self) -> None:
        ws = self.settings.web_services
        setup = self._read("salesSetup", ws.sales_setup, select=["Invoice_Nos"], top=1)
        if not setup:
            return
        series = setup[0].get("Invoice_Nos") or ""
        rows = self._read("noSeries", ws.no_series, filter=eq("Code", series), select=["Code", "Manual_Nos"])
        if rows is None:
            return
        if not rows or not rows[0].get("Manual_Nos"):
            self.errors.append(FieldError(
                "defaults.useHostInvoiceNumber",
                f"The host invoice number can only be used as the BC invoice number when the sales invoice "
                f"number series '{series}' allows Manual Nos. In BC, search for 'No. Series', select "
                f"'{series}', enable Manual Nos., and save the connector again; or set "
                "defaults.useHostInvoiceNumber to false to let BC number invoices."))
            return
        self.checks.append(f"Number series {series} allows Manual Nos., so host invoice numbers can be used.")

