"""Fixtures shared by the whole suite.

- A network guard: no test may open a socket to anything but loopback (no internet, no IMDS probe).
- `azurite`: a storage connection string (tests/conftest_azurite.py).
- `sandbox`: the BC sandbox over real HTTPS on a free port, trusted through REQUESTS_CA_BUNDLE.
- `services`: the app's real adapters on Azurite and the sandbox, with an in-memory secret store and a
  list that collects notifications; installed as the worker's services for HTTP function calls.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from typing import Iterator

import pytest

pytest_plugins = ["tests.conftest_azurite"]

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _loopback_only(address) -> None:
    if isinstance(address, tuple) and address:
        host = address[0]
        try:
            if ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            if host == "localhost":
                return
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {host!r}")


def _guarded_connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _loopback_only(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _loopback_only(address)
    return _real_connect_ex(self, address)


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> Iterator["object"]:
    """The BC sandbox on a free loopback port; its CA is trusted by requests for the whole session."""
    from sandbox.server import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0, state_dir=str(tmp_path_factory.mktemp("sandbox")))
    server.start()
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = server.ca_bundle
    try:
        yield server
    finally:
        server.stop()
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


@pytest.fixture
def bc(sandbox):
    """The sandbox reset to its fixtures, with no faults, default limits and an empty request log."""
    from sandbox.admin import SandboxAdmin

    admin = SandboxAdmin(sandbox.url, sandbox.ca_bundle)
    admin.reset()
    yield admin
    admin.reset()


@pytest.fixture
def services(azurite, sandbox, bc):
    """A worker of the app on Azurite and the sandbox (`tests._worker.Worker`): secrets in memory,
    notifications kept; installed as the worker's app for HTTP function calls."""
    from sandbox import constants
    from shared import bootstrap
    from shared.adapters.secrets import InMemorySecretStore
    from tests._worker import Worker

    environ = {
        "AzureWebJobsStorage": azurite,
        "BC_API_URL": sandbox.url,
        "BC_AUTHORITY_HOST": sandbox.url,
        "BC_CLIENT_ID": constants.DEMO_CLIENT_ID,
        "PUBLIC_BASE_URL": "http://127.0.0.1:7071",
        "REQUESTS_CA_BUNDLE": sandbox.ca_bundle,
    }
    worker = Worker.on(environ, secrets=InMemorySecretStore(), credential_factory=_no_azure_credential)
    bootstrap.set_worker_app(worker.app)
    yield worker
    bootstrap.set_worker_app(None)


def _no_azure_credential(**_: object):
    raise AssertionError("tests must not build an Azure credential (it would probe IMDS)")


@pytest.fixture
def connector_name() -> str:
    """A connector name unique to the test, so tests can share one Azurite."""
    return f"t-{uuid.uuid4().hex[:12]}"


def pytest_collection_modifyitems(items):
    """Mark every test that needs Azurite or the sandbox as `integration`, so `make test-fast`
    (`-m "not integration"`) never starts a service, whether or not its module says so."""
    for item in items:
        if {"azurite", "sandbox"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)


# -- every message the suite sends to the host follows its published schema (docs/schemas/) ---------------

def _check_output_queues() -> None:
    """Wrap the senders of outcomes, notifications and expenses, and the test doubles that stand in for
    them, so a message that does not follow docs/schemas/ fails the test that sent it."""
    from shared.adapters import expense_outbox, queues
    from tests import _worker
    from tests._schemas import OUTPUT_SCHEMAS, check_sent

    def checking_send_text(original):
        def send_text(self, queue, text, **options):
            if queue in OUTPUT_SCHEMAS:
                check_sent(OUTPUT_SCHEMAS[queue], text)
            return original(self, queue, text, **options)
        return send_text

    def checking_send_many(original):
        def send_many(self, messages):
            for message in messages:
                check_sent("expense-message", message)
            return original(self, messages)
        return send_many

    for cls in (queues.QueueSender, queues.InMemoryQueueSender):
        cls.send_text = checking_send_text(cls.send_text)
    for cls in (expense_outbox.QueueOutbox, expense_outbox.InMemoryOutbox):
        cls.send_many = checking_send_many(cls.send_many)
    notify = _worker.Notifications.notify

    def checked_notify(self, message):
        check_sent("notification-message", message)
        return notify(self, message)

    _worker.Notifications.notify = checked_notify


_check_output_queues()


def pytest_terminal_summary(terminalreporter) -> None:
    from tests._schemas import CHECKED

    if CHECKED:
        terminalreporter.write_line("messages checked against docs/schemas/: " + ", ".join(
            f"{name} {count}" for name, count in sorted(CHECKED.items())))
