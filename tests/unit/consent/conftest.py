"""Use-case tests of the consent flow against in-memory ports and a fake Entra redeemer (no sockets)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from sandbox import constants
from shared.auth import RedeemedGrant, TokenError
from shared.config import AppSettings
from shared.connectors import BcConnection, ConnectorRecord, InMemoryConnectorStore
from shared.consent import REPLAY_LEASE, ConsentDeps, InMemoryConsentStateStore
from shared.parking import InMemoryParkingLot
from shared.adapters.secrets import InMemorySecretStore
from shared.adapters import InMemoryLeaseStore
from shared.tokens import InMemoryTokenVersionStore

AUTHORITY = "https://login.test"
PUBLIC = "https://func-bc.example.net"


class Clock:
    def __init__(self) -> None:
        self.moment = _dt.datetime(2026, 11, 23, 10, 0, tzinfo=_dt.timezone.utc)

    def __call__(self) -> _dt.datetime:
        return self.moment

    def now(self) -> _dt.datetime:  # shared.clock.Clock, as the lease store takes it
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += _dt.timedelta(**delta)


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


def delegated_record(name: str = "acme", status: str = "consent_required", tenant: str = constants.TENANT_ID
                     ) -> ConnectorRecord:
    return ConnectorRecord(
        name=name, status=status, company_id=None, company_name=None, tax_mode=None, refresh_token_expires_at=None,
        settings={"tenantId": tenant, "environment": "Production", "company": "CRONUS USA, Inc.",
                  "auth": {"mode": "delegated", "clientId": constants.DEMO_CLIENT_ID},
                  "notifications": {"recipients": ["ops@example.com"]}},
        client_secret_source="connector")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def redeemer() -> FakeRedeemer:
    return FakeRedeemer(grant=RedeemedGrant(access_token="at-secret", refresh_token="rt-secret", expires_in=3599,
                                            id_claims={"preferred_username": "admin@contoso.example",
                                                       "tid": constants.TENANT_ID}))


@pytest.fixture
def deps(clock, redeemer) -> ConsentDeps:
    store = InMemoryConnectorStore([delegated_record()])
    notifications: list[dict] = []
    sent: list[tuple[str, str]] = []

    def connection_for(record: ConnectorRecord) -> BcConnection:
        return BcConnection(record.settings["tenantId"], "Production", constants.DEMO_CLIENT_ID, "client-secret")

    def no_bc(*args: Any) -> Any:
        raise AssertionError("these tests end before BC is called")

    deps = ConsentDeps(
        store=store, secrets=InMemorySecretStore(), states=InMemoryConsentStateStore(),
        versions=InMemoryTokenVersionStore(),
        app=AppSettings(bc_client_id=constants.DEMO_CLIENT_ID, bc_api_url="https://bc.test",
                        bc_authority_host=AUTHORITY, public_base_url=PUBLIC, key_vault_url=None,
                        functions_environment=None),
        notify=notifications.append, parking=InMemoryParkingLot(), send_text=lambda q, t: sent.append((q, t)),
        connection_for=connection_for, redeemer_for=lambda tenant, client_id, secret: redeemer,
        bc_client_with_token=no_bc, credential_for=no_bc, forget_credential=lambda name: None,
        leases=InMemoryLeaseStore(name=REPLAY_LEASE, clock=clock), now=clock)
    deps.notifications = notifications  # type: ignore[attr-defined]
    deps.sent = sent  # type: ignore[attr-defined]
    return deps
