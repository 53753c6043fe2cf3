"""Real-time expenses end to end: the app's HTTP functions served on loopback by the dev host (so the BC
sandbox can call `/api/bc/notifications`), a worker whose PUBLIC_BASE_URL is that address, and the sandbox's
webhook delay cut to 0.1 s (integration tests; the benchmark keeps BC's 30 s)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

import pytest

from shared.clock import SYSTEM_CLOCK
from tests._app import FUNCTIONS, call_http, json_of
from tests.integration.expenses._helpers import MAPPED, expense_settings


@dataclass
class ShiftedClock:
    """The system clock moved ahead by `offset` (the sandbox's clock is moved by the same amount).

    Not one of tests/_clock.py's fakes: the worker here talks to the real sandbox and dev host, so its
    time (and `sleep`) must be real; only the jump the test makes on the sandbox's clock is added."""

    offset: _dt.timedelta = field(default_factory=_dt.timedelta)

    def now(self) -> _dt.datetime:
        return SYSTEM_CLOCK.now() + self.offset

    def monotonic(self) -> float:
        return SYSTEM_CLOCK.monotonic()

    def sleep(self, seconds: float) -> None:
        SYSTEM_CLOCK.sleep(seconds)


@pytest.fixture
def push(azurite, sandbox, bc, connector_name):
    """(worker, host, clock): the app served on loopback, a worker wired to it, and its clock."""
    from devtools.devhost import DevHost
    from sandbox import constants
    from shared import bootstrap
    from shared.adapters.secrets import InMemorySecretStore
    from tests._worker import Worker

    host = DevHost(list(FUNCTIONS.values()), {"AzureWebJobsStorage": azurite}, port=0, queues=False,
                   timers=False).start()
    clock = ShiftedClock()
    environ = {"AzureWebJobsStorage": azurite, "BC_API_URL": sandbox.url, "BC_AUTHORITY_HOST": sandbox.url,
               "BC_CLIENT_ID": constants.DEMO_CLIENT_ID, "PUBLIC_BASE_URL": host.base_url,
               "REQUESTS_CA_BUNDLE": sandbox.ca_bundle}
    worker = Worker.on(environ, secrets=InMemorySecretStore(), credential_factory=_no_azure_credential,
                       clock=clock)
    bootstrap.set_worker_app(worker.app)
    bc.set_webhook_settings(notificationDelaySeconds=0.1, retryInitialSeconds=0.2)
    worker.queue("import-requests").clear_messages()
    try:
        yield worker, host, clock
    finally:
        call_http("delete_connector", route_params={"name": connector_name})
        bootstrap.set_worker_app(None)
        host.stop()


@pytest.fixture
def realtime_connector(push, connector_name):
    """Saves an expense connector (purchase invoices, real time on by default) with P-1001/P-1002 mapped."""
    from shared.adapters import table_key

    worker, _host, _clock = push

    def save(**expenses):
        response = call_http("put_connector", route_params={"name": connector_name},
                             body=expense_settings(**expenses))
        assert response.status_code in (200, 201), json_of(response)
        ledger = worker.table("ledger")
        for code, host_id in MAPPED.items():
            ledger.upsert_entity({"PartitionKey": f"{connector_name}|project", "RowKey": table_key(host_id),
                                  "bcNumber": code, "status": "synced"})
        return json_of(response)

    return save


def _no_azure_credential(**_: object):
    raise AssertionError("tests must not build an Azure credential (it would probe IMDS)")
