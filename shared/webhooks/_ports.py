"""What the webhook use cases need from the world, as small Protocols; `shared.bootstrap` passes the real
adapters (`shared.adapters.webhook_subscriptions`, `shared.adapters.import_requests`, Key Vault, the BC
clients), tests pass the in-memory twins.

Table `WebhookSubscriptions` (PartitionKey = connector, RowKey = the subscribed entity set) keeps what BC
answered: the subscription id, its resource and notification URL, its expiry and BC's ETag (for the
renewal's `If-Match`), and our state of it. The `clientState` is NOT there: it is a Key Vault secret per
connector (`connector-{name}-webhook-state`).

Table `ImportRequests` (PartitionKey = connector, RowKey `request`) is the coalescing flag: `queued` while
a message on `bc-import-requests` waits for that connector; written through `guarded_update`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from shared.connectors import ConnectorRecord

__all__ = ["Subscription", "SubscriptionStore", "SubscriptionClient", "SubscriptionClients", "Secrets",
           "ImportRequest", "ImportRequestRows", "RequestQueue", "Importer", "RunSummary"]


@dataclass(frozen=True)
class Subscription:
    """One subscription of one connector, as we last saw it."""

    connector: str
    entity_set: str  # purchaseInvoices | generalLedgerEntries
    state: str  # active | failed (creation or renewal refused; retried by the keep-alive) | creating
    subscription_id: str = ""
    resource: str = ""
    notification_url: str = ""
    expires_at: str = ""  # ISO-8601 UTC, BC's expirationDateTime
    bc_etag: str = ""  # BC's @odata.etag, for the renewal's If-Match
    error: str = ""  # why the last create or renewal failed (no secrets: BC's message)
    updated_at: str = ""
    etag: str | None = None  # the table row's


class SubscriptionStore(Protocol):
    def list(self, connector: str) -> list[Subscription]: ...

    def list_all(self) -> list[Subscription]: ...

    def put(self, subscription: Subscription) -> Subscription:
        """Write unconditionally (only the connector's save, consent and keep-alive write these rows)."""
        ...

    def delete(self, connector: str, entity_set: str) -> None: ...


class SubscriptionClient(Protocol):
    """`shared.bc.BcClient`'s subscription methods (through its gate, token, retry and budget)."""

    def get_subscription(self, subscription_id: str) -> dict | None: ...

    def create_subscription(self, *, notification_url: str, resource: str, client_state: str) -> dict: ...

    def renew_subscription(self, subscription_id: str, *, etag: str, notification_url: str, resource: str,
                           client_state: str) -> dict: ...

    def delete_subscription(self, subscription_id: str, *, etag: str = "*") -> bool: ...


class SubscriptionClients(Protocol):
    """BC clients for stored connectors (`shared.tokens.BcClients`); raises ReconnectRequired without a grant."""

    def for_record(self, record: ConnectorRecord) -> SubscriptionClient: ...


class Secrets(Protocol):
    def get_secret(self, name: str) -> str | None: ...

    def set_secret(self, name: str, value: str) -> None: ...

    def delete_secret(self, name: str) -> None: ...


@dataclass(frozen=True)
class ImportRequest:
    connector: str
    queued: bool
    queued_at: str = ""
    runs: int = 0  # runs started from requests, for the view and the benchmark
    coalesced: int = 0  # notifications folded into a run already queued
    etag: str | None = None


class ImportRequestRows(Protocol):
    def get(self, connector: str) -> ImportRequest | None: ...

    def put(self, request: ImportRequest) -> ImportRequest:
        """Create (etag None) or replace if unchanged; raises ConflictError when another writer was first."""
        ...


class RequestQueue(Protocol):
    """Queue `bc-import-requests`: one message `{"connector": name}` asks for one run."""

    def send(self, connector: str, *, delay_seconds: int = 0) -> None: ...


class RunSummary(Protocol):
    @property
    def status(self) -> str: ...


class Importer(Protocol):
    """`shared.expenses.ExpenseImport`."""

    def import_one(self, name: str, *, budget_seconds: float | None = None) -> RunSummary: ...
