"""A worker of the app for integration tests: the real adapters on Azurite and the sandbox (secrets in memory,
notifications kept in a list), the `App` built on them by the composition root, and short names for what
tests read and change directly (tables, queues, stores)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from azure.data.tables import TableClient, TableServiceClient
from azure.storage.queue import QueueClient, QueueServiceClient

from shared.adapters import ensure_queue, ensure_table
from shared.adapters.names import QUEUES, TABLES
from shared.bootstrap import Adapters, App, bootstrap, build_adapters
from shared.expenses import ExpenseImport, ImportOptions


class Notifications(list):
    """Notifications the app sent, in order (the `Notifier` of the test worker)."""

    def notify(self, message: Mapping[str, Any]) -> None:
        self.append(dict(message))


class Worker:
    """One worker's adapters and app; `rebuild()` after replacing an adapter."""

    def __init__(self, environ: Mapping[str, str], *, adapters: Adapters, notifications: Notifications) -> None:
        self.environ = dict(environ)
        self.adapters = adapters
        self.notifications = notifications
        self.app: App = bootstrap(adapters=adapters)
        self.table_service = TableServiceClient.from_connection_string(environ["AzureWebJobsStorage"])
        self.queue_service = QueueServiceClient.from_connection_string(environ["AzureWebJobsStorage"])

    @classmethod
    def on(cls, environ: Mapping[str, str], **overrides: Any) -> "Worker":
        notifications = Notifications()
        adapters = build_adapters(environ, notifier=notifications, **overrides)
        return cls(environ, adapters=adapters, notifications=notifications)

    def replace_adapters(self, **changes: Any) -> None:
        """Swap adapters (e.g. a connector table of the test's own) and rebuild the app on them."""
        from shared.bootstrap import set_worker_app

        self.adapters = replace(self.adapters, **changes)
        self.app = bootstrap(adapters=self.adapters)
        set_worker_app(self.app)

    def forget_credentials(self) -> None:
        """Start over with no cached token, as a fresh worker (or one an hour later) would."""
        from shared.adapters.http import new_session
        from shared.auth import CredentialCache
        from shared.tokens import BcClients

        a = self.adapters
        # The worker's gates (and the BC users' shared budget) stay: only tokens are forgotten.
        self.replace_adapters(bc_clients=BcClients(app=a.settings, secrets=a.secrets, token_versions=a.token_versions,
                                                   credentials=CredentialCache(), session=new_session(),
                                                   gates=a.bc_clients._gates, clock=a.clock))

    # -- the use cases
    def connectors(self):  # noqa: ANN201 - the App's types
        return self.app.connectors

    def exports(self):  # noqa: ANN201
        return self.app.exports

    def consent(self):  # noqa: ANN201
        return self.app.consent

    def upkeep(self):  # noqa: ANN201
        return self.app.upkeep

    def expenses(self, *, options: ImportOptions | None = None) -> ExpenseImport:
        return self.app.expenses if options is None else bootstrap(adapters=self.adapters,
                                                                   import_options=options).expenses

    # -- what tests read and change directly
    @property
    def app_settings(self):  # noqa: ANN201
        return self.adapters.settings

    def table(self, key: str) -> TableClient:
        return ensure_table(self.table_service.get_table_client(TABLES[key]))

    def queue(self, key: str) -> QueueClient:
        return ensure_queue(self.queue_service.get_queue_client(QUEUES[key]))

    def send_text(self, queue: str, text: str) -> None:
        self.adapters.queues.send_text(queue, text)

    def store(self):  # noqa: ANN201
        return self.adapters.connector_store

    def secrets(self):  # noqa: ANN201
        return self.adapters.secrets

    def parking(self):  # noqa: ANN201
        return self.adapters.parking

    def token_versions(self):  # noqa: ANN201
        return self.adapters.token_versions

    def bc_client_for_record(self, record):  # noqa: ANN001, ANN201
        return self.adapters.bc_clients.for_record(record)


class _NoActivity:
    def record_export_outcome(self, outcome: Mapping[str, Any]) -> None:
        pass

    def read(self, name: str) -> dict[str, Any]:
        return {}


class _NoPurge:
    def purge(self, name: str) -> None:
        pass


def memory_adapters(environ: Mapping[str, str], **overrides: Any) -> Adapters:
    """Adapters on in-memory twins only (no Azurite, no BC until a test calls it); keyword arguments replace
    single adapters, e.g. a store that fails."""
    from shared.adapters import InMemoryLeaseStore
    from shared.adapters.connector_store import InMemoryConnectorStore
    from shared.adapters.consent_states import InMemoryConsentStateStore
    from shared.adapters.cursors import InMemoryCursorStore
    from shared.adapters.expense_outbox import InMemoryOutbox
    from shared.adapters.http import new_session
    from shared.adapters.ledger import InMemoryLedger
    from shared.adapters.parking import InMemoryParkingLot
    from shared.adapters.payloads import InMemoryPayloadStore
    from shared.adapters.queues import InMemoryQueueSender
    from shared.adapters.secrets import InMemorySecretStore
    from shared.adapters.token_versions import InMemoryTokenVersionStore
    from shared.adapters.webhook_subscriptions import (
        InMemoryImportRequestRows,
        InMemoryRequestQueue,
        InMemorySubscriptionStore,
    )
    from shared.auth import CredentialCache
    from shared.bc import ConnectorGates
    from shared.clock import SYSTEM_CLOCK
    from shared.config import AppSettings
    from shared.consent import REPLAY_LEASE
    from shared.expenses import IMPORT_LEASE
    from shared.exports import LookupCache
    from shared.tokens import BcClients

    settings = AppSettings.from_environ(environ)
    secrets = overrides.pop("secrets", InMemorySecretStore())
    versions = overrides.pop("token_versions", InMemoryTokenVersionStore())
    adapters = Adapters(
        settings=settings, clock=SYSTEM_CLOCK, queues=InMemoryQueueSender(), secrets=secrets,
        connector_store=InMemoryConnectorStore(), ledger=InMemoryLedger(), parking=InMemoryParkingLot(),
        consent_states=InMemoryConsentStateStore(), token_versions=versions, cursors=InMemoryCursorStore(),
        activity=_NoActivity(), purger=_NoPurge(), replay_leases=InMemoryLeaseStore(name=REPLAY_LEASE),
        import_leases=InMemoryLeaseStore(name=IMPORT_LEASE), expense_outbox=InMemoryOutbox(),
        notifier=Notifications(),
        bc_clients=BcClients(app=settings, secrets=secrets, token_versions=versions, credentials=CredentialCache(),
                             session=new_session(), gates=ConnectorGates(), clock=SYSTEM_CLOCK),
        lookups=LookupCache(SYSTEM_CLOCK), payloads=InMemoryPayloadStore(),
        subscriptions=InMemorySubscriptionStore(), import_requests=InMemoryImportRequestRows(),
        request_queue=InMemoryRequestQueue())
    return replace(adapters, **overrides)
