"""The `data` of customer, project, product and invoice messages (docs/contract.md §4), parsed into frozen values.

Absent optional fields are `UNSET` and leave BC's value alone; `null` or `""` clears it. Every error
names the field as the host wrote it, under `data.` (or `data.customer.` inside an invoice).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Mapping, Union

from shared.jsontypes import JsonValue

from . import _fields as f
from ._errors import MessageInvalid, unforeseen
from ._fields import UNSET, Read, Unset

__all__ = [
    "Address",
    "CustomerData",
    "ProductData",
    "ProjectData",
    "ProjectRef",
    "DepartmentRef",
    "ProjectTag",
    "InvoiceLine",
    "InvoiceData",
    "parse_customer",
    "parse_project",
    "parse_product",
    "parse_invoice",
    "parse_data",
    "MessageData",
    "MAX_INVOICE_LINES",
    "PRODUCT_TYPES",
    "NEGATIVE_INVOICE_TOTAL",
]

#: The code of an invoice whose lines add up to less than zero (BC posts that only as a credit memo).
NEGATIVE_INVOICE_TOTAL = "NegativeInvoiceTotal"

_CENT = Decimal("0.01")

#: Deep insert has no documented line limit (docs/business-central.md §5); one message holds at most 64 KiB anyway.
MAX_INVOICE_LINES = 1000

_CUSTOMER_TYPES = {"company": "Company", "person": "Person"}
# Customer Blocked enum as BC's EDM members (the blank option is `_x0020_`, see sandbox README).
_BLOCKED = {"": "_x0020_", " ": "_x0020_", "_x0020_": "_x0020_", "ship": "Ship", "invoice": "Invoice",
            "all": "All"}
_PROJECT_STATUS = {"active": "active", "closed": "closed"}
#: Item types a product may ask for (docs/contract.md §4), as BC's EDM members of enum "Item Type".
PRODUCT_TYPES = {"service": "Service", "non-inventory": "Non_x002D_Inventory", "noninventory": "Non_x002D_Inventory",
                 "inventory": "Inventory"}


@dataclass(frozen=True)
class Address:
    line1: str | Unset = UNSET
    line2: str | Unset = UNSET
    city: str | Unset = UNSET
    state: str | Unset = UNSET
    postal_code: str | Unset = UNSET
    country_code: str | Unset = UNSET


@dataclass(frozen=True)
class CustomerData:
    id: str
    name: str
    number: str | Unset = UNSET  # BC customer number (Code[20]); BC's series numbers it when absent
    type: str | Unset = UNSET  # "Company" | "Person"
    email: str | Unset = UNSET
    phone: str | Unset = UNSET
    website: str | Unset = UNSET
    currency_code: str | Unset = UNSET
    tax_registration_number: str | Unset = UNSET
    invoice_address: Address | Unset = UNSET
    blocked: str | Unset = UNSET  # EDM member of "Customer Blocked"

    @property
    def country_code(self) -> str:
        address = self.invoice_address
        return (address.country_code or "") if isinstance(address, Address) else ""


@dataclass(frozen=True)
class ProjectData:
    id: str
    number: str
    name: str
    customer_id: str | Unset = UNSET
    status: str = "active"


@dataclass(frozen=True)
class ProductData:
    """A product the host sells, as a BC item: `number` is the item number (Code[20]); `blocked` retires it."""

    id: str
    number: str
    name: str
    unit_price: float | Unset = UNSET
    unit: str | Unset = UNSET  # base unit of measure when the item is created (Code[10])
    type: str | Unset = UNSET  # EDM member of "Item Type", see PRODUCT_TYPES
    blocked: bool | Unset = UNSET


@dataclass(frozen=True)
class ProjectRef:
    id: str
    number: str
    name: str | Unset = UNSET


@dataclass(frozen=True)
class DepartmentRef:
    code: str
    name: str | Unset = UNSET


@dataclass(frozen=True)
class ProjectTag:
    group: str
    value: str


@dataclass(frozen=True)
class InvoiceLine:
    index: int
    quantity: float
    unit_price: float
    description: str | Unset = UNSET
    product_number: str | Unset = UNSET  # an item number, or UNSET for a write-in line
    product_name: str | Unset = UNSET
    #: The product snapshot when the line names one with an `id` (exported first if the ledger does not know it).
    product: ProductData | Unset = UNSET
    discount_percent: float | Unset = UNSET
    unit_of_measure: str | Unset = UNSET


@dataclass(frozen=True)
class InvoiceData:
    id: str
    customer: CustomerData
    lines: tuple[InvoiceLine, ...]
    invoice_date: str | Unset = UNSET
    due_date: str | Unset = UNSET
    currency_code: str | Unset = UNSET
    project: ProjectRef | Unset = UNSET
    department: DepartmentRef | Unset = UNSET
    project_tags: tuple[ProjectTag, ...] = field(default_factory=tuple)
    your_reference: str | Unset = UNSET


#: The parsed `data` of a message, by type.
MessageData = Union[CustomerData, ProjectData, ProductData, InvoiceData]


def _address(value: Read, where: str) -> Address | Unset:
    if value is UNSET or value is None:
        return UNSET
    source = f.obj(value, where)
    return Address(
        line1=f.text(f.get(source, "line1"), f"{where}.line1", 100),
        line2=f.text(f.get(source, "line2"), f"{where}.line2", 50),
        city=f.text(f.get(source, "city"), f"{where}.city", 30),
        state=f.text(f.get(source, "state"), f"{where}.state", 30),
        postal_code=f.code(f.get(source, "postalCode"), f"{where}.postalCode", 20),
        country_code=f.code(f.get(source, "countryCode"), f"{where}.countryCode", 10),
    )


def _blocked(value: Read, where: str) -> str | Unset:
    if value is UNSET:
        return UNSET
    if value is None or value is False:
        return "_x0020_"
    if value is True:
        return "All"
    if isinstance(value, str):
        return f.choice(value if value.strip() else "", where, _BLOCKED)
    raise MessageInvalid(where, f"must be true, false or one of Ship, Invoice, All; not {f.json_type(value)}")


def parse_customer(data: Read, prefix: str = "data") -> CustomerData:
    """Customer `data`: id and name are required; BC's lengths apply (displayName Text[100], …)."""
    source = f.obj(data, prefix)
    return CustomerData(
        id=f.host_id(f.get(source, "id"), f"{prefix}.id"),
        name=f.text(f.get(source, "name"), f"{prefix}.name", 100, required=True),
        number=_optional_code(f.get(source, "number"), f"{prefix}.number", 20),
        type=f.choice(f.get(source, "type"), f"{prefix}.type", _CUSTOMER_TYPES)
        if f.get(source, "type") is not None else UNSET,
        email=f.text(f.get(source, "email"), f"{prefix}.email", 80),
        phone=f.text(f.get(source, "phone"), f"{prefix}.phone", 30),
        website=f.text(f.get(source, "website"), f"{prefix}.website", 255),
        currency_code=f.code(f.get(source, "currencyCode"), f"{prefix}.currencyCode", 10),
        tax_registration_number=f.text(f.get(source, "taxRegistrationNumber"),
                                       f"{prefix}.taxRegistrationNumber", 50),
        invoice_address=_address(f.get(source, "invoiceAddress"), f"{prefix}.invoiceAddress"),
        blocked=_blocked(f.get(source, "blocked"), f"{prefix}.blocked"),
    )


def _optional_code(value: Read, where: str, max_len: int) -> str | Unset:
    """An optional BC number: absent, null and "" all mean "let BC number it"."""
    out = f.code(value, where, max_len)
    return out if out else UNSET


def parse_project(data: Read, prefix: str = "data") -> ProjectData:
    """Project `data`: the number becomes the dimension value code (Code[20]); the name is shortened later."""
    source = f.obj(data, prefix)
    number = f.code(f.get(source, "number"), f"{prefix}.number", 20, required=True)
    name = f.text(f.get(source, "name"), f"{prefix}.name", 250)
    status = f.choice(f.get(source, "status"), f"{prefix}.status", _PROJECT_STATUS) \
        if f.get(source, "status") is not None else UNSET
    customer_id = f.get(source, "customerId")
    return ProjectData(
        id=f.host_id(f.get(source, "id"), f"{prefix}.id"),
        number=number,
        name=name if name else number,
        customer_id=UNSET if customer_id in (UNSET, None) else f.host_id(customer_id, f"{prefix}.customerId"),
        status=status or "active",
    )


def parse_product(data: Read, prefix: str = "data", *, snapshot: bool = False) -> ProductData:
    """Product `data`: id, number (the item number, Code[20]) and name are required; the name is shortened to
    BC's 100 characters later. A snapshot on an invoice line has no `blocked` (retiring is the product's own
    message)."""
    source = f.obj(data, prefix)
    name = f.text(f.get(source, "name"), f"{prefix}.name", 250, required=True)
    kind = f.get(source, "type")
    blocked = f.get(source, "blocked")
    if snapshot and blocked is not UNSET:
        raise MessageInvalid(f"{prefix}.blocked", "is not part of a product snapshot; retire a product with a "
                                                  "bc-products message")
    return ProductData(
        id=f.host_id(f.get(source, "id"), f"{prefix}.id"),
        number=f.code(f.get(source, "number"), f"{prefix}.number", 20, required=True),
        name=name,
        unit_price=f.number(f.get(source, "unitPrice"), f"{prefix}.unitPrice", minimum=0),
        unit=_optional_code(f.get(source, "unit"), f"{prefix}.unit", 10),
        type=f.choice(kind, f"{prefix}.type", PRODUCT_TYPES) if kind is not None else UNSET,
        blocked=f.boolean(blocked, f"{prefix}.blocked"),
    )


def _project_ref(value: Read, where: str) -> ProjectRef | Unset:
    if value is UNSET or value is None:
        return UNSET
    source = f.obj(value, where)
    project_id = f.get(source, "id")
    return ProjectRef(
        id=f.host_id(project_id, f"{where}.id") if project_id not in (UNSET, None) else "",
        number=f.code(f.get(source, "number"), f"{where}.number", 20, required=True),
        name=f.text(f.get(source, "name"), f"{where}.name", 250),
    )


def _department(value: Read, where: str) -> DepartmentRef | Unset:
    if value is UNSET or value is None:
        return UNSET
    source = f.obj(value, where)
    return DepartmentRef(code=f.code(f.get(source, "code"), f"{where}.code", 20, required=True),
                         name=f.text(f.get(source, "name"), f"{where}.name", 250))


def _tags(value: Read, where: str) -> tuple[ProjectTag, ...]:
    if value is UNSET or value is None:
        return ()
    if not isinstance(value, list):
        raise MessageInvalid(where, f"must be a list of {{group, value}} objects, not {f.json_type(value)}")
    if len(value) > 200:
        raise MessageInvalid(where, f"has {len(value)} tags; at most 200 are accepted")
    tags = []
    for i, item in enumerate(value):
        source = f.obj(item, f"{where}[{i}]")
        tags.append(ProjectTag(group=f.text(f.get(source, "group"), f"{where}[{i}].group", 100, required=True),
                               value=f.text(f.get(source, "value"), f"{where}[{i}].value", 100, required=True)))
    return tuple(tags)


def _line(value: JsonValue, index: int, where: str) -> InvoiceLine:
    source = f.obj(value, where)
    product = f.get(source, "product")
    product_number: str | Unset = UNSET
    product_name: str | Unset = UNSET
    snapshot: ProductData | Unset = UNSET
    if product is not UNSET and product is not None:
        p = f.obj(product, f"{where}.product")
        if f.get(p, "id") not in (UNSET, None):
            snapshot = parse_product(p, f"{where}.product", snapshot=True)
            product_number, product_name = snapshot.number, snapshot.name
        else:
            product_number = f.code(f.get(p, "number"), f"{where}.product.number", 20, required=True)
            product_name = f.text(f.get(p, "name"), f"{where}.product.name", 250)
    description = f.text(f.get(source, "description"), f"{where}.description", 2000)
    return InvoiceLine(
        index=index,
        quantity=f.number(f.get(source, "quantity"), f"{where}.quantity", required=True),
        unit_price=f.number(f.get(source, "unitPrice"), f"{where}.unitPrice", required=True),
        description=description,
        product_number=product_number,
        product_name=product_name,
        product=snapshot,
        discount_percent=f.number(f.get(source, "discountPercent"), f"{where}.discountPercent", minimum=0,
                                  maximum=100),
        unit_of_measure=_optional_code(f.get(source, "unitOfMeasure"), f"{where}.unitOfMeasure", 10),
    )


def _line_amount(line: InvoiceLine) -> Decimal:
    """quantity × unitPrice less the discount, in cents as BC rounds a line amount (decimal, not float)."""
    amount = Decimal(repr(line.quantity)) * Decimal(repr(line.unit_price))
    if isinstance(line.discount_percent, (int, float)):
        amount -= amount * Decimal(repr(line.discount_percent)) / 100
    if abs(amount) >= f.MAX_DECIMAL:  # too large to round to cents within 28 digits; refused by the caller
        return amount
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def _check_total(lines: tuple[InvoiceLine, ...], where: str) -> None:
    """Each line's amount and the sum must fit BC's decimals, and the sum must not be negative: BC refuses to
    post a sales invoice whose total is below zero ("The total amount for the invoice must be 0 or
    greater"); such a document is a credit memo there, which this connector does not export."""
    total = Decimal(0)
    for line in lines:
        amount = _line_amount(line)
        if abs(amount) >= f.MAX_DECIMAL:
            raise MessageInvalid(f"{where}[{line.index}]", "quantity × unitPrice is too large for a Business "
                                                           "Central amount")
        total += amount
    if abs(total) >= f.MAX_DECIMAL:
        raise MessageInvalid(where, "the lines add up to an amount too large for Business Central")
    if total < 0:
        raise MessageInvalid(where, f"the lines add up to {total}, a negative total; Business Central posts "
                                    "a negative amount only as a credit memo, which this connector does not "
                                    "export. Send the credit as a credit memo in Business Central, or make "
                                    "the invoice total 0 or more.", code=NEGATIVE_INVOICE_TOTAL)


def parse_invoice(data: Read, prefix: str = "data") -> InvoiceData:
    """Invoice `data`: id (the idempotency key, sent as externalDocumentNumber Code[35]), the customer
    snapshot and at least one line are required."""
    source = f.obj(data, prefix)
    invoice_id = f.host_id(f.get(source, "id"), f"{prefix}.id", max_len=35)
    customer = f.get(source, "customer")
    if customer is UNSET or customer is None:
        raise MessageInvalid(f"{prefix}.customer", "is required (a snapshot of the customer, exported first "
                                                   "if Business Central does not know it yet)")
    lines = f.get(source, "lines")
    if lines is UNSET or lines is None:
        raise MessageInvalid(f"{prefix}.lines", "is required")
    if not isinstance(lines, list):
        raise MessageInvalid(f"{prefix}.lines", f"must be a list, not {f.json_type(lines)}")
    if not lines:
        raise MessageInvalid(f"{prefix}.lines", "must hold at least one line")
    if len(lines) > MAX_INVOICE_LINES:
        raise MessageInvalid(f"{prefix}.lines", f"has {len(lines)} lines; at most {MAX_INVOICE_LINES} are "
                                                "accepted")
    snapshot = parse_customer(customer, f"{prefix}.customer")
    parsed_lines = tuple(_line(item, i, f"{prefix}.lines[{i}]") for i, item in enumerate(lines))
    _check_total(parsed_lines, f"{prefix}.lines")
    return InvoiceData(
        id=invoice_id,
        customer=snapshot,
        lines=parsed_lines,
        invoice_date=f.date(f.get(source, "invoiceDate"), f"{prefix}.invoiceDate"),
        due_date=f.date(f.get(source, "dueDate"), f"{prefix}.dueDate"),
        currency_code=f.code(f.get(source, "currencyCode"), f"{prefix}.currencyCode", 10),
        project=_project_ref(f.get(source, "project"), f"{prefix}.project"),
        department=_department(f.get(source, "department"), f"{prefix}.department"),
        project_tags=_tags(f.get(source, "projectTags"), f"{prefix}.projectTags"),
        your_reference=f.text(f.get(source, "yourReference"), f"{prefix}.yourReference", 250),
    )


def parse_data(kind: str, data: Mapping[str, JsonValue]) -> MessageData:
    """The `data` of a message of `kind` ("customer", "project", "product", "invoice"). Raises only
    MessageInvalid."""
    if kind not in ("customer", "project", "product", "invoice"):
        raise ValueError(f"unknown message type {kind!r}")
    with unforeseen("data"):
        return _parse_data(kind, data)


def _parse_data(kind: str, data: Mapping[str, JsonValue]) -> MessageData:
    if kind == "customer":
        return parse_customer(data)
    if kind == "product":
        return parse_product(data)
    if kind == "project":
        return parse_project(data)
    if kind == "invoice":
        return parse_invoice(data)
    raise ValueError(f"unknown message type {kind!r}")
