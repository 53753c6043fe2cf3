"""Exports to Business Central (ARCHITECTURE §1, §4, §5): customers, projects (as dimension values) and
sales invoices, from queue messages, idempotently and with as few BC requests as possible.

    deps = export_deps(get_services())
    outcome = process_message(Delivery("bc-invoices", text, message_id, dequeue_count), deps)

`process_message` sends exactly one outcome per message (or raises so the queue retries);
`process_poison` closes out messages the queue gave up on; `list_failed_messages` feeds replay.
The ledger (`SyncLedger`) and its claim protocol are in `_ledger.py` / `_claim.py`.
"""

from ._claim import Claim, acquire, finish, release
from ._context import (
    WORKER_GATES,
    WORKER_LOOKUPS,
    ExportContext,
    ExportDeps,
    ExportResult,
    LookupCache,
    export_deps,
)
from ._customers import CUSTOMER, CustomerPlan, export_customer, plan_customer
from ._errors import ClaimBusy, ExportFailed, ExportTransient
from ._export import CONSENT_HINT, Delivery, build_outcome, process_message
from shared.bc import BC_CONCURRENCY_PER_USER, ConnectorGates, GateBusy
from ._invoices import INVOICE, InvoicePlan, export_invoice, plan_invoice
from ._ledger import (
    FAILED,
    PARKED,
    PENDING,
    RETRY,
    SYNCED,
    InMemoryLedger,
    Ledger,
    LedgerConflict,
    LedgerRow,
    TableLedger,
)
from ._poison import POISON_QUEUES, list_failed_messages, process_poison
from ._projects import PROJECT, ProjectPlan, export_project, plan_project
from ._queue import handle_poison_message, handle_queue_message

__all__ = [
    "BC_CONCURRENCY_PER_USER",
    "CONSENT_HINT",
    "CUSTOMER",
    "FAILED",
    "INVOICE",
    "PARKED",
    "PENDING",
    "POISON_QUEUES",
    "PROJECT",
    "RETRY",
    "SYNCED",
    "WORKER_GATES",
    "WORKER_LOOKUPS",
    "Claim",
    "ClaimBusy",
    "ConnectorGates",
    "CustomerPlan",
    "Delivery",
    "ExportContext",
    "ExportDeps",
    "ExportFailed",
    "ExportResult",
    "ExportTransient",
    "GateBusy",
    "InMemoryLedger",
    "InvoicePlan",
    "Ledger",
    "LedgerConflict",
    "LedgerRow",
    "LookupCache",
    "ProjectPlan",
    "TableLedger",
    "acquire",
    "build_outcome",
    "export_customer",
    "export_deps",
    "export_invoice",
    "export_project",
    "finish",
    "handle_poison_message",
    "handle_queue_message",
    "list_failed_messages",
    "plan_customer",
    "plan_invoice",
    "plan_project",
    "process_message",
    "process_poison",
    "release",
]
