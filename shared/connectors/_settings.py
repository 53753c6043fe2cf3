"""The settings document of a connector (docs/contract.md §2): parsing, normalising and field-level errors.

Parsing is pure (no BC, no storage) so that every bad input gets a specific answer before anything is
called or stored. Checking the values against Business Central is `_verify.py`'s job.

The document is camelCase JSON with nested objects; errors name fields by their dotted path
(`customers.domestic.genBusPostingGroup`) because that is what a settings screen shows next to a field.
Every setting is written once, in `_SPECS`: its document path, its attribute of `ConnectorSettings`, how
it is parsed, its default and when it is required. Parsing, the stored document and the view all read
that table.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from shared.bc import ENVIRONMENT_NAME_RULE, is_environment_name
from shared.errors import InvalidInput
from shared.jsontypes import JsonObject, JsonValue, json_type

__all__ = [
    "AUTH_MODES",
    "ITEM_TYPES",
    "ConnectorSettings",
    "FieldError",
    "PostingGroups",
    "SECRET_PATHS",
    "SETTINGS_PATHS",
    "SettingsInvalid",
    "WebServices",
    "parse_connector_name",
    "parse_connector_settings",
    "parse_put_body",
]

AUTH_MODES = ("delegated", "clientCredentials")
DEPARTMENT_SOURCES = ("department", "projectTagGroup")
EXPENSE_SOURCES = ("purchaseInvoices", "generalLedger")
#: `products.itemType`: BC's captions of enum "Item Type" -> their EDM members in API v2.0.
ITEM_TYPES = {"Service": "Service", "Non-Inventory": "Non_x002D_Inventory", "Inventory": "Inventory"}

# Name rules: used in Key Vault secret names (`connector-{name}-refresh-token`, [0-9a-zA-Z-]{1,127})
# and as a table RowKey, so only lower-case letters, digits and inner hyphens.
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
_GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOMAIN_RE = re.compile(r"(?=.{4,253}\Z)([a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}")
# Patterns are matched whole (`fullmatch`): `$` would also match before a final newline.
# OData V4 service names on BC's Web Services page.
_SERVICE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,239}")
_EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}")
_USER_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

MAX_NOTES = 4000
MAX_RECIPIENTS = 50

#: A parsed setting's value (a code, a flag, the recipients, a nested group).
Value = object


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, in words a person can act on."""

    field: str
    message: str
    choices: tuple[str, ...] | None = None

    def to_dict(self) -> JsonObject:
        out: JsonObject = {"field": self.field, "message": self.message}
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out


class SettingsInvalid(InvalidInput):
    """The settings cannot be saved (or used); `errors` has one entry per bad field (HTTP 422)."""

    default_code = "SettingsInvalid"

    def __init__(self, errors: Iterable[FieldError], *, replayable: bool = False) -> None:
        self.errors = list(errors)
        first = self.errors[0].field if self.errors else "settings"
        # A route answers 422 with every field; the error's own `field` is the first real path.
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors),
                         field=first if not first.startswith("(") else "settings", replayable=replayable)


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
    item_card: str = "Item_Card"


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
    products_enabled: bool = False
    product_item_type: str = "Service"
    product_gen_prod_posting_group: str | None = None
    product_tax_group_code: str | None = None
    product_vat_prod_posting_group: str | None = None
    product_base_unit: str | None = None
    expenses_enabled: bool = False
    expenses_from_date: str | None = None
    expenses_source: str = "purchaseInvoices"
    expenses_activity: str | None = None
    expenses_billable: bool = False
    #: Webhook push (`expenses.realtime`): None = automatic (on when PUBLIC_BASE_URL can be reached by BC).
    expenses_realtime: bool | None = None
    #: How far before the cursor every read starts again (`expenses.overlapMinutes`, late commits).
    expenses_overlap_minutes: int = 10
    web_services: WebServices = field(default_factory=WebServices)
    notification_recipients: tuple[str, ...] = ()
    notes: str = ""

    def to_document(self) -> JsonObject:
        """The camelCase document as stored and returned (no secrets)."""
        doc: JsonObject = {}
        for spec in _SPECS:
            value = spec.read(self)
            if value is None and spec.omit_if_none:
                continue
            _set_path(doc, spec.path, _json(value))
        return doc

    @property
    def product_tax_group(self) -> str | None:
        """The Tax Group of new items in a US sales-tax company: `products.taxGroupCode`, else
        `defaults.taxGroupCode`; none when taxes are disabled (`defaults.taxGroupCode` null)."""
        if self.tax_group_code is None:
            return None
        return self.product_tax_group_code or self.tax_group_code

    @property
    def product_unit(self) -> str | None:
        """The base unit of new items: `products.baseUnit`, else `defaults.unitOfMeasure`."""
        return self.product_base_unit or self.unit_of_measure

    @classmethod
    def from_document(cls, document: Mapping[str, JsonValue]) -> "ConnectorSettings":
        """Rebuild settings from a stored document (already validated when it was saved)."""
        return parse_connector_settings(document)


def parse_connector_name(name: str | None) -> str:
    """Check a connector name from a route; raises SettingsInvalid naming the `name` field."""
    if not name or not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SettingsInvalid([FieldError(
            "name",
            "A connector name has 3 to 63 characters: lower-case letters a-z, digits and hyphens, "
            "starting and ending with a letter or digit (it becomes part of Key Vault secret names "
            "and table keys).",
        )])
    return name


def parse_connector_settings(document: object) -> ConnectorSettings:
    """Parse a settings document; raise SettingsInvalid listing every bad or unknown field."""
    if not isinstance(document, Mapping):
        raise SettingsInvalid([FieldError("(body)", "The settings must be a JSON object.")])
    errors: list[FieldError] = []
    flat = _flatten(document, "", errors)
    values: dict[str, Value] = {}
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
    already = {e.field for e in errors}
    for spec in _SPECS:
        if values[spec.path] is None and spec.path not in already and spec.required is not None:
            why = spec.required(values)
            if why is not None:
                errors.append(FieldError(spec.path, f"Required{why}."))
    if errors:
        raise SettingsInvalid(_sorted(errors))
    return _build(values)


def parse_put_body(document: object) -> tuple[ConnectorSettings, dict[str, str]]:
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


# --------------------------------------------------------------------------------------------------
# Value parsers: each returns the normalised value or raises _Bad with the message a person reads.


class _Bad(ValueError):
    def __init__(self, message: str, choices: Iterable[str] | None = None):
        super().__init__(message)
        self.choices = tuple(choices) if choices is not None else None


Parser = Callable[[JsonValue], Value]


def _string(max_len: int, *, pattern: re.Pattern[str] | None = None, hint: str = "") -> Callable[[JsonValue], str]:
    def parse(raw: JsonValue) -> str:
        if not isinstance(raw, str):
            raise _Bad(f"Must be a string, not {json_type(raw)}.")
        value = raw.strip()
        if not value:
            raise _Bad("Must not be empty.")
        if len(value) > max_len:
            raise _Bad(f"Is {len(value)} characters long; at most {max_len} are allowed.")
        if pattern is not None and not pattern.fullmatch(value):
            raise _Bad(hint or "Has characters that are not allowed.")
        return value
    return parse


def _code(max_len: int) -> Callable[[JsonValue], str]:
    """A BC Code[n] value: BC stores Code fields upper-case, so we compare and store them that way."""
    text = _string(max_len)

    def parse(raw: JsonValue) -> str:
        return text(raw).upper()
    return parse


def _boolean(raw: JsonValue) -> bool:
    if not isinstance(raw, bool):
        raise _Bad(f"Must be true or false, not {json_type(raw)}.")
    return raw


def _whole(low: int, high: int) -> Callable[[JsonValue], int]:
    def parse(raw: JsonValue) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise _Bad(f"Must be a whole number from {low} to {high}, not {json_type(raw)}.")
        if not low <= raw <= high:
            raise _Bad(f"Must be from {low} to {high}, not {raw}.")
        return raw
    return parse


def _choice(options: tuple[str, ...]) -> Callable[[JsonValue], str]:
    def parse(raw: JsonValue) -> str:
        if not isinstance(raw, str) or raw not in options:
            shown = raw if isinstance(raw, str) else json_type(raw)
            raise _Bad(f"'{shown}' is not one of: {', '.join(options)}.", options)
        return raw
    return parse


def _tenant(raw: JsonValue) -> str:
    value = _string(253)(raw)
    if _GUID_RE.fullmatch(value):
        return value.lower()
    if _DOMAIN_RE.fullmatch(value):
        return value.lower()
    raise _Bad("Must be the Entra tenant id (a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47) "
               "or its domain (contoso.onmicrosoft.com). In Business Central: Help & Support, "
               "'Microsoft Entra tenant ID'.")


def _guid(raw: JsonValue) -> str:
    value = _string(36)(raw)
    if not _GUID_RE.fullmatch(value):
        raise _Bad("Must be a GUID such as 3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01 (the app registration's "
                   "Application (client) ID).")
    return value.lower()


def _secret(raw: JsonValue) -> str:
    # Never echo a secret: messages only describe its shape.
    if not isinstance(raw, str) or not raw.strip():
        raise _Bad("Must be a non-empty string.")
    if len(raw) > 1024:
        raise _Bad("Is longer than 1024 characters; Entra client secrets are much shorter.")
    return raw


def _date(raw: JsonValue) -> str:
    if not isinstance(raw, str):
        raise _Bad(f"Must be a date as YYYY-MM-DD, not {json_type(raw)}.")
    try:
        return _dt.date.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        raise _Bad(f"'{raw[:40]}' is not a date as YYYY-MM-DD.") from None


def _recipients(raw: JsonValue) -> tuple[str, ...]:
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
            if not _EMAIL_RE.fullmatch(value):
                raise _Bad(f"Item {index} ('{value[:60]}') is not a valid e-mail address.")
        elif not _USER_ID_RE.fullmatch(value):
            raise _Bad(f"Item {index} ('{value[:60]}') is neither an e-mail address nor a host user id.")
        if value not in out:
            out.append(value)
    return tuple(out)


def _notes(raw: JsonValue) -> str:
    if not isinstance(raw, str):
        raise _Bad(f"Must be a string, not {json_type(raw)}.")
    if len(raw) > MAX_NOTES:
        raise _Bad(f"Is {len(raw)} characters long; at most {MAX_NOTES} are allowed.")
    return raw


_SERVICE = _string(240, pattern=_SERVICE_NAME_RE,
                   hint="Must be an OData V4 service name as on BC's Web Services page: letters, digits, '_'.")
def _environment(raw: JsonValue) -> str:
    # The BC client's own rule (shared.bc): settings this accepts can always be used.
    value = _string(30)(raw)
    if not is_environment_name(value):
        raise _Bad(ENVIRONMENT_NAME_RULE)
    return value


_ENVIRONMENT = _environment


# --------------------------------------------------------------------------------------------------
# When a setting is required: None when it is not, else the words after "Required" in the error.

Requirement = Callable[[Mapping[str, Value]], "str | None"]


def _always(values: Mapping[str, Value]) -> str | None:
    return ""


def _when(flag: str, why: str = "", *, equals: Value = True, also: str | None = None) -> Requirement:
    """Required when setting `flag` equals `equals` (and `also`, another flag, is true)."""
    def required(values: Mapping[str, Value]) -> str | None:
        if values[flag] != equals or (also is not None and not values[also]):
            return None
        return why or f" when {flag} is true"
    return required


# --------------------------------------------------------------------------------------------------
# The settings, once: document path, attribute of ConnectorSettings (dotted into a nested group), parser.


@dataclass(frozen=True)
class _Spec:
    path: str
    attr: str
    parse: Parser
    default: Value = None
    nullable: bool = False
    omit_if_none: bool = False
    required: Requirement | None = None

    def read(self, settings: ConnectorSettings) -> Value:
        value: object = settings
        for part in self.attr.split("."):
            if value is None:
                return None
            value = getattr(value, part)
        return value


_WS = WebServices()
_CUSTOMERS = _when("customers.enabled")
_INVOICES_UNIT = " when invoices.enabled is true (invoice lines without a unit use it)"
_INVOICES_ITEM = " when invoices.enabled is true (invoice lines without a product use it)"


def _product_unit(values: Mapping[str, Value]) -> str | None:
    if values["products.enabled"] and values["defaults.unitOfMeasure"] is None:
        return " when products.enabled is true and defaults.unitOfMeasure is not set (the base unit of new items)"
    return None


_TAG_GROUP = _when("invoices.departmentSource", " when invoices.departmentSource is projectTagGroup",
                   equals="projectTagGroup", also="invoices.enabled")
_TAG_DIMENSION = _when("invoices.departmentSource", " when the department comes from a project tag group",
                       equals="projectTagGroup", also="invoices.enabled")

_SPECS: tuple[_Spec, ...] = (
    _Spec("tenantId", "tenant_id", _tenant, required=_always),
    _Spec("environment", "environment", _ENVIRONMENT, required=_always),
    # Company names are Text[30] in BC; a name pasted URL-encoded is longer, and ids are 36: allow 100.
    _Spec("company", "company", _string(100), required=_always),
    _Spec("auth.mode", "auth_mode", _choice(AUTH_MODES), required=_always),
    _Spec("auth.clientId", "client_id", _guid, omit_if_none=True),
    _Spec("defaults.unitOfMeasure", "unit_of_measure", _code(10), omit_if_none=True,
          required=_when("invoices.enabled", _INVOICES_UNIT)),
    _Spec("defaults.taxGroupCode", "tax_group_code", _code(20), nullable=True),
    _Spec("defaults.writeInItem", "write_in_item", _code(20), omit_if_none=True,
          required=_when("invoices.enabled", _INVOICES_ITEM)),
    _Spec("defaults.useHostInvoiceNumber", "use_host_invoice_number", _boolean, default=False),
    _Spec("customers.enabled", "customers_enabled", _boolean, default=False),
    _Spec("customers.domestic.genBusPostingGroup", "customers_domestic.gen_bus_posting_group", _code(20),
          omit_if_none=True, required=_CUSTOMERS),
    _Spec("customers.domestic.customerPostingGroup", "customers_domestic.customer_posting_group", _code(20),
          omit_if_none=True, required=_CUSTOMERS),
    _Spec("customers.abroad.genBusPostingGroup", "customers_abroad.gen_bus_posting_group", _code(20),
          omit_if_none=True, required=_CUSTOMERS),
    _Spec("customers.abroad.customerPostingGroup", "customers_abroad.customer_posting_group", _code(20),
          omit_if_none=True, required=_CUSTOMERS),
    _Spec("projects.enabled", "projects_enabled", _boolean, default=False),
    _Spec("projects.dimension", "project_dimension", _code(20), omit_if_none=True,
          required=_when("projects.enabled")),
    _Spec("invoices.enabled", "invoices_enabled", _boolean, default=False),
    _Spec("invoices.departmentDimension", "department_dimension", _code(20), omit_if_none=True,
          required=_TAG_DIMENSION),
    _Spec("invoices.departmentSource", "department_source", _choice(DEPARTMENT_SOURCES), default="department"),
    _Spec("invoices.departmentTagGroup", "department_tag_group", _string(100), omit_if_none=True,
          required=_TAG_GROUP),
    _Spec("invoices.post", "post_invoices", _boolean, default=False),
    _Spec("products.enabled", "products_enabled", _boolean, default=False),
    _Spec("products.itemType", "product_item_type", _choice(tuple(ITEM_TYPES)), default="Service"),
    _Spec("products.genProductPostingGroup", "product_gen_prod_posting_group", _code(20), omit_if_none=True,
          required=_when("products.enabled", " when products.enabled is true (BC refuses an item without one on a "
                                             "sales line)")),
    _Spec("products.taxGroupCode", "product_tax_group_code", _code(20), omit_if_none=True),
    _Spec("products.vatProductPostingGroup", "product_vat_prod_posting_group", _code(20), omit_if_none=True),
    _Spec("products.baseUnit", "product_base_unit", _code(10), omit_if_none=True, required=_product_unit),
    _Spec("expenses.enabled", "expenses_enabled", _boolean, default=False),
    _Spec("expenses.fromDate", "expenses_from_date", _date, omit_if_none=True, required=_when("expenses.enabled")),
    _Spec("expenses.source", "expenses_source", _choice(EXPENSE_SOURCES), default="purchaseInvoices"),
    _Spec("expenses.activity", "expenses_activity", _string(100), omit_if_none=True,
          required=_when("expenses.enabled")),
    _Spec("expenses.billable", "expenses_billable", _boolean, default=False),
    _Spec("expenses.realtime", "expenses_realtime", _boolean, omit_if_none=True),
    _Spec("expenses.overlapMinutes", "expenses_overlap_minutes", _whole(1, 1440), default=10),
    _Spec("webServices.customerCard", "web_services.customer_card", _SERVICE, default=_WS.customer_card),
    _Spec("webServices.dimensionValues", "web_services.dimension_values", _SERVICE, default=_WS.dimension_values),
    _Spec("webServices.genBusPostingGroups", "web_services.gen_bus_posting_groups", _SERVICE,
          default=_WS.gen_bus_posting_groups),
    _Spec("webServices.customerPostingGroups", "web_services.customer_posting_groups", _SERVICE,
          default=_WS.customer_posting_groups),
    _Spec("webServices.noSeries", "web_services.no_series", _SERVICE, default=_WS.no_series),
    _Spec("webServices.salesSetup", "web_services.sales_setup", _SERVICE, default=_WS.sales_setup),
    _Spec("webServices.itemCard", "web_services.item_card", _SERVICE, default=_WS.item_card),
    _Spec("notifications.recipients", "notification_recipients", _recipients, default=()),
    _Spec("notes", "notes", _notes, default=""),
)

#: Nested groups of ConnectorSettings: attribute -> type, and whether an all-empty group is None.
_GROUPS: dict[str, tuple[type[PostingGroups] | type[WebServices], bool]] = {
    "customers_domestic": (PostingGroups, True),
    "customers_abroad": (PostingGroups, True),
    "web_services": (WebServices, False),
}

#: Write-only fields: accepted in a PUT body, never stored in the document nor returned.
SECRET_PATHS = ("auth.clientSecret",)

_LEAF_PATHS = {spec.path for spec in _SPECS} | set(SECRET_PATHS)
_OBJECT_PATHS = {".".join(p.split(".")[:depth]) for p in _LEAF_PATHS for depth in range(1, p.count(".") + 1)}
_ORDER = {spec.path: i for i, spec in enumerate(_SPECS)}
#: Every settings path a PUT body may hold (dotted), secrets included.
SETTINGS_PATHS = tuple(sorted(_LEAF_PATHS))


def _build(values: Mapping[str, Value]) -> ConnectorSettings:
    """ConnectorSettings from parsed values by path, nested groups assembled from their dotted attributes."""
    flat: dict[str, Value] = {}
    groups: dict[str, dict[str, Value]] = {}
    for spec in _SPECS:
        if "." in spec.attr:
            group, attr = spec.attr.split(".", 1)
            groups.setdefault(group, {})[attr] = values[spec.path]
        else:
            flat[spec.attr] = values[spec.path]
    for group, fields in groups.items():
        kind, none_when_empty = _GROUPS[group]
        flat[group] = None if none_when_empty and all(v is None for v in fields.values()) else kind(**fields)
    return ConnectorSettings(**flat)  # type: ignore[arg-type]  # each parser returns its attribute's type


def _flatten(document: Mapping[str, JsonValue], prefix: str, errors: list[FieldError]) -> dict[str, JsonValue]:
    """Turn nested objects into dotted paths, reporting unknown fields and objects of the wrong type."""
    flat: dict[str, JsonValue] = {}
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


def _json(value: Value) -> JsonValue:
    return list(value) if isinstance(value, tuple) else value  # type: ignore[return-value]


def _set_path(doc: JsonObject, path: str, value: JsonValue) -> None:
    parts = path.split(".")
    target = doc
    for part in parts[:-1]:
        child = target.setdefault(part, {})
        assert isinstance(child, dict)
        target = child
    target[parts[-1]] = value


def _sorted(errors: list[FieldError]) -> list[FieldError]:
    return sorted(errors, key=lambda e: (_ORDER.get(e.field, len(_ORDER)), e.field))
