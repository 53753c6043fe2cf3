"""The clean-up pass of connector secrets (issue 10 item 1): secrets no connector row names are deleted,
except client secrets a save may still be about to name."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from shared.adapters.connector_store import InMemoryConnectorStore
from shared.adapters.secrets import InMemorySecretStore, new_client_secret_name
from shared.clock import SYSTEM_CLOCK
from shared.connectors import ConnectorOptions, ConnectorRecord, ConnectorService, ConnectorSettings

from ._fakes import FakeConsent, NoBc, NoRealtime, Recorded

NOW = datetime.now(timezone.utc)


def service(store, secrets):
    recorded = Recorded()
    return ConnectorService(store=store, secrets=secrets, bc_clients=NoBc(), consent=FakeConsent(lambda r: "x"),
                            purger=recorded, activity=recorded, notifier=recorded, realtime=NoRealtime(), clock=SYSTEM_CLOCK,
                            options=ConnectorOptions())


def stored(store, name, secret_name):
    settings = ConnectorSettings.from_document({"tenantId": "contoso.onmicrosoft.com", "environment": "Production",
                                                "company": "CRONUS", "auth": {"mode": "clientCredentials"}})
    store.create(ConnectorRecord(name=name, settings=settings, status="connected", company_id=None,
                                 company_name=None, tax_mode=None, refresh_token_expires_at=None,
                                 client_secret_source="connector", client_secret_name=secret_name))


def test_the_secret_the_row_names_stays_and_an_old_unnamed_one_goes():
    store, secrets = InMemoryConnectorStore(), InMemorySecretStore()
    current = new_client_secret_name("acme", NOW - timedelta(days=2))
    orphan = new_client_secret_name("acme", NOW - timedelta(hours=1))
    for name in (current, orphan, "connector-acme-refresh-token"):
        secrets.set_secret(name, "value")
    stored(store, "acme", current)
    assert service(store, secrets).sweep_secrets() == [orphan]
    assert secrets.names() == sorted([current.lower(), "connector-acme-refresh-token"])


def test_a_client_secret_written_moments_ago_is_left_for_the_save_that_wrote_it():
    secrets = InMemorySecretStore()
    fresh = new_client_secret_name("acme", NOW)
    secrets.set_secret(fresh, "value")
    assert service(InMemoryConnectorStore(), secrets).sweep_secrets() == []
    assert service(InMemoryConnectorStore(), secrets).sweep_secrets(older_than=timedelta(0)) == [fresh]


def test_every_secret_of_a_connector_without_a_row_goes():
    secrets = InMemorySecretStore({"connector-gone-client-secret": "a", "connector-gone-refresh-token": "b",
                                   "bc-client-secret": "app"})
    assert sorted(service(InMemoryConnectorStore(), secrets).sweep_secrets()) == [
        "connector-gone-client-secret", "connector-gone-refresh-token"]
    assert secrets.names() == ["bc-client-secret"]
