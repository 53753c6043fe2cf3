"""The composition root: builds the app's use cases on the worker's adapters, once per worker, on first use.

    app = worker_app()                       # the blueprints in functions/ call this inside their bodies
    app.exports.process(delivery)

`bootstrap(environ, adapters=...)` builds an `App` from app settings (the process environment by default);
tests pass adapters of their own (`build_adapters(..., secrets=InMemorySecretStore())`). Nothing under
`shared/` imports this module: use cases get their ports as constructor arguments, so the dependencies
point one way (functions → bootstrap → use cases and adapters).

Nothing runs at import time: the Functions worker imports every blueprint while indexing, and a missing
setting must not break indexing, only the first call that needs it. The Azure SDKs, MSAL and requests are
loaded by that first call (they cost about 340 ms of cold start when imported up front).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

from shared.clock import SYSTEM_CLOCK, Clock
from shared.config import AppSettings
from shared.health import Readiness, ReadinessReport, liveness
from shared.jsontypes import JsonObject

if TYPE_CHECKING:  # pragma: no cover - typing only; the modules load on first use
    import requests
    from azure.data.tables import TableClient

    from shared.adapters import CredentialFactory, LeaseStore
    from shared.adapters.activity import TableActivityLog
    from shared.adapters.connector_data import TableConnectorDataPurger
    from shared.adapters.consent_states import TableConsentStateStore
    from shared.adapters.cursors import TableCursorStore
    from shared.adapters.expense_outbox import QueueOutbox
    from shared.adapters.ledger import TableLedger
    from shared.adapters.parking import TableParkingLot
    from shared.adapters.queues import QueueSender
    from shared.adapters.secrets import SecretStore
    from shared.adapters.token_versions import TableTokenVersionStore
    from shared.bc import ConnectorGates
    from shared.connectors import ConnectorService, ConnectorStore
    from shared.consent import ConsentService, RenderedPage
    from shared.expenses import ExpenseImport, ImportOptions
    from shared.exports import ExportOptions, ExportService, LookupCache, Notifier, PayloadStore
    from shared.tokens import BcClients, TokenUpkeep
    from shared.webhooks import (
        ExpenseNotifications,
        ImportRequestRows,
        RequestQueue,
        SubscriptionStore,
        WebhookSubscriptions,
    )

__all__ = ["App", "Adapters", "bootstrap", "build_adapters", "worker_app", "set_worker_app",
           "consent_callback_page", "health", "readiness", "READINESS_CHECKS"]


@dataclass(frozen=True)
class Adapters:
    """The ports of the use cases, on Azure Storage, Key Vault and Business Central (`build_adapters`), or on
    in-memory twins in tests."""

    settings: AppSettings
    clock: Clock
    queues: "QueueSender"
    secrets: "SecretStore"
    connector_store: "ConnectorStore"
    ledger: "TableLedger"
    parking: "TableParkingLot"
    consent_states: "TableConsentStateStore"
    token_versions: "TableTokenVersionStore"
    cursors: "TableCursorStore"
    activity: "TableActivityLog"
    purger: "TableConnectorDataPurger"
    replay_leases: "LeaseStore"
    import_leases: "LeaseStore"
    expense_outbox: "QueueOutbox"
    notifier: Notifier
    bc_clients: "BcClients"
    lookups: "LookupCache"
    payloads: "PayloadStore"
    subscriptions: "SubscriptionStore"
    import_requests: "ImportRequestRows"
    request_queue: "RequestQueue"


def build_adapters(environ: Mapping[str, str] | None = None, *, secrets: "SecretStore | None" = None,
                   notifier: Notifier | None = None, credential_factory: "CredentialFactory | None" = None,
                   bc_session: "requests.Session | None" = None, gates: "ConnectorGates | None" = None,
                   clock: Clock = SYSTEM_CLOCK) -> Adapters:
    """The real adapters for `environ` (the process environment by default). Keyword arguments replace one
    adapter each: tests keep secrets and notifications in memory, benchmarks bring their own gates.
    Creates the app's tables, queues and the claim-check container `bc-payloads` (each once per process), so a
    host polling an output queue before the first message finds it (docs/contract.md §4)."""
    from shared.adapters import (
        TableLeaseStore,
        blob_service_from_settings,
        default_azure_credential,
        ensure_queue,
        ensure_table,
        queue_service_from_settings,
        table_service_from_settings,
    )
    from shared.adapters.activity import TableActivityLog
    from shared.adapters.connector_data import TableConnectorDataPurger
    from shared.adapters.connector_store import TableConnectorStore
    from shared.adapters.consent_states import TableConsentStateStore
    from shared.adapters.cursors import TableCursorStore
    from shared.adapters.expense_outbox import QueueOutbox
    from shared.adapters.http import default_session
    from shared.adapters.ledger import TableLedger
    from shared.adapters.names import PAYLOAD_CONTAINER, QUEUES, TABLES
    from shared.adapters.outbox import QueueNotifier
    from shared.adapters.parking import TableParkingLot
    from shared.adapters.payloads import BlobPayloadStore, ensure_container
    from shared.adapters.queues import QueueSender
    from shared.adapters.secrets import secret_store_from_settings
    from shared.adapters.token_versions import TableTokenVersionStore
    from shared.adapters.webhook_subscriptions import (
        QueueRequestQueue,
        TableImportRequestRows,
        TableSubscriptionStore,
    )
    from shared.auth import CredentialCache
    from shared.adapters.bc_budget import TableRequestBudget
    from shared.bc import BudgetLimits, ConnectorGates
    from shared.consent import REPLAY_LEASE
    from shared.expenses import IMPORT_LEASE
    from shared.exports import LookupCache
    from shared.tokens import BcClients

    env = os.environ if environ is None else environ
    settings = AppSettings.from_environ(env)

    credentials = credential_factory or default_azure_credential
    table_service = table_service_from_settings(env, credentials)
    queue_service = queue_service_from_settings(env, credentials)
    blob_service = blob_service_from_settings(env, credentials)

    def table(key: str) -> "TableClient":
        return ensure_table(table_service.get_table_client(TABLES[key]))

    for key in TABLES:
        table(key)
    for name in QUEUES.values():
        ensure_queue(queue_service.get_queue_client(name))
    payloads = ensure_container(blob_service.get_container_client(PAYLOAD_CONTAINER))

    queues = QueueSender(queue_service)
    secret_store = secrets if secrets is not None else secret_store_from_settings(env, credentials)
    token_versions = TableTokenVersionStore(table("tokens"))
    limits = BudgetLimits(settings.bc_max_concurrent_requests, settings.bc_requests_per_window,
                          settings.bc_rate_window_seconds)
    if gates is None:
        # One BC request budget per BC user, shared by every instance through table BcBudgets (issue 13).
        gates = ConnectorGates(limits.max_in_flight,
                               budget=TableRequestBudget(lambda: table("budgets"), limits=limits, clock=clock))
    return Adapters(
        settings=settings, clock=clock, queues=queues, secrets=secret_store,
        connector_store=TableConnectorStore(table("connectors"), clock=clock),
        ledger=TableLedger(table("ledger")),
        parking=TableParkingLot(table("parked"), clock=clock),
        consent_states=TableConsentStateStore(table("consent")),
        token_versions=token_versions,
        cursors=TableCursorStore(table("cursors")),
        activity=TableActivityLog(lambda: table("activity")),
        purger=TableConnectorDataPurger(table),
        replay_leases=TableLeaseStore(lambda: table("locks"), name=REPLAY_LEASE, clock=clock),
        import_leases=TableLeaseStore(lambda: table("locks"), name=IMPORT_LEASE, clock=clock),
        expense_outbox=QueueOutbox(lambda: ensure_queue(queue_service.get_queue_client(QUEUES["expenses"]))),
        notifier=notifier if notifier is not None else QueueNotifier(queues),
        bc_clients=BcClients(app=settings, secrets=secret_store, token_versions=token_versions,
                             credentials=CredentialCache(), session=bc_session or default_session(),
                             gates=gates, clock=clock),
        lookups=LookupCache(clock=clock),
        payloads=BlobPayloadStore(lambda: payloads),
        subscriptions=TableSubscriptionStore(table("subscriptions")),
        import_requests=TableImportRequestRows(table("requests")),
        request_queue=QueueRequestQueue(
            lambda: ensure_queue(queue_service.get_queue_client(QUEUES["import-requests"]))),
    )


@dataclass(frozen=True)
class App:
    """The app's use cases, on one set of adapters."""

    connectors: "ConnectorService"
    exports: "ExportService"
    consent: "ConsentService"
    expenses: "ExpenseImport"
    upkeep: "TokenUpkeep"
    webhooks: "WebhookSubscriptions"
    notifications: "ExpenseNotifications"
    readiness: Readiness
    adapters: Adapters


def bootstrap(environ: Mapping[str, str] | None = None, *, adapters: Adapters | None = None,
              export_options: "ExportOptions | None" = None, import_options: "ImportOptions | None" = None) -> App:
    """The app's use cases wired to `adapters` (built from `environ` when not given)."""
    from shared.adapters.outbox import OutcomeOutbox
    from shared.auth import AuthCodeRedeemers
    from shared.connectors import ConnectorOptions, ConnectorService, ConnectorStatuses
    from shared.consent import ConsentService
    from shared.expenses import ExpenseImport, ImportOptions
    from shared.exports import ExportOptions, ExportService, FailedMessages
    from shared.tokens import TokenUpkeep
    from shared.webhooks import ExpenseNotifications, WebhookOptions, WebhookSubscriptions

    a = adapters if adapters is not None else build_adapters(environ)
    webhooks = WebhookSubscriptions(
        connectors=a.connector_store, store=a.subscriptions, secrets=a.secrets, bc_clients=a.bc_clients,
        clock=a.clock, options=WebhookOptions(public_base_url=a.settings.public_base_url,
                                              bc_api_url=a.settings.bc_api_url))
    consent = ConsentService(
        connectors=a.connector_store, statuses=ConnectorStatuses(store=a.connector_store, clock=a.clock),
        secrets=a.secrets, states=a.consent_states, versions=a.token_versions, notifier=a.notifier,
        parking=a.parking, queues=a.queues, bc_clients=a.bc_clients,
        redeemers=AuthCodeRedeemers(authority_host=a.settings.bc_authority_host),
        failed=FailedMessages(a.ledger), leases=a.replay_leases, app=a.settings, subscriptions=webhooks,
        clock=a.clock)
    expenses = ExpenseImport(
        connectors=a.connector_store, cursors=a.cursors, leases=a.import_leases, projects=a.ledger,
        outbox=a.expense_outbox, bc_clients=a.bc_clients, notifier=a.notifier, reconnects=consent,
        clock=a.clock, options=import_options or ImportOptions())
    return App(
        connectors=ConnectorService(
            store=a.connector_store, secrets=a.secrets, bc_clients=a.bc_clients, consent=consent, purger=a.purger,
            activity=a.activity, notifier=a.notifier, realtime=webhooks, clock=a.clock,
            options=ConnectorOptions(app_client_id=a.settings.bc_client_id)),
        exports=ExportService(
            connectors=a.connector_store, ledger=a.ledger, bc_clients=a.bc_clients,
            outbox=OutcomeOutbox(a.queues, a.activity), notifier=a.notifier, parking=a.parking, reconnects=consent,
            clock=a.clock, lookups=a.lookups, payloads=a.payloads, requeue=a.queues,
            options=export_options or ExportOptions()),
        consent=consent,
        expenses=expenses,
        upkeep=TokenUpkeep(
            connectors=a.connector_store, credentials=a.bc_clients, secrets=a.secrets,
            versions=a.token_versions, reconnects=consent, replays=consent, states=a.consent_states,
            notifier=a.notifier, clock=a.clock),
        webhooks=webhooks,
        notifications=ExpenseNotifications(
            connectors=a.connector_store, secrets=a.secrets, rows=a.import_requests, queue=a.request_queue,
            importer=expenses, clock=a.clock),
        readiness=Readiness(_probes(a)),
        adapters=a,
    )


_app: App | None = None
_app_lock = threading.Lock()


def worker_app() -> App:
    """The worker's app, built on first use from the process environment (a failed build is tried again
    by the next call)."""
    global _app
    with _app_lock:
        if _app is None:
            _app = bootstrap()
        return _app


def set_worker_app(app: App | None) -> None:
    """Replace the worker's app (tests, the local demo); None builds it again on next use."""
    global _app
    with _app_lock:
        _app = app


def consent_callback_page(params: Mapping[str, str]) -> "RenderedPage":
    """The consent callback's page: always a page, also when the app cannot even be built (a person is
    waiting in a browser, never for a bare 500)."""
    from shared.consent import RenderedPage

    try:
        app = worker_app()
    except Exception:  # noqa: BLE001 - the page says "unexpected" with a reference; the log has the cause
        return RenderedPage.unexpected()
    return app.consent.callback(params)


#: The dependencies readiness checks, by the name the answer uses (docs/contract.md §3).
READINESS_CHECKS = ("storage", "keyVault")
_PROBE_KEY = "health-probe"


def _probes(a: Adapters) -> dict[str, Callable[[], None]]:
    """One cheap call each: a point read of a row that does not exist (one table request, 404) and a read of a
    secret name that does not exist (one Key Vault request, 404; no secret value is ever read). Both prove
    the service answers and the app's identity may use it. Never Business Central."""
    def storage() -> None:
        a.ledger.get(_PROBE_KEY, "customer", _PROBE_KEY)

    def key_vault() -> None:
        a.secrets.get_secret(_PROBE_KEY)

    return dict(zip(READINESS_CHECKS, (storage, key_vault)))


def health() -> JsonObject:
    """The anonymous health answer: the app runs, and its version. Builds nothing and calls nothing."""
    return liveness()


def readiness() -> ReadinessReport:
    """Readiness of the worker's app (function-key route): storage and Key Vault, checked now."""
    try:
        app = worker_app()
    except Exception as err:  # noqa: BLE001 - an app that cannot be built is not ready; the log has the cause
        logging.getLogger(__name__).warning("Readiness: the app could not be built", exc_info=True)
        return ReadinessReport.unbuilt(err, READINESS_CHECKS)
    return app.readiness.check()
