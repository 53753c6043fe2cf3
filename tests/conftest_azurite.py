"""pytest plugin: an Azurite for the test session, and per-test unique names.

Load it with `-p tests.conftest_azurite` or `pytest_plugins = ["tests.conftest_azurite"]` in the root
conftest. The `azurite` fixture yields a storage connection string:

- `AzureWebJobsStorage` from the environment when set (`make test` starts one Azurite for everything);
- otherwise it starts `node_modules/.bin/azurite` in memory on free loopback ports, and stops it at the
  end of the session. Flags per azure-functions-notes.md §3: `--skipApiVersionCheck` (the queue SDK's
  API version is newer than Azurite 3.35 knows) and `--disableTelemetry` (Azurite would otherwise call
  Application Insights).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
AZURITE_BIN = REPO_ROOT / "node_modules" / ".bin" / "azurite"

#: Azurite's well-known development account (public, documented; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

_START_TIMEOUT_S = 30.0
_START_ATTEMPTS = 3


def azurite_connection_string(blob_port: int, queue_port: int, table_port: int) -> str:
    """The explicit connection string for an Azurite on 127.0.0.1 with these ports."""
    return (
        "DefaultEndpointsProtocol=http;AccountName={a};AccountKey={k};"
        "BlobEndpoint=http://127.0.0.1:{b}/{a};QueueEndpoint=http://127.0.0.1:{q}/{a};"
        "TableEndpoint=http://127.0.0.1:{t}/{a};"
    ).format(a=AZURITE_ACCOUNT, k=AZURITE_ACCOUNT_KEY, b=blob_port, q=queue_port, t=table_port)


def _free_ports(count: int) -> list[int]:
    # Hold all sockets open at once so the ports are distinct; Azurite binds them right after.
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def _start_azurite(workdir: Path) -> tuple[subprocess.Popen, str]:
    if not AZURITE_BIN.exists():
        pytest.fail(
            "Azurite is not installed: run `npm ci` at the repository root (node_modules/.bin/azurite), "
            "or set AzureWebJobsStorage to a running Azurite's connection string."
        )
    log_path = workdir / "azurite.log"
    last_error = ""
    for _ in range(_START_ATTEMPTS):
        blob, queue, table = _free_ports(3)
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [
                    str(AZURITE_BIN), "--silent", "--inMemoryPersistence", "--skipApiVersionCheck",
                    "--disableTelemetry",
                    "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
                    "--blobPort", str(blob), "--queuePort", str(queue), "--tablePort", str(table),
                ],
                cwd=workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            if all(_port_open(p) for p in (blob, queue, table)):
                return process, azurite_connection_string(blob, queue, table)
            time.sleep(0.1)
        # A port taken between choosing and binding makes Azurite exit: try other ports.
        _stop(process)
        last_error = log_path.read_text(errors="replace")[-2000:]
    pytest.fail("Azurite did not start within %ss; its log ends with:\n%s" % (_START_TIMEOUT_S, last_error))


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A storage connection string for a running Azurite (see the module docstring)."""
    configured = (os.environ.get("AzureWebJobsStorage") or "").strip()
    if configured:
        yield configured
        return
    process, connection_string = _start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield connection_string
    finally:
        _stop(process)


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
