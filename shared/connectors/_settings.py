"""The settings document of a connector (ARCHITECTURE §2): parsing, normalising and field-level errors.

Parsing is pure (no BC, no storage) so that every bad input gets a specific answer before anything is
called or stored. Checking the values against Business Central is `_verify.py`'s job.

The document is camelCase JSON with nested objects; errors name fields by their dotted path
(`customers.domestic.genBusPostingGroup`) because that is what a settings screen shows next to a field.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from shared.jsontypes import json_type

__all__ = [
    "AUTH_MODES",
    "ConnectorSettings",
    "FieldError",
    "PostingGroups",
    "SettingsInvalid",
    "WebServices",
    "parse_connector_name",
    "parse_connector_settings",
    "parse_put_body",
]

AUTH_MODES = ("delegated", "clientCredentials")
DEPARTMENT_SOURCES = ("department", "projectTagGroup")
EXPENSE_SOURCES = ("purchaseInvoices", "generalLedger")

# Name rules: used in Key Vault secret names (`connector-{name}-refresh-token`, [0-9a-zA-Z-]{1,127})
# and as a table RowKey, so only lower-case letters, digits and inner hyphens.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN_RE = re.compile(r"^(?=.{4,253}$)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
# BC environment names: letters, digits, '-' and '_', at most 30 characters (BC admin center rule).
_ENVIRONMENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,30}$")
# OData V4 service names on BC's Web Services page.
_SERVICE_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,239}$")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$")
_USER_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

MAX_NOTES = 4000
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, in words a person can act on."""

    field: str
    message: str
    choices: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


class SettingsInvalid(Exception):
    """The settings cannot be saved; `errors` has one entry per bad field."""

    def __init__(self, errors: Iterable[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


@dataclass(frozen=True)
class PostingGroups:
    gen_bus_posting_group: str
    customer_posting_group: str


@dataclass(frozen=True)
class WebServices:
    """OData V4 service names under which the pages API v2.0 lacks are published in BC."""

    customer_card: str = "Customer_Card"
    dimension_values: str = "DimensionValues"
    gen_bus_posting_groups: str = "GenBusinessPostingGroups"
    customer_posting_groups: str = "CustomerPostingGroups"
    no_series: str = "NoSeries"
    sales_setup: str = "SalesReceivablesSetup"


@dataclass(frozen=True)
class ConnectorSettings:
    """A parsed, normalised settings document. Secrets are never part of it."""

    tenant_id: str
    environment: str
    company: str
    auth_mode: str
    client_id: str | None = None
    unit_of_measure: str | None = None
    tax_group_code: str | None = None
    write_in_item: str | None = None
    use_host_invoice_number: bool = False
    customers_enabled: bool = False
    customers_domestic: PostingGroups | None = None
    customers_abroad: PostingGroups | None = None
    projects_enabled: bool = False
    project_dimension: str | None = None
    invoices_enabled: bool = False
    department_dimension: str | None = None
    department_source: str = "department"
    department_tag_group: str | None = None
    post_invoices: bool = False
    expenses_enabled: bool = False
    expenses_from_date: str | None = None
    expenses_source: str = "purchaseInvoices"
    expenses_activity: str | None = None
    expenses_billable: bool = False
    web_services: WebServices = field(default_factory=WebServices)
    notification_recipients: tuple[str, ...] = ()
    notes: str = ""

    def to_document(self) -> dict[str, Any]:
        """The camelCase document as stored and returned (no secrets)."""
        doc: dict[str, Any] = {}
        for spec in _SPECS:
            value = spec.read(self)
            if value is None and spec.omit_if_none:
                continue
            _set_path(doc, spec.path, list(value) if isinstance(value, tuple) else value)
        return doc

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> "ConnectorSettings":
        """Rebuild settings from a stored document (already validated when it was saved)."""
        return parse_connector_settings(document)


def parse_connector_name(name: str | None) -> str:
    """Check a connector name from a route; raises SettingsInvalid naming the `name` field."""
    if not name or not _NAME_RE.match(name):
        raise SettingsInvalid([FieldError(
            "name",
            "A connector name has 3 to 63 characters: lower-case letters a-z, digits and hyphens, "
            "starting and ending with a letter or digit (it becomes part of Key Vault secret names "
            "and table keys).",
        )])
    return name


def parse_connector_settings(document: Any) -> ConnectorSettings:
    """Parse a settings document; raise SettingsInvalid listing every bad or unknown field."""
    if not isinstance(document, Mapping):
        raise SettingsInvalid([FieldError("(body)", "The settings must be a JSON object.")])
    errors: list[FieldError] = []
    flat = _flatten(document, "", errors)
    values: dict[str, Any] = {}
    for spec in _SPECS:
        if spec.path not in flat:
            values[spec.path] = spec.default
            continue
        raw = flat[spec.path]
        if raw is None and spec.nullable:
            values[spec.path] = None
            continue
        try:
            values[spec.path] = spec.parse(raw)
        except _Bad as bad:
            errors.append(FieldError(spec.path, str(bad), bad.choices))
            values[spec.path] = spec.default
    _check_required(values, flat, errors)
    if errors:
        raise SettingsInvalid(_sorted(errors))
    return _build(values)


# --------------------------------------------------------------------------------------------------
# Field specifications


class _Bad(ValueError):
    def __init__(self, message: str, choices: Iterable[str] | None = None):
        super().__init__(message)
        self.choices = tuple(choices) if choices is not None else None


@dataclass(frozen=True)
class _Spec:
    path: str
    parse: Callable[[Any], Any]
    read: Callable[[ConnectorSettings], Any]
    default: Any = None
    nullable: bool = False
    omit_if_none: bool = False


def _string(max_len: int, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if not isinstance(raw, str):
            raise _Bad(f"Must be a string, not {json_type(raw)}.")
        value = raw.strip()
        if not value:
            raise _Bad("Must not be empty.")
        if len(value) > max_len:
            raise _Bad(f"Is {len(value)} characters long; at most {max_len} are allowed.")
        if pattern is not None and not pattern.match(value):
            raise _Bad(hint or "Has characters that are not allowed.")
        return value
    return parse


def _code(max_len: int) -> Callable[[Any], str]:
    """A BC Code[n] value: BC stores Code fields upper-case, so we compare and store them that way."""
    text = _string(max_len)

    def parse(raw: Any) -> str:
        return text(raw).upper()
    return parse


def _boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise _Bad(f"Must be true or false, not {json_type(raw)}.")
    return raw


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if raw not in options:
            shown = raw if isinstance(raw, str) else json_type(raw)
            raise _Bad(f"'{shown}' is not one of: {', '.join(options)}.", options)
        return raw
    return parse


def _tenant(raw: Any) -> str:
    value = _string(253)(raw)
    if _GUID_RE.match(value):
        return value.lower()
    if _DOMAIN_RE.match(value):
        return value.lower()
    raise _Bad("Must be the Entra tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47) "
               "or its domain (contoso.onmicrosoft.com). In Business Central: Help & Support, "
               "'Microsoft Entra tenant ID'.")


def _guid(raw: Any) -> str:
    value = _string(36)(raw)
    if not _GUID_RE.match(value):
        raise _Bad("Must be a GUID such as 3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01 (the app registration's "
                   "Application (client) ID).")
    return value.lower()


def _secret(raw: Any) -> str:
    # Never echo a secret: messages only describe its shape.
    if not isinstance(raw, str) or not raw.strip():
        raise _Bad("Must be a non-empty string.")
    if len(raw) > 1024:
        raise _Bad("Is longer than 1024 characters; Entra client secrets are much shorter.")
    return raw


def _date(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _Bad(f"Must be a date as YYYY-MM-DD, not {json_type(raw)}.")
    try:
        return _dt.date.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        raise _Bad(f"'{raw[:40]}' is not a date as YYYY-MM-DD.") from None


def _recipients(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        raise _Bad(f"Must be a list of user ids or e-mail addresses, not {json_type(raw)}.")
    if len(raw) > MAX_RECIPIENTS:
        raise _Bad(f"Has {len(raw)} recipients; at most {MAX_RECIPIENTS} are allowed.")
    out: list[str] = []
    for index, item in enumerate(raw):
        if not isinstance(item, str) or not item.strip():
            raise _Bad(f"Item {index} must be a non-empty string.")
        value = item.strip()
        if "@" in value:
            if not _EMAIL_RE.match(value):
                raise _Bad(f"Item {index} ('{value[:60]}') is not a valid e-mail address.")
        elif not _USER_ID_RE.match(value):
            raise _Bad(f"Item {index} ('{value[:60]}') is neither an e-mail address nor a host user id.")
        if value not in out:
            out.append(value)
    return tuple(out)


def _notes(raw: Any) -> str:
    if not isinstance(raw, str):
        raise _Bad(f"Must be a string, not {json_type(raw)}.")
    if len(raw) > MAX_NOTES:
        raise _Bad(f"Is {len(raw)} characters long; at most {MAX_NOTES} are allowed.")
    return raw


def _posting_group_spec(path: str, attr: str, part: str) -> _Spec:
    def read(s: ConnectorSettings) -> str | None:
        groups = getattr(s, attr)
        return getattr(groups, part) if groups else None
    return _Spec(path, _code(20), read, omit_if_none=True)


_SERVICE = _string(240, pattern=_SERVICE_NAME_RE,
                   hint="Must be an OData V4 service name as on BC's Web Services page: letters, digits, '_'.")
_WS = WebServices()

_SPECS: tuple[_Spec, ...] = (
    _Spec("tenantId", _tenant, lambda s: s.tenant_id),
    _Spec("environment", _string(30, pattern=_ENVIRONMENT_RE,
                                 hint="A BC environment name has at most 30 letters, digits, '-' or '_' "
                                      "(for example Production or Sandbox)."), lambda s: s.environment),
    # Company names are Text[30] in BC; a name pasted URL-encoded is longer, and ids are 36: allow 100.
    _Spec("company", _string(100), lambda s: s.company),
    _Spec("auth.mode", _choice(AUTH_MODES), lambda s: s.auth_mode),
    _Spec("auth.clientId", _guid, lambda s: s.client_id, omit_if_none=True),
    _Spec("defaults.unitOfMeasure", _code(10), lambda s: s.unit_of_measure, omit_if_none=True),
    _Spec("defaults.taxGroupCode", _code(20), lambda s: s.tax_group_code, nullable=True),
    _Spec("defaults.writeInItem", _code(20), lambda s: s.write_in_item, omit_if_none=True),
    _Spec("defaults.useHostInvoiceNumber", _boolean, lambda s: s.use_host_invoice_number, default=False),
    _Spec("customers.enabled", _boolean, lambda s: s.customers_enabled, default=False),
    _posting_group_spec("customers.domestic.genBusPostingGroup", "customers_domestic", "gen_bus_posting_group"),
    _posting_group_spec("customers.domestic.customerPostingGroup", "customers_domestic", "customer_posting_group"),
    _posting_group_spec("customers.abroad.genBusPostingGroup", "customers_abroad", "gen_bus_posting_group"),
    _posting_group_spec("customers.abroad.customerPostingGroup", "customers_abroad", "customer_posting_group"),
    _Spec("projects.enabled", _boolean, lambda s: s.projects_enabled, default=False),
    _Spec("projects.dimension", _code(20), lambda s: s.project_dimension, omit_if_none=True),
    _Spec("invoices.enabled", _boolean, lambda s: s.invoices_enabled, default=False),
    _Spec("invoices.departmentDimension", _code(20), lambda s: s.department_dimension, omit_if_none=True),
    _Spec("invoices.departmentSource", _choice(DEPARTMENT_SOURCES), lambda s: s.department_source,
          default="department"),
    _Spec("invoices.departmentTagGroup", _string(100), lambda s: s.department_tag_group, omit_if_none=True),
    _Spec("invoices.post", _boolean, lambda s: s.post_invoices, default=False),
    _Spec("expenses.enabled", _boolean, lambda s: s.expenses_enabled, default=False),
    _Spec("expenses.fromDate", _date, lambda s: s.expenses_from_date, omit_if_none=True),
    _Spec("expenses.source", _choice(EXPENSE_SOURCES), lambda s: s.expenses_source, default="purchaseInvoices"),
    _Spec("expenses.activity", _string(100), lambda s: s.expenses_activity, omit_if_none=True),
    _Spec("expenses.billable", _boolean, lambda s: s.expenses_billable, default=False),
    _Spec("webServices.customerCard", _SERVICE, lambda s: s.web_services.customer_card,
          default=_WS.customer_card),
    _Spec("webServices.dimensionValues", _SERVICE, lambda s: s.web_services.dimension_values,
          default=_WS.dimension_values),
    _Spec("webServices.genBusPostingGroups", _SERVICE, lambda s: s.web_services.gen_bus_posting_groups,
          default=_WS.gen_bus_posting_groups),
    _Spec("webServices.customerPostingGroups", _SERVICE, lambda s: s.web_services.customer_posting_groups,
          default=_WS.customer_posting_groups),
    _Spec("webServices.noSeries", _SERVICE, lambda s: s.web_services.no_series, default=_WS.no_series),
    _Spec("webServices.salesSetup", _SERVICE, lambda s: s.web_services.sales_setup, default=_WS.sales_setup),
    _Spec("notifications.recipients", _recipients, lambda s: s.notification_recipients, default=()),
    _Spec("notes", _notes, lambda s: s.notes, default=""),
)

#: Write-only fields: accepted in a PUT body, never stored in the document nor returned.
SECRET_PATHS = ("auth.clientSecret",)

_SPEC_PATHS = {spec.path for spec in _SPECS}
_LEAF_PATHS = _SPEC_PATHS | set(SECRET_PATHS)
_OBJECT_PATHS = {p.rsplit(".", 1)[0] for p in _LEAF_PATHS if "." in p} | {
    ".".join(p.split(".")[:2]) for p in _LEAF_PATHS if p.count(".") == 2
}


def _flatten(document: Mapping[str, Any], prefix: str, errors: list[FieldError]) -> dict[str, Any]:
    """Turn nested objects into dotted paths, reporting unknown fields and objects of the wrong type."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        path = f"{prefix}{key}"
        if path in _LEAF_PATHS:
            flat[path] = value
        elif path in _OBJECT_PATHS:
            if value is None:
                continue
            if not isinstance(value, Mapping):
                errors.append(FieldError(path, f"Must be an object, not {json_type(value)}."))
                continue
            flat.update(_flatten(value, path + ".", errors))
        else:
            known = sorted({p[len(prefix):].split(".")[0] for p in _LEAF_PATHS if p.startswith(prefix)})
            where = f"in '{prefix[:-1]}'" if prefix else "at the top level"
            errors.append(FieldError(path, f"Unknown field. The fields {where} are: {', '.join(known)}.",
                                     tuple(known)))
    return flat


def _check_required(values: dict[str, Any], flat: Mapping[str, Any], errors: list[FieldError]) -> None:
    already = {e.field for e in errors}

    def need(path: str, why: str) -> None:
        if values.get(path) is None and path not in already:
            errors.append(FieldError(path, f"Required{why}."))

    for path in ("tenantId", "environment", "company", "auth.mode"):
        need(path, "")
    if values["customers.enabled"]:
        for side in ("domestic", "abroad"):
            for part in ("genBusPostingGroup", "customerPostingGroup"):
                need(f"customers.{side}.{part}", " when customers.enabled is true")
    if values["projects.enabled"]:
        need("projects.dimension", " when projects.enabled is true")
    if values["invoices.enabled"]:
        need("defaults.unitOfMeasure", " when invoices.enabled is true (invoice lines without a unit use it)")
        need("defaults.writeInItem", " when invoices.enabled is true (invoice lines without a product use it)")
        if values["invoices.departmentSource"] == "projectTagGroup":
            need("invoices.departmentTagGroup", " when invoices.departmentSource is projectTagGroup")
            need("invoices.departmentDimension", " when the department comes from a project tag group")
    if values["expenses.enabled"]:
        need("expenses.fromDate", " when expenses.enabled is true")
        need("expenses.activity", " when expenses.enabled is true")


def _build(values: dict[str, Any]) -> ConnectorSettings:
    def groups(side: str) -> PostingGroups | None:
        gen = values[f"customers.{side}.genBusPostingGroup"]
        cust = values[f"customers.{side}.customerPostingGroup"]
        if gen is None and cust is None:
            return None
        return PostingGroups(gen, cust)

    return ConnectorSettings(
        tenant_id=values["tenantId"],
        environment=values["environment"],
        company=values["company"],
        auth_mode=values["auth.mode"],
        client_id=values["auth.clientId"],
        unit_of_measure=values["defaults.unitOfMeasure"],
        tax_group_code=values["defaults.taxGroupCode"],
        write_in_item=values["defaults.writeInItem"],
        use_host_invoice_number=values["defaults.useHostInvoiceNumber"],
        customers_enabled=values["customers.enabled"],
        customers_domestic=groups("domestic"),
        customers_abroad=groups("abroad"),
        projects_enabled=values["projects.enabled"],
        project_dimension=values["projects.dimension"],
        invoices_enabled=values["invoices.enabled"],
        department_dimension=values["invoices.departmentDimension"],
        department_source=values["invoices.departmentSource"],
        department_tag_group=values["invoices.departmentTagGroup"],
        post_invoices=values["invoices.post"],
        expenses_enabled=values["expenses.enabled"],
        expenses_from_date=values["expenses.fromDate"],
        expenses_source=values["expenses.source"],
        expenses_activity=values["expenses.activity"],
        expenses_billable=values["expenses.billable"],
        web_services=WebServices(
            customer_card=values["webServices.customerCard"],
            dimension_values=values["webServices.dimensionValues"],
            gen_bus_posting_groups=values["webServices.genBusPostingGroups"],
            customer_posting_groups=values["webServices.customerPostingGroups"],
            no_series=values["webServices.noSeries"],
            sales_setup=values["webServices.salesSetup"],
        ),
        notification_recipients=values["notifications.recipients"],
        notes=values["notes"],
    )


def parse_put_body(document: Any) -> tuple[ConnectorSettings, dict[str, str]]:
    """Parse a PUT body into settings and its write-only secrets, reporting every bad field at once."""
    errors: list[FieldError] = []
    secrets: dict[str, str] = {}
    auth = document.get("auth") if isinstance(document, Mapping) else None
    if isinstance(auth, Mapping) and auth.get("clientSecret") is not None:
        try:
            secrets["auth.clientSecret"] = _secret(auth["clientSecret"])
        except _Bad as bad:
            errors.append(FieldError("auth.clientSecret", str(bad)))
    try:
        settings = parse_connector_settings(document)
    except SettingsInvalid as invalid:
        raise SettingsInvalid(_sorted(invalid.errors + errors)) from None
    if errors:
        raise SettingsInvalid(errors)
    return settings, secrets


def _set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        doc = doc.setdefault(part, {})
    doc[parts[-1]] = value


def _sorted(errors: list[FieldError]) -> list[FieldError]:
    order = {spec.path: i for i, spec in enumerate(_SPECS)}
    return sorted(errors, key=lambda e: (order.get(e.field, len(order)), e.field))
