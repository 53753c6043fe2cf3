"""Input messages of the export queues (docs/contract.md §4): the envelope, the host's version stamp, and the
`data` of customers, projects, products and invoices, parsed strictly with one `MessageInvalid(field, message)`
per problem, so a bad message becomes a clear `failed` outcome and is never retried.

    envelope = parse_envelope(text, queue_type="invoice")
    invoice = parse_data(envelope.type, envelope.data)

Pure: no storage, no BC.
"""

from ._deferral import Received, unwrap_deferred, wrap_deferred
from ._entities import (
    MAX_INVOICE_LINES,
    NEGATIVE_INVOICE_TOTAL,
    Address,
    CustomerData,
    DepartmentRef,
    InvoiceData,
    InvoiceLine,
    PRODUCT_TYPES,
    ProductData,
    ProjectData,
    ProjectRef,
    ProjectTag,
    parse_customer,
    parse_data,
    parse_invoice,
    parse_product,
    parse_project,
)
from ._envelope import (
    MAX_MESSAGE_CHARS,
    MAX_PAYLOAD_BYTES,
    PAYLOAD_CONTAINER,
    QUEUE_TYPES,
    DataRef,
    Envelope,
    parse_envelope,
    peek_identity,
)
from ._errors import MessageInvalid
from ._fields import UNSET, shorten
from ._outbound import NOTIFICATION_EVENTS, OUTCOME_STATUSES, notification, outcome
from ._version import Version

__all__ = [
    "Address",
    "CustomerData",
    "DataRef",
    "DepartmentRef",
    "Envelope",
    "InvoiceData",
    "InvoiceLine",
    "MAX_INVOICE_LINES",
    "NEGATIVE_INVOICE_TOTAL",
    "MAX_MESSAGE_CHARS",
    "MAX_PAYLOAD_BYTES",
    "PAYLOAD_CONTAINER",
    "MessageInvalid",
    "NOTIFICATION_EVENTS",
    "PRODUCT_TYPES",
    "ProductData",
    "ProjectData",
    "ProjectRef",
    "ProjectTag",
    "QUEUE_TYPES",
    "Received",
    "UNSET",
    "Version",
    "notification",
    "outcome",
    "OUTCOME_STATUSES",
    "parse_customer",
    "parse_data",
    "parse_envelope",
    "parse_invoice",
    "parse_product",
    "parse_project",
    "peek_identity",
    "shorten",
    "unwrap_deferred",
    "wrap_deferred",
]
