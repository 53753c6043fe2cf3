"""Fixtures of the consent integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def own_connectors_table(services, azurite_table_service, table_prefix):
    """This test's connectors in a table of their own, so the keep-alive (which walks every connector)
    sees only them and not what earlier tests left in the shared `Connectors` table."""
    from shared.adapters.connector_store import TableConnectorStore

    name = f"{table_prefix}Connectors"
    services.replace_adapters(connector_store=TableConnectorStore(azurite_table_service.get_table_client(name)))
    yield services
    azurite_table_service.delete_table(name)


@pytest.fixture
def keep_alive(services):
    """Run the keep-alive use case now (as the timer would) and return its summary."""
    return lambda: services.upkeep().run()


@pytest.fixture
def new_worker(services):
    """Forget this worker's delegated credentials, as a fresh worker (or an hour later) would have none.

    Needed after moving the sandbox clock: access tokens cached in memory follow the local clock.
    """
    return services.forget_credentials
