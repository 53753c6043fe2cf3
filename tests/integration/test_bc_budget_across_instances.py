"""One BC request budget per BC user across instances (issue 13), end to end: two independent App instances
(each with its own adapters, gates, HTTP session and budget owner id, as two Functions instances have) on one
Azurite and one sandbox, in one test process. `tests/integration/scale_out/` proves the same bound with two
host processes, and the release of a killed worker's slots; `benchmarks/scale_out.py` measures throughput."""

from __future__ import annotations

import threading
import uuid

import pytest

from sandbox import constants
from shared.adapters.secrets import InMemorySecretStore
from shared.exports import Delivery
from tests._worker import Worker
from tests.integration.exports._helpers import customer_data, message, settings_document

pytestmark = pytest.mark.integration


def _no_azure_credential(**_: object):
    raise AssertionError("tests must not build an Azure credential")


@pytest.fixture
def two_instances(services, bc):
    """Two workers of the app on the same storage, with at most 2 BC requests in flight per BC user."""
    environ = {**services.environ, "BC_MAX_CONCURRENT_REQUESTS": "2"}
    secrets = InMemorySecretStore()
    workers = [Worker.on(environ, secrets=secrets, credential_factory=_no_azure_credential) for _ in range(2)]
    return workers


def _peak_in_flight(bc) -> int:
    usage = bc.limits().get("usage") or {}
    return max((u["peakActive"] for key, u in usage.items() if constants.DEMO_CLIENT_ID in key), default=0)


def test_two_instances_never_have_more_bc_requests_in_flight_than_the_bc_users_budget(two_instances, bc):
    name = f"it-budget-{uuid.uuid4().hex[:8]}"
    first, second = two_instances
    first.app.connectors.save(name, settings_document("us"))
    bc.set_latency(150)
    results: list[str] = []
    lock = threading.Lock()

    def export(worker: Worker, n: int) -> None:
        text = message(name, "customer", customer_data(f"cust-{n}"))
        outcome = worker.app.exports.process(Delivery("bc-customers", text, uuid.uuid4().hex))
        with lock:
            results.append(outcome["status"])

    threads = [threading.Thread(target=export, args=(worker, n))
               for n in range(12) for worker in [(first, second)[n % 2]]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert len(results) == 12 and set(results) <= {"created", "deferred"}, results
    assert results.count("created") >= 1
    # Each instance alone would allow 2 (its local gate): together they would reach 4 without the budget.
    assert _peak_in_flight(bc) <= 2


def test_a_bc_user_shared_by_two_connectors_has_one_budget(two_instances):
    from shared.bc import budget_user

    first, second = two_instances
    key = budget_user(constants.TENANT_ID, client_id=constants.DEMO_CLIENT_ID)
    names = [f"it-shared-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    first.app.connectors.save(names[0], settings_document("us"))
    second.app.connectors.save(names[1], settings_document("us"))

    clients = [w.adapters.bc_clients.for_record(w.adapters.connector_store.get(n))
               for w, n in zip((first, second), names)]

    assert [c._gate.key for c in clients] == [key, key]
