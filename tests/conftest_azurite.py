"""pytest plugin: an Azurite for the test session, and per-test unique names.

Load it with `-p tests.conftest_azurite` or `pytest_plugins = ["tests.conftest_azurite"]` in the root
conftest. The `azurite` fixture yields a storage connection string:

- `AzureWebJobsStorage` from the environment when set (`make test` starts one Azurite for everything);
- otherwise it starts `node_modules/.bin/azurite` in memory on free loopback ports, and stops it at the
  end of the session. Flags: `--skipApiVersionCheck` (the queue SDK's
  API version is newer than Azurite 3.35 knows) and `--disableTelemetry` (Azurite would otherwise call
  Application Insights).
"""

from __future__ import annotations

import os
import uuid
from typing import Callable, Iterator

import pytest

from devtools._services import ServiceError, start_azurite_on_free_ports

@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A storage connection string for a running Azurite (see the module docstring)."""
    configured = (os.environ.get("AzureWebJobsStorage") or "").strip()
    if configured:
        yield configured
        return
    try:
        child, connection_string = start_azurite_on_free_ports(log_path=tmp_path_factory.mktemp("azurite") / "log")
    except ServiceError as err:
        pytest.fail(str(err))
    try:
        yield connection_string
    finally:
        child.stop()


@pytest.fixture
def unique_suffix() -> str:
    """12 hex characters, different for every test, for names that must not collide across tests."""
    return uuid.uuid4().hex[:12]


@pytest.fixture
def table_prefix(unique_suffix: str) -> str:
    """A table-name prefix of this test alone (table names: a letter, then letters and digits)."""
    return "t%s" % unique_suffix


@pytest.fixture
def unique_connector_name(unique_suffix: str) -> str:
    """A connector name no other test uses (3-63 chars of [a-z0-9-], as the Contract requires)."""
    return "test-%s" % unique_suffix


@pytest.fixture
def azurite_table_service(azurite: str):
    from azure.data.tables import TableServiceClient

    with TableServiceClient.from_connection_string(azurite) as service:
        yield service


@pytest.fixture
def azurite_queue_service(azurite: str):
    from azure.storage.queue import QueueServiceClient

    with QueueServiceClient.from_connection_string(azurite) as service:
        yield service


@pytest.fixture
def make_table_client(azurite_table_service, table_prefix: str) -> Iterator[Callable[[str], object]]:
    """`make_table_client("Connectors")` -> a TableClient for `<prefix>Connectors`, dropped after the test.

    The table is not created here: the code under test creates tables on first use.
    """
    names: list[str] = []

    def make(base: str):
        name = "%s%s" % (table_prefix, base)
        names.append(name)
        return azurite_table_service.get_table_client(name)

    yield make
    for name in names:
        azurite_table_service.delete_table(name)
