"""Use-case tests of the consent flow against in-memory ports and a fake Entra redeemer (no sockets)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from sandbox import constants
from shared.adapters import InMemoryLeaseStore
from shared.adapters.consent_states import InMemoryConsentStateStore
from shared.adapters.secrets import InMemorySecretStore
from shared.adapters.token_versions import InMemoryTokenVersionStore
from shared.auth import RedeemedGrant, TokenError
from shared.config import AppSettings
from shared.adapters.connector_store import InMemoryConnectorStore
from shared.connectors import ConnectorRecord, ConnectorStatuses, parse_connector_settings
from shared.consent import REPLAY_LEASE, ConsentService
from shared.adapters.parking import InMemoryParkingLot
from tests._clock import LockstepClock
from tests._schemas import check_sent

AUTHORITY = "https://login.test"
PUBLIC = "https://func-bc.example.net"


#: The consent tests' first moment (their expiries are stated from it, e.g. a link valid until 10:10).
START = _dt.datetime(2026, 11, 23, 10, 0, tzinfo=_dt.timezone.utc)


@dataclass
class FakeRedeemer:
    """Plays Entra's token endpoint for one code redemption."""

    grant: RedeemedGrant | None = None
    error: TokenError | None = None
    calls: list[dict] = field(default_factory=list)

    def redeem(self, **kwargs: Any) -> RedeemedGrant:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        assert self.grant is not None
        return self.grant

    def redeemer(self, tenant: str, client_id: str, client_secret: str) -> "FakeRedeemer":
        return self


class NoBc:
    def with_token(self, *args: Any) -> Any:
        raise AssertionError("these tests end before BC is called")

    def forget(self, name: str) -> None:
        pass


def delegated_record(name: str = "acme", status: str = "consent_required", tenant: str = constants.TENANT_ID
                     ) -> ConnectorRecord:
    return ConnectorRecord(
        name=name, status=status, company_id=None, company_name=None, tax_mode=None, refresh_token_expires_at=None,
        settings=parse_connector_settings({"tenantId": tenant, "environment": "Production",
                                           "company": "CRONUS USA, Inc.",
                                           "auth": {"mode": "delegated", "clientId": constants.DEMO_CLIENT_ID},
                                           "notifications": {"recipients": ["ops@example.com"]}}),
        client_secret_source="app")


@dataclass
class Ports:
    """The consent's ports as in-memory fakes; `service()` builds a ConsentService over them as they are now."""

    clock: LockstepClock
    redeemer: FakeRedeemer
    store: InMemoryConnectorStore = field(default_factory=lambda: InMemoryConnectorStore([delegated_record()]))
    secrets: InMemorySecretStore = field(default_factory=InMemorySecretStore)
    states: InMemoryConsentStateStore = field(default_factory=InMemoryConsentStateStore)
    versions: InMemoryTokenVersionStore = field(default_factory=InMemoryTokenVersionStore)
    parking: InMemoryParkingLot = field(default_factory=InMemoryParkingLot)
    app: AppSettings = field(default_factory=lambda: AppSettings(
        bc_client_id=constants.DEMO_CLIENT_ID, bc_api_url="https://bc.test", bc_authority_host=AUTHORITY,
        public_base_url=PUBLIC, key_vault_url=None, functions_environment=None))
    notifications: list[dict] = field(default_factory=list)
    sent: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.secrets.set_secret("bc-client-secret", "client-secret")
        self.leases = InMemoryLeaseStore(name=REPLAY_LEASE, clock=self.clock)

    # the small ports served by the harness itself
    def notify(self, message: dict) -> None:
        check_sent("notification-message", message)
        self.notifications.append(message)

    def send_text(self, queue: str, text: str) -> None:
        self.sent.append((queue, text))

    def list_failed(self, connector: str) -> list[tuple[str, str]]:
        return list(self.failed)

    def sync(self, record) -> list[str]:  # noqa: ANN001 - the SubscriptionSync port
        self.synced.append(record.name)
        return []

    def service(self) -> ConsentService:
        return ConsentService(
            connectors=self.store, statuses=ConnectorStatuses(store=self.store, clock=self.clock), secrets=self.secrets,
            states=self.states, versions=self.versions, notifier=self, parking=self.parking, queues=self,
            bc_clients=NoBc(), redeemers=self.redeemer, failed=self, leases=self.leases, app=self.app,
            subscriptions=self, clock=self.clock)


@pytest.fixture
def clock() -> LockstepClock:
    return LockstepClock(START)


@pytest.fixture
def redeemer() -> FakeRedeemer:
    return FakeRedeemer(grant=RedeemedGrant(access_token="at-secret", refresh_token="rt-secret", expires_in=3599,
                                            id_claims={"preferred_username": "admin@contoso.example",
                                                       "tid": constants.TENANT_ID}))


@pytest.fixture
def ports(clock, redeemer) -> Ports:
    return Ports(clock=clock, redeemer=redeemer)
