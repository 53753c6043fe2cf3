"""Exports to Business Central (docs/contract.md §1, §4, §5): customers, projects (as dimension values),
products (as items) and sales invoices, from queue messages, idempotently and with as few BC requests as possible.

    outcome = service.process(Delivery("bc-invoices", text, message_id, dequeue_count))

`ExportService.process` sends exactly one outcome per message (or raises so the queue retries);
`process_poison` closes out messages the queue gave up on; `list_failed` feeds replay. The ports it
needs are Protocols here (`_ports.py`, `Ledger`, `ParkingLot`); the storage adapters are
`shared.adapters.ledger` and `shared.adapters.parking`.
"""

from ._claim import Claim, Claims, EntityKey, record_failure
from ._context import Delivery, ExportContext, ExportResult, LookupCache
from ._customers import CUSTOMER, CustomerPlan, export_customer, plan_customer
from ._entity import Attempt, EntityJob, EntityRun, Work, content_hash
from ._errors import BcHas, ClaimBusy, ExportFailed, attribute_field, failed_from_bc, translate
from ._invoices import INVOICE, InvoicePlan, export_invoice, plan_invoice
from ._ledger import FAILED, PARKED, PENDING, RETRY, SYNCED, Ledger, LedgerRow
from ._parking import ParkedMessage, ParkingLot, replay_parked
from ._poison import POISON_QUEUES
from ._ports import BcClientSource, ConnectorStore, ExportOptions, Notifier, Outbox, PayloadStore, ReconnectReporter
from ._products import PRODUCT, ProductPlan, export_product, plan_product
from ._projects import PROJECT, ProjectPlan, export_project, plan_project
from ._service import ExportService, FailedMessages, unkeyed_id

__all__ = [
    "CUSTOMER",
    "FAILED",
    "INVOICE",
    "PARKED",
    "PENDING",
    "POISON_QUEUES",
    "PRODUCT",
    "PROJECT",
    "RETRY",
    "SYNCED",
    "Attempt",
    "BcClientSource",
    "BcHas",
    "Claim",
    "ClaimBusy",
    "Claims",
    "ConnectorStore",
    "CustomerPlan",
    "Delivery",
    "EntityJob",
    "EntityKey",
    "EntityRun",
    "ExportContext",
    "ExportFailed",
    "ExportOptions",
    "ExportResult",
    "ExportService",
    "FailedMessages",
    "InvoicePlan",
    "Ledger",
    "LedgerRow",
    "LookupCache",
    "Notifier",
    "Outbox",
    "PayloadStore",
    "ParkedMessage",
    "ParkingLot",
    "ProductPlan",
    "ProjectPlan",
    "ReconnectReporter",
    "Work",
    "attribute_field",
    "content_hash",
    "export_customer",
    "export_invoice",
    "export_product",
    "export_project",
    "failed_from_bc",
    "plan_customer",
    "plan_invoice",
    "plan_product",
    "plan_project",
    "record_failure",
    "replay_parked",
    "translate",
    "unkeyed_id",
]
