"""Scale-out: 1, 2 and 4 dev-host processes (`devtools.devhost`, queue triggers on Azurite) against one
sandbox with BC's limits on and 50 ms of latency per BC request. Runnable alone (it takes minutes; not
part of `make bench` or `make test`):

    python -m benchmarks.scale_out [--invoices N] [--flood N] [--flood-senders N] [--processes 1,2,4]
                                   [--skip cost,one,deferral,noisy,two] [--logs DIR]

The sandbox's rate window is scaled down 10x in time and 6x in rate (`SCALE_OUT_REQUESTS`, default 100
requests per 30 s: a ceiling of 200 requests per minute per BC user instead of 1,200) and the app's budget
settings get the same numbers: this 2-core machine cannot push 1,200 invoices a minute through Python dev
hosts and Azurite, and the budget, not the CPU, has to be what binds.
Figures:
- one connector, by process count: BC's in-flight maximum (sandbox `peakActive`), 429s, sustained
  invoices per minute (whole windows after the first) vs the ceiling; deferrals;
- noisy neighbour: connector A floods, then connector B (another BC user: another app registration)
  sends 20; seconds from B's send to B's last outcome, and the deferrals per second per process while B
  waited (what bounds it: B's messages sit behind A's in the one queue);
- two connectors: on two BC users (throughput adds up) and on one BC user (their sum stays under one
  budget).

Uses the repository's `.local-secrets/secrets.json` (AZURE_FUNCTIONS_ENVIRONMENT=Development) so the
dev hosts find the connectors' client secrets, as `make run` does.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.export_harness import REPO, _sandbox, invoice, settings
from sandbox import constants
from sandbox.admin import SandboxAdmin

LATENCY_MS = 50
#: 6,000 per 300 s scaled 10x in time (30 s) and 6x in rate (100): this 2-core machine cannot run 1,200
#: invoices/min through Python dev hosts and Azurite, so the budget (not the CPU) must be what binds.
WINDOW = {"requestsPerWindow": int(os.environ.get("SCALE_OUT_REQUESTS", "100")), "windowSeconds": 30}
CEILING_PER_MIN = WINDOW["requestsPerWindow"] * 60 / WINDOW["windowSeconds"]
NOISY_PROCESSES = 2
#: A flood arrives as fast as a host application can put it on the queue: several threads sending
#: (`--flood-senders`; 1 sends at the pace the hosts work the queue off on this machine).
FLOOD_SENDERS = 8


class _Quiet:
    def notify(self, _notification: Any) -> None:
        pass


class Bench:
    def __init__(self, url: str, ca: str, connection: str, state_dir: str) -> None:
        self.url, self.ca, self.connection, self.state_dir = url, ca, connection, state_dir
        self.admin = SandboxAdmin(url, ca)
        self.env = {**os.environ, "AzureWebJobsStorage": connection, "BC_API_URL": url, "BC_AUTHORITY_HOST": url,
                    "BC_CLIENT_ID": constants.DEMO_CLIENT_ID, "AZURE_FUNCTIONS_ENVIRONMENT": "Development",
                    "REQUESTS_CA_BUNDLE": ca, "BC_MAX_CONCURRENT_REQUESTS": "5",
                    "BC_REQUESTS_PER_WINDOW": str(WINDOW["requestsPerWindow"]),
                    "BC_RATE_WINDOW_SECONDS": str(WINDOW["windowSeconds"]),
                    "EXPENSE_IMPORT_SCHEDULE": "0 0 0 1 1 *", "TOKEN_KEEPALIVE_SCHEDULE": "0 0 0 1 1 *"}
        from azure.data.tables import TableServiceClient
        from azure.storage.queue import QueueServiceClient

        from shared.adapters import ensure_table
        from shared.adapters.bc_budget import TableRequestBudget
        from shared.bc import BudgetLimits, ConnectorGates

        from shared.adapters.secrets import LocalDevSecretStore
        from shared.bootstrap import bootstrap, build_adapters

        self.queues = QueueServiceClient.from_connection_string(connection)
        for queue in ("bc-invoices", "bc-outcomes"):
            try:
                self.queues.get_queue_client(queue).create_queue()
            except Exception:  # noqa: BLE001 - it exists
                pass
        os.environ["REQUESTS_CA_BUNDLE"] = ca
        # The app's budget, as the composition root builds it, kept at hand for its storage counters.
        limits = BudgetLimits(5, WINDOW["requestsPerWindow"], WINDOW["windowSeconds"])
        tables = TableServiceClient.from_connection_string(connection)
        self.budget = TableRequestBudget(lambda: ensure_table(tables.get_table_client("BcBudgets")), limits=limits)
        adapters = build_adapters(self.env, secrets=LocalDevSecretStore(REPO / ".local-secrets" / "secrets.json"),
                                  notifier=_Quiet(), gates=ConnectorGates(limits.max_in_flight, budget=self.budget))
        self.app = bootstrap(adapters=adapters)
        self.hosts: list[subprocess.Popen[str]] = []
        self.azurite_pid = 0

    def other_app(self, secret: str) -> str:
        """Another app registration (another BC user), enabled in the BC environment; its client id."""
        app = self.admin.register_app(homeTenant=constants.TENANT_ID, displayName="Bench " + secret[:8],
                                      clientSecret=secret, applicationPermissions=["API.ReadWrite.All"])
        self.admin.set_bc_app_enabled(constants.TENANT_ID, constants.ENVIRONMENT, app["clientId"])
        return app["clientId"]

    def connector(self, client_id: str = constants.DEMO_CLIENT_ID, secret: str = constants.DEMO_CLIENT_SECRET) -> str:
        from shared.bc import BudgetExhausted

        name = f"bench-{uuid.uuid4().hex[:8]}"
        for _ in range(20):
            try:
                self.app.connectors.save(name, settings(auth={"mode": "clientCredentials", "clientId": client_id,
                                                              "clientSecret": secret}))
                return name
            except BudgetExhausted as exc:  # the previous run used the BC user's budget up: a save waits too
                time.sleep(min(exc.retry_after or 1.0, 10.0))
        raise RuntimeError("the BC user's budget stayed used up")

    def start_hosts(self, count: int) -> None:
        for _ in range(count):
            log = open(Path(self.state_dir) / f"host-{uuid.uuid4().hex[:8]}.log", "w")
            self.hosts.append(subprocess.Popen(
                [sys.executable, "-m", "devtools.devhost", "--port", "0", "--no-timers", "--settings",
                 str(Path(self.state_dir) / "none.json")], cwd=REPO, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, text=True))
        time.sleep(3)

    def deferrals(self) -> int:
        """Deferrals the dev hosts logged so far (their logs are this run's)."""
        return sum(path.read_text(errors="replace").count(" deferred ")
                   for path in Path(self.state_dir).glob("host-*.log"))

    def stop_hosts(self) -> None:
        for host in self.hosts:
            host.terminate()
        for host in self.hosts:
            try:
                host.wait(timeout=20)
            except subprocess.TimeoutExpired:
                host.kill()
        self.hosts.clear()

    def send(self, connector: str, count: int, tag: str, *, senders: int = 1) -> float:
        """Put `count` invoices of `connector` on bc-invoices from `senders` threads; when sending started."""
        from concurrent.futures import ThreadPoolExecutor

        queue = self.queues.get_queue_client("bc-invoices")  # created by __init__

        def one(n: int) -> None:
            queue.send_message(json.dumps({"connector": connector, "type": "invoice", "version": 1,
                                           "data": invoice(f"{tag}-{n}", customer_id=f"cust-{connector}")}))

        started = time.time()
        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(one, range(count)))
        return started

    def collect(self, expected: dict[str, int], timeout: float) -> dict[str, list[float]]:
        """Outcome arrival times per connector until `expected` many each (or the timeout)."""
        queue = self.queues.get_queue_client("bc-outcomes")
        seen: dict[str, list[float]] = {c: [] for c in expected}
        statuses: dict[str, int] = {}
        deadline = time.time() + timeout
        while time.time() < deadline and any(len(seen[c]) < n for c, n in expected.items()):
            got = False
            for m in queue.receive_messages(messages_per_page=32, visibility_timeout=60).by_page():
                for message in m:
                    got = True
                    body = json.loads(message.content)
                    statuses[body.get("status")] = statuses.get(body.get("status"), 0) + 1
                    if body.get("connector") in seen:
                        seen[body["connector"]].append(time.time())
                    queue.delete_message(message)
                break
            if not got:
                time.sleep(0.2)
        seen["_statuses"] = statuses  # type: ignore[assignment]
        return seen

    def fresh_user(self, tag: str) -> tuple[str, str]:
        """(client id, secret) of a new app registration: a BC user with a budget of its own, untouched by the
        scenarios before (their deferred messages and return schedule stay with their own BC user)."""
        secret = f"bench-{tag}-{uuid.uuid4().hex[:8]}-secret-not-for-production"
        return self.other_app(secret), secret

    def clear_queue(self) -> None:
        """Drop what a scenario left on bc-invoices (a flood's deferred, invisible messages), so the next
        scenario's hosts see only their own."""
        self.queues.get_queue_client("bc-invoices").clear_messages()

    def usage(self) -> dict[str, dict]:
        return self.admin.limits().get("usage") or {}

    def reset_limits(self) -> None:
        self.admin.set_limits(requestsPerWindow=6000, windowSeconds=300)
        time.sleep(0.5)
        self.admin.set_limits(**WINDOW)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process `pid` has used so far (Linux `/proc`; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _rate(times: list[float]) -> float:
    return round((len(times) - 1) / (times[-1] - times[0]) * 60) if len(times) > 1 else 0.0


def _sustained(times: list[float]) -> float:
    """Invoices per minute over the whole rate windows after the first (the first window may be spent in a
    burst, which any sliding-window budget allows once), while work was still queued: outcomes in
    [first + W, first + k*W) over (k - 1) * W, k the whole windows the run lasted."""
    if len(times) < 2:
        return 0.0
    window = WINDOW["windowSeconds"]
    k = int((times[-1] - times[0]) // window)
    if k < 2:
        return _rate(times)
    start, end = times[0] + window, times[0] + k * window
    return round(sum(1 for t in times if start <= t < end) / ((k - 1) * window) * 60)


def one_connector(b: Bench, processes: int, invoices: int) -> dict[str, Any]:
    name = b.connector()
    b.reset_limits()
    mark = b.admin.last_seq()
    deferred_before = b.deferrals()
    b.start_hosts(processes)
    b.send(name, invoices, f"one{processes}")
    seen = b.collect({name: invoices}, timeout=invoices / (CEILING_PER_MIN / 60) * 3 + 60)
    b.stop_hosts()
    deferred = b.deferrals() - deferred_before
    after = b.usage()
    requests = b.admin.requests(since=mark, kind="bc")
    load = os.getloadavg()[0]
    throttled = sum(1 for r in requests if r.get("status") == 429)
    times = sorted(seen[name])
    sustained = _sustained(times)
    return {"processes": processes, "invoices": invoices, "outcomes": len(times), "statuses": seen["_statuses"],
            "bc_requests": len(requests), "bc_429": throttled,
            "bc_429_percent": round(100 * throttled / max(1, len(requests)), 2),
            "bc_peak_in_flight": max((u.get("peakActive", 0) for u in after.values()), default=0),
            "invoices_per_minute_overall": _rate(times), "invoices_per_minute_sustained": sustained,
            "ceiling_per_minute": CEILING_PER_MIN,
            "percent_of_ceiling": round(100 * sustained / CEILING_PER_MIN, 1),
            "seconds": round(times[-1] - times[0], 1) if times else None, "deferrals": deferred,
            "load_1min_at_end": round(load, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--flood", type=int, default=3000)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--pair", type=int, default=150, help="invoices per connector, two-connector runs")
    parser.add_argument("--flood-senders", type=int, default=FLOOD_SENDERS, help="threads putting the flood on")
    parser.add_argument("--skip", default="")
    parser.add_argument("--logs", help="copy the dev hosts' logs into this directory at the end")
    args = parser.parse_args()
    from devtools._services import start_azurite_on_free_ports

    results: dict[str, Any] = {"latency_ms": LATENCY_MS, "window": WINDOW, "ceiling_per_minute": CEILING_PER_MIN,
                               "cores": os.cpu_count(), "load_1min_at_start": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory() as state_dir, _sandbox(state_dir, True) as (url, ca):
        child, connection = start_azurite_on_free_ports(log_path=Path(state_dir) / "azurite.log")
        try:
            b = Bench(url, ca, connection, state_dir)
        except BaseException:
            child.stop()
            raise
        b.azurite_pid = child.process.pid
        try:
            b.admin.set_latency(LATENCY_MS)
            b.admin.set_limits(**WINDOW)
            if "cost" not in args.skip:
                results["coordination_cost"] = [coordination_cost(connection, n) for n in (1, 2, 4)]
                for row in results["coordination_cost"]:
                    print(json.dumps(row), flush=True)
            if "one" not in args.skip:
                results["one_connector"] = []
                for n in [int(p) for p in args.processes.split(",")]:
                    row = one_connector(b, n, args.invoices)
                    print(json.dumps(row), flush=True)
                    results["one_connector"].append(row)
            if "deferral" not in args.skip:
                results["deferral_cost"] = deferral_cost(b)
                print(json.dumps(results["deferral_cost"]), flush=True)
            if "noisy" not in args.skip:
                results["noisy_neighbour"] = noisy(b, args.flood, args.flood_senders)
                print(json.dumps(results["noisy_neighbour"]), flush=True)
            if "two" not in args.skip:
                results["two_connectors"] = [two_connectors(b, args.pair, same) for same in (False, True)]
                for row in results["two_connectors"]:
                    print(json.dumps(row), flush=True)
        finally:
            b.stop_hosts()
            child.stop()
            if args.logs:
                import shutil

                Path(args.logs).mkdir(parents=True, exist_ok=True)
                for path in Path(state_dir).glob("*.log"):
                    shutil.copy(path, args.logs)
    print(json.dumps(results, indent=2))


def coordination_cost(connection: str, instances: int, requests: int = 400) -> dict[str, Any]:
    """Storage transactions and milliseconds the budget adds per BC request: `instances` budgets (one per
    simulated instance) on Azurite's BcBudgets, 5 threads each sending requests of 50 ms, the limits wide
    enough not to bind."""
    import threading

    from azure.data.tables import TableServiceClient

    from shared.adapters import ensure_table
    from shared.adapters.bc_budget import TableRequestBudget
    from shared.bc import BudgetExhausted, BudgetLimits

    table = ensure_table(TableServiceClient.from_connection_string(connection).get_table_client("BcBudgets"))
    limits = BudgetLimits(max_in_flight=5, requests_per_window=100_000, window_seconds=300)
    budgets = [TableRequestBudget(table, limits=limits) for _ in range(instances)]
    user = f"bench-cost-{uuid.uuid4().hex[:8]}"
    left = [requests]
    lock = threading.Lock()
    waits: list[float] = []

    def work(budget: Any) -> None:
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            started = time.perf_counter()
            while True:
                try:
                    permit = budget.acquire(user)
                    break
                except BudgetExhausted as exc:
                    time.sleep(min(exc.retry_after or 0.1, 0.5))
            waits.append(time.perf_counter() - started)
            time.sleep(LATENCY_MS / 1000)
            permit.release()

    threads = [threading.Thread(target=work, args=(budget,)) for budget in budgets for _ in range(5)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    tx = sum(b.stats.transactions for b in budgets)
    storage_seconds = sum(b.stats.seconds for b in budgets)
    return {"instances": instances, "threads_each": 5, "requests": requests,
            "storage_transactions_per_request": round(tx / requests, 3),
            "conflicts": sum(b.stats.conflicts for b in budgets),
            "storage_ms_per_request": round(storage_seconds / requests * 1000, 2),
            "mean_acquire_ms": round(sum(waits) / len(waits) * 1000, 2),
            "requests_per_second": round(requests / seconds, 1),
            "ideal_requests_per_second": round(5 / (LATENCY_MS / 1000), 1)}


def two_connectors(b: Bench, count: int, same_user: bool) -> dict[str, Any]:
    """Two connectors export `count` invoices each at once, on two BC users or on one."""
    b.clear_queue()
    first = b.fresh_user("c1")
    second = first if same_user else b.fresh_user("c2")
    names = [b.connector(*first), b.connector(*second)]
    b.reset_limits()
    mark = b.admin.last_seq()
    b.start_hosts(2)
    for n, name in enumerate(names):
        b.send(name, count, f"two{n}")
    seen = b.collect({name: count for name in names}, timeout=count * 2 / (CEILING_PER_MIN / 60) * 3 + 60)
    b.stop_hosts()
    requests = b.admin.requests(since=mark, kind="bc")
    rates = [_sustained(sorted(seen[name])) for name in names]
    both = sorted(seen[names[0]] + seen[names[1]])
    return {"same_bc_user": same_user, "together_sustained": _sustained(both), "invoices_each": count, "outcomes": [len(seen[n]) for n in names],
            "invoices_per_minute_sustained": rates, "sum": sum(rates),
            "one_users_ceiling_per_minute": CEILING_PER_MIN,
            "bc_429": sum(1 for r in requests if r.get("status") == 429),
            "bc_peak_in_flight_per_user": {k[-12:]: u.get("peakActive") for k, u in b.usage().items()},
            "load_1min_at_end": round(os.getloadavg()[0], 1)}


def deferral_cost(b: Bench, count: int = 400, threads: int = 5) -> dict[str, Any]:
    """What the app spends on one deferral of new work while its BC user's return schedule is booked, apart
    from the queue's own cost (which Azurite makes grow with the queue's depth): in this process, `threads`
    threads (one instance's concurrency on a queue: host.json's batchSize 4 + newBatchThreshold 1) hand
    `count` new invoices of a flooding BC user to the export service. Wall and CPU time per deferral, and
    the budget's storage calls; a host adds its delete of each message and a quarter of a receive."""
    from concurrent.futures import ThreadPoolExecutor

    from shared.exports import Delivery

    b.clear_queue()
    a = b.connector(*b.fresh_user("d"))
    b.reset_limits()

    def delivery(n: int) -> Delivery:
        return Delivery("bc-invoices", json.dumps({"connector": a, "type": "invoice", "version": 1,
                                                   "data": invoice(f"defer-{n}", customer_id=f"cust-{a}")}),
                        uuid.uuid4().hex)

    # Use the window up, then refuse until the schedule reaches well ahead (as a flood does).
    statuses: dict[str, int] = {}
    n = 0
    while statuses.get("deferred", 0) < 20:
        status = b.app.exports.process(delivery(n))["status"]
        statuses[status] = statuses.get(status, 0) + 1
        n += 1
    stats = b.budget.stats
    before = (stats.reads, stats.writes)
    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda k: b.app.exports.process(delivery(n + k))["status"], range(count)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    b.clear_queue()
    return {"threads": threads, "new_messages": count, "booked_with": statuses,
            "deferred": results.count("deferred"), "exported": count - results.count("deferred"),
            "deferrals_per_second": round(count / wall, 1), "wall_ms_per_deferral": round(wall / count * 1000, 2),
            "cpu_ms_per_deferral": round(cpu / count * 1000, 2),
            "budget_storage_calls_per_deferral": round(
                (stats.reads - before[0] + stats.writes - before[1]) / count, 3),
            "load_1min_at_end": round(os.getloadavg()[0], 1)}


def noisy(b: Bench, flood: int, senders: int = FLOOD_SENDERS) -> dict[str, Any]:
    b.clear_queue()
    a = b.connector(*b.fresh_user("a"))
    bb = b.connector(*b.fresh_user("b"))
    b.reset_limits()
    deferred_before = b.deferrals()
    b.start_hosts(NOISY_PROCESSES)
    sent_a = b.send(a, flood, "floodA", senders=senders)
    flooded = time.time()
    time.sleep(WINDOW["windowSeconds"] / 3)  # A is well into its budget
    pids = [b.azurite_pid] + [host.pid for host in b.hosts]
    deferred_at_b, at_b, cpu_at_b = b.deferrals(), time.time(), [_cpu_seconds(pid) for pid in pids]
    sent_b = b.send(bb, 20, "B")
    seen = b.collect({bb: 20, a: 0}, timeout=240)
    deferred_at_end, at_end, cpu_at_end = b.deferrals(), time.time(), [_cpu_seconds(pid) for pid in pids]
    # Who was busy while B waited: a share of one core each (Azurite's queue serves from one thread).
    busy = [round((end - start) / max(0.1, at_end - at_b), 2) for start, end in zip(cpu_at_b, cpu_at_end)]
    b.stop_hosts()
    b.clear_queue()  # A's flood, deferred
    times_b = seen[bb]
    return {"processes": NOISY_PROCESSES, "flood_a": flood, "flood_senders": senders, "flood_sent_in_seconds": round(flooded - sent_a, 1),
            "b_sent_seconds_after_flood_began": round(sent_b - sent_a, 1),
            "b_invoices": 20, "b_outcomes": len(times_b),
            "b_last_outcome_seconds_after_send": round(max(times_b) - sent_b, 1) if times_b else None,
            "b_outcome_seconds_after_send": [round(t - sent_b, 1) for t in sorted(times_b)],
            "a_outcomes_while_b_waited": len(seen[a]),
            "statuses": seen["_statuses"], "deferrals": deferred_at_end - deferred_before,
            # What bounds B: the hosts work through A's messages ahead of B's, deferring them.
            "deferrals_per_second_per_process_while_b_waited": round(
                (deferred_at_end - deferred_at_b) / max(0.1, at_end - at_b) / NOISY_PROCESSES, 1),
            "cpu_share_while_b_waited": {"azurite": busy[0], "dev_hosts": busy[1:]},
            "load_1min_at_end": round(os.getloadavg()[0], 1)}


if __name__ == "__main__":
    main()
