"""The names of the app's tables and queues in its storage account (the contract: docs/contract.md §4, §6).

One place, so the adapters, the composition root, the deployment checks and the docs agree.
"""

from __future__ import annotations

from shared.messages import PAYLOAD_CONTAINER  # the claim-check container; the messages define dataRef

__all__ = ["TABLES", "QUEUES", "CONTRACT_QUEUES", "PAYLOAD_CONTAINER"]

#: Table names by the key the composition root uses.
TABLES = {
    "connectors": "Connectors",
    "ledger": "SyncLedger",
    "consent": "ConsentStates",
    "cursors": "ImportCursors",
    "parked": "Parked",
    "locks": "Locks",
    "activity": "ConnectorActivity",
    "tokens": "TokenVersions",
    "subscriptions": "WebhookSubscriptions",
    "requests": "ImportRequests",
    "budgets": "BcBudgets",
}

#: Queue names by key: the four export queues, the three output queues, the exports' poison queues, and
#: the internal queue of expense import runs that webhook notifications ask for.
QUEUES = {
    "customers": "bc-customers",
    "projects": "bc-projects",
    "products": "bc-products",
    "invoices": "bc-invoices",
    "outcomes": "bc-outcomes",
    "expenses": "bc-expenses",
    "notifications": "bc-notifications",
    "customers-poison": "bc-customers-poison",
    "projects-poison": "bc-projects-poison",
    "products-poison": "bc-products-poison",
    "invoices-poison": "bc-invoices-poison",
    "import-requests": "bc-import-requests",
}

#: Every queue the app may send to.
CONTRACT_QUEUES = frozenset(QUEUES.values())
