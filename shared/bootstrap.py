"""Builds the real adapters once per worker, on first use, and lets tests swap any of them.

Nothing here runs at import time: the worker imports every blueprint while indexing, and a missing
setting must not break indexing, only the call that needs it (STYLE.md, "Layout and boundaries").
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping

from shared.config import AppSettings

if TYPE_CHECKING:  # pragma: no cover
    from shared.auth import AuthCodeRedeemer, RefreshTokenCredential
    from shared.bc import BcClient
    from shared.connectors import ConnectorRecord, ConnectorSettings
    from shared.consent import ConsentService, RenderedPage
    from shared.tokens import TokenUpkeep

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

    def __post_init__(self) -> None:
        self._lock = threading.RLock()

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
        """One delegated credential per connector for this worker (access tokens live an hour)."""
        from shared.tokens import DelegatedCredentials

        return DelegatedCredentials()

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

    def bc_client_for(self, connection: Any) -> Any:
        """A BC client for one connection, reusing the worker's HTTP session and cached MSAL app."""
        from shared.auth import credential_for
        from shared.bc import BcClient

        credential = credential_for(
            authority_host=self.app.bc_authority_host,
            tenant=connection.tenant,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
        )
        return BcClient(api_url=self.app.bc_api_url, tenant=connection.tenant,
                        environment=connection.environment, credential=credential, session=self.bc_session)

    def bc_client_for_record(self, record: Any) -> Any:
        """A BC client for a stored connector, in its auth mode.

        Client credentials: the connector's (or the app-wide) secret from Key Vault. Delegated: the
        worker's credential of the connector, redeeming its stored refresh token (rotated through the
        guard of `shared.tokens`). Raises ReconnectRequiredError at once while the connector is
        `consent_required` or `reconnect_required` (its work is parked, no token request is made), and
        from any call when Entra says the grant is gone.
        """
        from shared.auth import ReconnectRequiredError
        from shared.bc import BcClient
        from shared.connectors import ConnectorSettings, connection_for
        from shared.tokens import DELEGATED_BC_SCOPE

        settings = ConnectorSettings.from_document(record.settings)
        if settings.auth_mode == "clientCredentials":
            return self.bc_client_for(connection_for(record, self.connector_deps()))
        if record.status not in ("connected", "disabled"):
            waiting = "has no consent yet" if record.status == "consent_required" else "must be reconnected"
            raise ReconnectRequiredError(
                f"Connector '{record.name}' uses delegated access and {waiting}: start the consent with "
                f"POST /api/connectors/{record.name}/consent. Waiting work is kept and replayed afterwards.",
                error=record.status or "consent_required")
        return BcClient(api_url=self.app.bc_api_url, tenant=settings.tenant_id, environment=settings.environment,
                        credential=self.delegated_credential_for(record), session=self.bc_session,
                        scope=DELEGATED_BC_SCOPE)

    def delegated_credential_for(self, record: Any) -> Any:
        """The worker's RefreshTokenCredential of a delegated connector (built on first use)."""
        from shared.clock import SYSTEM_CLOCK
        from shared.connectors import connection_for
        from shared.tokens import ConnectorRefreshTokens

        connection = connection_for(record, self.connector_deps())
        return self.delegated_credentials.get(
            record.name, authority_host=self.app.bc_authority_host, tenant=connection.tenant,
            client_id=connection.client_id, client_secret=connection.client_secret,
            store=lambda: ConnectorRefreshTokens(record.name, self.secrets(), self.token_versions(),
                                                 clock=SYSTEM_CLOCK))

    def consent_states(self) -> Any:
        """Single-use consent states (`ConsentStates`)."""
        with self._lock:
            if self.consent_state_store is None:
                from shared.adapters.consent_states import TableConsentStateStore

                self.consent_state_store = TableConsentStateStore(self.table("consent"))
            return self.consent_state_store

    def token_versions(self) -> Any:
        """The refresh-token guard rows (`TokenVersions`)."""
        with self._lock:
            if self.token_version_store is None:
                from shared.adapters.token_versions import TableTokenVersionStore

                self.token_version_store = TableTokenVersionStore(self.table("tokens"))
            return self.token_version_store

    def consent(self) -> "ConsentService":
        """Consent, callback, reconnect and replay (`shared.consent`); also the exports' and imports'
        `ReconnectReporter` (`.report`)."""
        from shared.adapters import TableLeaseStore
        from shared.clock import SYSTEM_CLOCK
        from shared.consent import REPLAY_LEASE, ConsentService

        return ConsentService(
            connectors=self.store(), statuses=_ConnectorStatuses(self.store()), secrets=self.secrets(),
            states=self.consent_states(), versions=self.token_versions(), notifier=self, parking=self.parking(),
            queues=self, bc_clients=_ConsentBcClients(self), redeemers=_CodeRedeemers(self.app),
            failed=_FailedMessages(self), leases=TableLeaseStore(lambda: self.table("locks"), name=REPLAY_LEASE),
            app=self.app, clock=SYSTEM_CLOCK)

    def consent_callback(self, params: Mapping[str, str]) -> "RenderedPage":
        """The consent callback's page, also when the consent's own adapters cannot be built."""
        from shared.consent import RenderedPage

        try:
            consent = self.consent()
        except Exception:  # noqa: BLE001 - a person is waiting for a page, never a bare 500
            return RenderedPage.unexpected()
        return consent.callback(params)

    def upkeep(self) -> "TokenUpkeep":
        """The token keep-alive of the timer (`shared.tokens.TokenUpkeep`)."""
        from shared.clock import SYSTEM_CLOCK
        from shared.tokens import TokenUpkeep

        consent = self.consent()
        return TokenUpkeep(connectors=self.store(), credentials=_DelegatedCredentialsOf(self), secrets=self.secrets(),
                           versions=self.token_versions(), reconnects=consent, replays=consent,
                           states=self.consent_states(), notifier=self, clock=SYSTEM_CLOCK)

    def _bc_client_with_token(self, settings: Any, access_token: str, expires_in: int) -> Any:
        from shared.bc import BcClient
        from shared.tokens import DELEGATED_BC_SCOPE, StaticTokenCredential

        return BcClient(api_url=self.app.bc_api_url, tenant=settings.tenant_id, environment=settings.environment,
                        credential=StaticTokenCredential(access_token, expires_in), session=self.bc_session,
                        scope=DELEGATED_BC_SCOPE)

    def parking(self) -> Any:
        """Where export messages wait while their connector needs reconnecting (`shared.parking`)."""
        with self._lock:
            if self.parking_lot is None:
                from shared.parking import TableParkingLot

                self.parking_lot = TableParkingLot(self.table("parked"))
            return self.parking_lot

    def send_text(self, queue_name: str, text: str) -> None:
        """Put a message's original text back on a contract queue (replay of parked or failed work)."""
        if queue_name not in QUEUES.values():
            raise ValueError(f"'{queue_name}' is not a queue of the contract")
        from shared.adapters import ensure_queue

        ensure_queue(self.queue_service.get_queue_client(queue_name)).send_message(text)

    def send(self, queue_key: str, payload: dict[str, Any]) -> None:
        """Send one message (plain UTF-8 JSON, ARCHITECTURE §4) to a contract queue."""
        self.queue(queue_key).send_message(json.dumps(payload, ensure_ascii=False))

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

    def _consent_url_for(self, record: Any) -> str:
        return self.consent().start(record.name, record).url


# -- interim adapters of the consent's and keep-alive's ports (the final root wires the platform's
# BcClients, the connectors' status transitions and the ExportService instead) ----------------------------


class _ConnectorStatuses:
    """`shared.consent.ConnectorStatuses` over today's `shared.connectors` transition functions."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def mark_reconnect_required(self, name: str, *, reason: str, consent_hint: str) -> bool:
        from shared.connectors import mark_reconnect_required

        # The consent sends the notification itself (with a link), so the transition only decides.
        return mark_reconnect_required(self._store, name, reason=reason, consent_hint=consent_hint,
                                       notify=lambda notification: None)

    def mark_connected(self, name: str, **fields: str | None) -> "ConnectorRecord | None":
        from shared.connectors import mark_connected

        return mark_connected(self._store, name, **fields)


class _ConsentBcClients:
    """`shared.consent.BcClientSource` over this worker's services."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def with_token(self, settings: "ConnectorSettings", access_token: str, expires_in: int) -> "BcClient":
        return self._services._bc_client_with_token(settings, access_token, expires_in)

    def forget(self, name: str) -> None:
        self._services.delegated_credentials.forget(name)


class _DelegatedCredentialsOf:
    """`shared.tokens.DelegatedCredentialSource` over this worker's services."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def for_record(self, record: "ConnectorRecord") -> "RefreshTokenCredential":
        return self._services.delegated_credential_for(record)


class _CodeRedeemers:
    """`shared.consent.CodeRedeemers`: one MSAL code redeemer per callback."""

    def __init__(self, app: AppSettings) -> None:
        self._app = app

    def redeemer(self, tenant: str, client_id: str, client_secret: str) -> "AuthCodeRedeemer":
        from shared.auth import AuthCodeRedeemer

        return AuthCodeRedeemer(authority_host=self._app.bc_authority_host, tenant=tenant, client_id=client_id,
                                client_secret=client_secret)


class _FailedMessages:
    """`shared.consent.FailedMessages` over the exports' ledger."""

    def __init__(self, services: Services) -> None:
        self._services = services

    def list_failed(self, connector: str) -> list[tuple[str, str]]:
        from shared.exports import list_failed_messages

        return list_failed_messages(self._services, connector)


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
