"""One BC request budget per BC user across separate host processes (issue 13), with real OS processes on the
test session's Azurite and BC sandbox:

- two host processes (`_host.py`: the function app's invoice queue trigger under the dev host, each with its
  own adapters, gates and budget owner) export one connector's invoices at once: BC never has more of that
  user's requests in flight than the budget allows, and every invoice is exported once;
- a worker process holding slots is killed (`_holder.py`, SIGKILL): the survivors get the slots back when its
  lease ends (the bound of `shared/adapters/bc_budget.py`, "Dead workers"), not before.

`benchmarks/scale_out.py` measures throughput with 1, 2 and 4 processes; these tests prove the bounds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from sandbox import constants
from sandbox.bc._fixturegen import COMPANY_IDS
from shared.exports import Delivery
from tests._settings import connector_settings
from tests.integration.exports._helpers import OutcomeReader, customer_data, invoice_data, message

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
US_COMPANY_ID = COMPANY_IDS[(constants.ENVIRONMENT, "us")]
#: BC_MAX_CONCURRENT_REQUESTS of the two-host test: each process's own gate allows this many, so without one
#: budget across processes BC would see twice as many.
LIMIT = 2
INVOICES = 12
LATENCY_MS = 300


class Child:
    """A Python module run as a separate OS process; its output goes to a file the test reads."""

    def __init__(self, module: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "w")
        self.process = subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                                        stdout=self._out, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, prefix: str, seconds: float = 60.0) -> str:
        """The first output line starting with `prefix`, polled until the deadline (a loaded machine starts a
        Python process with the Azure SDKs in seconds)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in self.output().splitlines():
                if line.startswith(prefix):
                    return line
            if self.process.poll() is not None:
                raise AssertionError(f"{self.log.name} exited with {self.process.returncode}:\n{self.output()}")
            time.sleep(0.05)
        raise AssertionError(f"{self.log.name} did not print {prefix!r} within {seconds} s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no release, as a worker that dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._out.close()


@pytest.fixture
def processes(tmp_path) -> Iterator[Callable[..., Child]]:
    """`processes(module, *args, env=...)` starts a child process; every child is stopped after the test."""
    children: list[Child] = []

    def start(module: str, *args: str, env: dict[str, str]) -> Child:
        child = Child(module, list(args), {**os.environ, **env}, tmp_path / f"{module.rsplit('.', 1)[-1]}-"
                                                                           f"{len(children)}.log")
        children.append(child)
        return child

    yield start
    for child in children:
        child.stop()


def _no_azure_credential(**_: object):
    raise AssertionError("tests must not build an Azure credential")


@pytest.fixture
def another_bc_user(bc) -> tuple[str, str]:
    """(client id, secret) of an app registration of its own, enabled in the BC environment: a BC user no other
    test uses, so its budget row and the sandbox's counters are this test's alone."""
    secret = f"two-hosts-{uuid.uuid4().hex}"
    app = bc.register_app(homeTenant=constants.TENANT_ID, displayName="Two hosts", clientSecret=secret,
                          applicationPermissions=["API.ReadWrite.All"])
    bc.set_bc_app_enabled(constants.TENANT_ID, constants.ENVIRONMENT, app["clientId"])
    return app["clientId"], secret


def _peak_in_flight(bc, client_id: str) -> int:
    usage = bc.limits().get("usage") or {}
    return max((u["peakActive"] for key, u in usage.items() if key.endswith("app:" + client_id)), default=0)


def _exported_invoices(client, numbers: set[str]) -> list[str]:
    """The externalDocumentNumber of every sales invoice BC holds that carries one of `numbers`."""
    found = client.list_entities(US_COMPANY_ID, "salesInvoices", select="id,externalDocumentNumber")
    return sorted(i["externalDocumentNumber"] for i in found if i["externalDocumentNumber"] in numbers)


def test_two_host_processes_never_have_more_bc_requests_in_flight_than_the_bc_users_budget_and_export_each_invoice_once(
        azurite, sandbox, bc, another_bc_user, processes, tmp_path):
    from shared.adapters.secrets import LocalDevSecretStore
    from tests._worker import Worker

    client_id, secret = another_bc_user
    environ = {"AzureWebJobsStorage": azurite, "BC_API_URL": sandbox.url, "BC_AUTHORITY_HOST": sandbox.url,
               "BC_CLIENT_ID": constants.DEMO_CLIENT_ID, "REQUESTS_CA_BUNDLE": sandbox.ca_bundle,
               "BC_MAX_CONCURRENT_REQUESTS": str(LIMIT)}
    secrets_file = str(tmp_path / "secrets.json")  # the connector's client secret, read by every process
    worker = Worker.on(environ, secrets=LocalDevSecretStore(secrets_file), credential_factory=_no_azure_credential)
    name = f"it-two-hosts-{uuid.uuid4().hex[:8]}"
    worker.app.connectors.save(name, connector_settings("us", auth__clientId=client_id, auth__clientSecret=secret))
    customer = customer_data(f"cust-{name}")
    exported = worker.app.exports.process(Delivery("bc-customers", message(name, "customer", customer), "c-1"))
    assert exported["status"] == "created", exported
    worker.queue("invoices").clear_messages()  # what earlier tests deferred is not this test's work

    hosts = [processes("tests.integration.scale_out._host", "--secrets", secrets_file, "--functions",
                       "export_invoice", "--batch", str(INVOICES // 2), env=environ) for _ in range(2)]
    for host in hosts:
        host.wait_for("ready")
    bc.set_latency(LATENCY_MS)
    ids = [f"{name}-{n}" for n in range(INVOICES)]
    for host_id in ids:
        worker.send_text("bc-invoices", message(name, "invoice", invoice_data(host_id, customer=customer)))

    reader = OutcomeReader(worker)

    def invoice_outcomes() -> list[dict]:
        return [o for o in reader.of(name) if o["type"] == "invoice"]

    deadline = time.monotonic() + 60
    while len(invoice_outcomes()) < INVOICES and time.monotonic() < deadline:
        time.sleep(0.2)
    bc.set_latency(0)

    got = invoice_outcomes()
    assert sorted((o["id"], o["status"]) for o in got) == sorted((i, "created") for i in ids), got
    assert _exported_invoices(worker.bc_client_for_record(worker.store().get(name)),
                              {i.upper() for i in ids}) == sorted(i.upper() for i in ids)
    exports_per_host = [h.output().count("Executed 'Functions.export_invoice' (Succeeded") for h in hosts]
    assert all(exports_per_host), f"both processes must have exported invoices: {exports_per_host}"
    # Each process's own gate allows LIMIT: together they would reach 2 * LIMIT without the shared budget.
    assert _peak_in_flight(bc, client_id) == LIMIT


def test_the_slots_of_a_killed_worker_come_back_when_its_lease_ends_and_not_before(azurite, make_table_client,
                                                                                  processes):
    from shared.adapters import ensure_table
    from shared.adapters.bc_budget import TableRequestBudget
    from shared.bc import BudgetExhausted, BudgetLimits, budget_user

    lease = 4.0
    table = ensure_table(make_table_client("BcBudgets"))
    user = budget_user(constants.TENANT_ID, client_id=str(uuid.uuid4()))
    holder = processes("tests.integration.scale_out._holder", "--table", table.table_name, "--user", user,
                       "--slots", str(LIMIT), "--lease", str(lease), env={"AzureWebJobsStorage": azurite})
    _, slots, first, last = holder.wait_for("held ").split()
    assert int(slots) == LIMIT
    # The holder's lease was last renewed between `first` and `last`: it is valid at least until
    # `first + lease` and ends by `last + lease`.
    valid_until, ends_by = float(first) + lease, float(last) + lease

    survivor = TableRequestBudget(table, limits=BudgetLimits(max_in_flight=LIMIT), lease_seconds=lease,
                                  max_wait=0.0)
    with pytest.raises(BudgetExhausted):
        survivor.acquire(user)  # the holder lives and holds every slot
    holder.kill()

    permits, taken_at, refused_while_leased = [], [], 0
    deadline = ends_by + 30
    while len(permits) < LIMIT and time.time() < deadline:
        try:
            permits.append(survivor.acquire(user))
            taken_at.append(time.time())
        except BudgetExhausted:
            refused_while_leased += time.time() < valid_until
            time.sleep(0.05)
    for permit in permits:
        permit.release()

    assert len(permits) == LIMIT, "the dead worker's slots never came back"
    assert refused_while_leased > 0
    assert min(taken_at) >= valid_until, "a slot was leased again while the dead worker's lease was still valid"
    # Within the lease term: the slots return when the lease ends (the margin is for polling on a loaded machine).
    assert max(taken_at) - ends_by < 2.5, f"the slots came back {max(taken_at) - ends_by:.1f} s after the lease ended"
