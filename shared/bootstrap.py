"""Builds the real adapters once per worker, on first use, and lets tests swap any of them.

Nothing here runs at import time: the worker imports every blueprint while indexing, and a missing
setting must not break indexing, only the call that needs it (STYLE.md, "Layout and boundaries").
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping

from shared.config import AppSettings

if TYPE_CHECKING:  # pragma: no cover - typing only; the use cases load on first use
    from shared.expenses import ExpenseImport, ImportOptions

log = logging.getLogger(__name__)

__all__ = ["Services", "get_services", "set_services", "TABLES", "QUEUES"]

#: Table names (ARCHITECTURE §6).
TABLES = {
    "connectors": "Connectors",
    "ledger": "SyncLedger",
    "consent": "ConsentStates",
    "cursors": "ImportCursors",
    "parked": "Parked",
    "locks": "Locks",
    "activity": "ConnectorActivity",
    "tokens": "TokenVersions",
}

#: Queue names (ARCHITECTURE §4, Contract).
QUEUES = {
    "customers": "bc-customers",
    "projects": "bc-projects",
    "invoices": "bc-invoices",
    "outcomes": "bc-outcomes",
    "expenses": "bc-expenses",
    "notifications": "bc-notifications",
    "customers-poison": "bc-customers-poison",
    "projects-poison": "bc-projects-poison",
    "invoices-poison": "bc-invoices-poison",
}


@dataclass
class Services:
    """The adapters of one worker. Fields left as None are built from the environment when first used."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    credential_factory: Callable[..., Any] | None = None
    connector_store: Any = None
    secret_store: Any = None
    notifier: Callable[[dict[str, Any]], None] | None = None
    purge: Callable[[str], None] | None = None
    bc_session: Any = None
    parking_lot: Any = None
    consent_state_store: Any = None
    token_version_store: Any = None
    #: The per-connector gates of the worker's BC clients (a benchmark swaps in its own).
    bc_gates: Any = None

    def __post_init__(self) -> None:
        from shared.bc import ConnectorGates

        self._lock = threading.RLock()
        if self.bc_gates is None:
            self.bc_gates = ConnectorGates()

    @cached_property
    def app(self) -> AppSettings:
        return AppSettings.from_environ(self.environ)

    def _credential_factory(self) -> Callable[..., Any]:
        if self.credential_factory is not None:
            return self.credential_factory
        from shared.adapters import default_azure_credential

        return default_azure_credential

    @cached_property
    def delegated_credentials(self) -> Any:
        """The worker's one credential cache (`shared.auth.CredentialCache`): app-only credentials per
        app registration, delegated ones per connector (access tokens live an hour)."""
        from shared.auth import CredentialCache

        return CredentialCache()

    @cached_property
    def table_service(self) -> Any:
        from shared.adapters import table_service_from_settings

        return table_service_from_settings(self.environ, self._credential_factory())

    @cached_property
    def queue_service(self) -> Any:
        from shared.adapters import queue_service_from_settings

        return queue_service_from_settings(self.environ, self._credential_factory())

    def table(self, key: str) -> Any:
        from shared.adapters import ensure_table

        return ensure_table(self.table_service.get_table_client(TABLES[key]))

    def queue(self, key: str) -> Any:
        from shared.adapters import ensure_queue

        return ensure_queue(self.queue_service.get_queue_client(QUEUES[key]))

    def store(self) -> Any:
        with self._lock:
            if self.connector_store is None:
                from shared.connectors import TableConnectorStore

                self.connector_store = TableConnectorStore(self.table("connectors"))
            return self.connector_store

    def secrets(self) -> Any:
        with self._lock:
            if self.secret_store is None:
                from shared.adapters.secrets import secret_store_from_settings

                self.secret_store = secret_store_from_settings(self.environ, self._credential_factory())
            return self.secret_store

    def bc_clients(self) -> Any:
        """`shared.tokens.BcClients` over the worker's one session, credential cache and gates (cheap to
        build: it holds only those)."""
        from shared.adapters.http import default_session
        from shared.tokens import BcClients

        return BcClients(app=self.app, secrets=self.secrets(), token_versions=self.token_versions(),
                         credentials=self.delegated_credentials, session=self.bc_session or default_session(),
                         gates=self.bc_gates)

    def bc_client_for(self, connection: Any) -> Any:
        """An app-only BC client for resolved credentials (a save's verification, look-ups)."""
        return self.bc_clients().for_connection(connection, key=f"{connection.tenant}/{connection.client_id}")

    def bc_client_for_record(self, record: Any) -> Any:
        """A BC client for a stored connector, in its auth mode (`BcClients.for_record`)."""
        return self.bc_clients().for_record(record)

    def delegated_credential_for(self, record: Any) -> Any:
        """The worker's RefreshTokenCredential of a delegated connector (built on first use)."""
        return self.bc_clients().delegated_credential(record)

    def consent_states(self) -> Any:
        """Single-use consent states (`ConsentStates`)."""
        with self._lock:
            if self.consent_state_store is None:
                from shared.consent import TableConsentStateStore

                self.consent_state_store = TableConsentStateStore(self.table("consent"))
            return self.consent_state_store

    def token_versions(self) -> Any:
        """The refresh-token guard rows (`TokenVersions`)."""
        with self._lock:
            if self.token_version_store is None:
                from shared.tokens import TableTokenVersionStore

                self.token_version_store = TableTokenVersionStore(self.table("tokens"))
            return self.token_version_store

    def consent_deps(self) -> Any:
        """The ports of the consent, reconnect, replay and keep-alive use cases (`shared.consent`)."""
        from shared.connectors import connection_for
        from shared.consent import REPLAY_LEASE, ConsentDeps
        from shared.adapters import TableLeaseStore

        return ConsentDeps(
            store=self.store(), secrets=self.secrets(), states=self.consent_states(),
            versions=self.token_versions(), app=self.app, notify=self.notify, parking=self.parking(),
            send_text=self.send_text, connection_for=lambda record: connection_for(record, self.connector_deps()),
            redeemer_for=self._redeemer_for, bc_client_with_token=self._bc_client_with_token,
            credential_for=self.delegated_credential_for, forget_credential=lambda name: self.bc_clients().forget(name),
            leases=TableLeaseStore(lambda: self.table("locks"), name=REPLAY_LEASE),
            replay_failed=self._replay_failed())

    def report_reconnect_required(self, name: str, reason: str) -> bool:
        """A revoked grant seen anywhere: `reconnect_required` once, one notification with a consent link."""
        from shared.consent import report_reconnect_required

        return report_reconnect_required(name, reason, self.consent_deps())

    def _redeemer_for(self, tenant: str, client_id: str, client_secret: str) -> Any:
        from shared.auth import AuthCodeRedeemer

        return AuthCodeRedeemer(authority_host=self.app.bc_authority_host, tenant=tenant, client_id=client_id,
                                client_secret=client_secret)

    def _bc_client_with_token(self, settings: Any, access_token: str, expires_in: int) -> Any:
        # The consent callback's check of BC; its settings carry no name, so the gate key is the tenant.
        return self.bc_clients().with_token(settings, access_token, expires_in, name=settings.tenant_id)

    def _replay_failed(self) -> Callable[[str], int] | None:
        """Re-enqueue a connector's permanently failed messages (the exports' ledger keeps their text)."""
        def replay(name: str) -> int:
            from shared.exports import list_failed_messages

            failed = list_failed_messages(self, name)
            for queue, text in failed:
                self.send_text(queue, text)
            return len(failed)

        return replay

    def parking(self) -> Any:
        """Where export messages wait while their connector needs reconnecting (`shared.parking`)."""
        with self._lock:
            if self.parking_lot is None:
                from shared.parking import TableParkingLot

                self.parking_lot = TableParkingLot(self.table("parked"))
            return self.parking_lot

    @cached_property
    def queue_sender(self) -> Any:
        """The worker's `shared.adapters.queues.QueueSender` (contract queues, created on first use)."""
        from shared.adapters.queues import QueueSender

        return QueueSender(self.queue_service)

    def send_text(self, queue_name: str, text: str) -> None:
        """Put a message's original text back on a contract queue (replay of parked or failed work)."""
        self.queue_sender.send_text(queue_name, text)

    def send(self, queue_key: str, payload: dict[str, Any]) -> None:
        """Send one message (plain UTF-8 JSON, ARCHITECTURE §4) to a contract queue."""
        self.queue_sender.send_json(QUEUES[queue_key], payload)

    def purge_connector_data(self, name: str) -> None:
        """Delete a connector's rows in every table that holds per-connector data."""
        if self.purge is not None:
            self.purge(name)
            return
        from shared.adapters import delete_partitions

        delete_partitions(self.table("ledger"), prefixes=[f"{name}|"])
        delete_partitions(self.table("cursors"), partitions=[name])
        delete_partitions(self.table("parked"), partitions=[name])
        delete_partitions(self.table("tokens"), partitions=[name])
        delete_partitions(self.table("locks"), partitions=[name])
        delete_partitions(self.table("activity"), partitions=[name])

    def notify(self, notification: dict[str, Any]) -> None:
        """Send one `bc-notifications` message (plain UTF-8 JSON, ARCHITECTURE §4)."""
        if self.notifier is not None:
            self.notifier(notification)
            return
        self.send("notifications", notification)

    def connector_deps(self) -> Any:
        from shared.connectors import ConnectorDeps

        return ConnectorDeps(store=self.store(), secrets=self.secrets(), app=self.app,
                             bc_client_for=self.bc_client_for, purge_connector_data=self.purge_connector_data,
                             notify=self.notify, start_consent=self._consent_url_for,
                             bc_client_for_record=self.bc_client_for_record,
                             read_activity=self._read_activity)

    def _read_activity(self, name: str) -> dict[str, Any]:
        from shared.connectors._activity import read_activity

        return read_activity(self.table("activity"), name)

    def expenses(self, *, options: ImportOptions | None = None) -> ExpenseImport:
        """The expense import on this worker's adapters (tests and benchmarks pass smaller pages)."""
        from shared.adapters import TableLeaseStore
        from shared.adapters.cursors import TableCursorStore
        from shared.adapters.expense_outbox import QueueOutbox
        from shared.adapters.project_map import TableProjectMap
        from shared.clock import SYSTEM_CLOCK
        from shared.expenses import IMPORT_LEASE, ExpenseImport, ImportOptions

        return ExpenseImport(
            connectors=self.store(), cursors=TableCursorStore(self.table("cursors")),
            leases=TableLeaseStore(self.table("locks"), name=IMPORT_LEASE),
            # Until the ledger adapter answers projects(connector) (shared.adapters.ledger): then pass it.
            projects=TableProjectMap(self.table("ledger")),
            outbox=QueueOutbox(lambda: self.queue("expenses")),
            bc_clients=_RecordClients(self), notifier=_Notifications(self), reconnects=_Reconnects(self),
            clock=SYSTEM_CLOCK, options=options or ImportOptions())

    def _consent_url_for(self, record: Any) -> str:
        from shared.consent import start_consent

        return start_consent(record.name, self.consent_deps(), record=record).url


class _RecordClients:
    """`BcClientSource` of the expense import, until `shared.tokens.BcClients` is wired here."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def for_record(self, record: Any) -> Any:
        return self._services.bc_client_for_record(record)


class _Notifications:
    """`Notifier` of the expense import: queue `bc-notifications`."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def notify(self, message: dict[str, Any]) -> None:
        self._services.notify(message)


class _Reconnects:
    """`ReconnectReporter` of the expense import: the consent flow's report (status once, consent link)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def report(self, name: str, reason: str) -> bool:
        return self._services.report_reconnect_required(name, reason)


_services: Services | None = None
_services_lock = threading.Lock()


def get_services() -> Services:
    """The worker's services, built on first use from the process environment."""
    global _services
    with _services_lock:
        if _services is None:
            _services = Services()
        return _services


def set_services(services: Services | None) -> None:
    """Replace the worker's services (tests, the sandbox demo); None rebuilds them on next use."""
    global _services
    with _services_lock:
        _services = services
