"""Expense import at volume: 10,000 and 100,000 posted purchase invoice lines, and as many G/L entries.

What runs: the real use case, BC client, MSAL and storage adapters (cursors, document markers and the
lease in Azurite), against the BC sandbox in a child process (so tracemalloc here sees only the importer).
The sandbox's bulk hook inserts the data (`POST /_sandbox/bulk/...`): invoices of 10 lines, entries on
expense accounts, every line/entry on one of three mapped projects.

What is measured, per source and size, in two full runs from an empty cursor (two connectors on the same
data):
- throughput: entries read and messages produced per second, in a run without tracing;
- peak memory: tracemalloc's peak during a second, traced run (Python allocations of this process: the
  importer); it must not grow with the number of entries. Tracing slows the run down (about three times
  for the purchase-invoice source, whose time goes to the Table SDK's allocation-heavy transactions), so
  the traced run's time is reported apart (`traced_seconds`) and is not the throughput;
- BC requests (from the sandbox's request log) and Entra ID token requests.

The messages go to a counting outbox: putting 200,000 messages on Azurite's queue alone takes minutes on a
small machine, and that is the queue's figure, not the importer's. A separate end-to-end sample imports
2,000 G/L entries into Azurite's `bc-expenses` queue through the real queue adapter to give that figure.

`send_sweep()` (alone: `python -m benchmarks.expense_import --sweep`) measures the queue adapter by itself:
messages per second and the CPU each process spends per message, by concurrency, straight to Azurite and
through a proxy that adds the round trip of a real storage account (`benchmarks/_latency_proxy.py`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000)
QUEUE_SAMPLE = 2_000


def _start_sandbox(state_dir: str) -> tuple[subprocess.Popen, str]:
    child = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--state-dir", state_dir], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    if "ready on " not in line:
        child.terminate()
        raise RuntimeError(f"the BC sandbox did not start: {line.strip()}")
    return child, line.split("ready on ", 1)[1].split()[0]


def _stop_sandbox(child: subprocess.Popen) -> None:
    child.terminate()
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()


def _connector(store: Any, name: str, source: str, company_id: str) -> None:
    from sandbox import constants
    from shared.connectors import ConnectorRecord, parse_connector_settings

    store.create(ConnectorRecord(
        name=name, status="connected", company_id=company_id, company_name=constants.US_COMPANY,
        tax_mode="salesTax", refresh_token_expires_at=None, client_secret_source="app",
        settings=parse_connector_settings({
            "tenantId": constants.TENANT_ID, "environment": constants.ENVIRONMENT,
            "company": constants.US_COMPANY, "auth": {"mode": "clientCredentials"},
            "projects": {"enabled": True, "dimension": "PROJECT"},
            "expenses": {"enabled": True, "fromDate": "2026-01-01", "source": source,
                         "activity": "Expenses", "billable": False}})))


class _Projects:
    """The projects export's ledger, as the import reads it: every connector maps P-1001..P-1003."""

    def projects(self, connector: str) -> dict[str, Any]:
        from shared.expenses import HostProject

        return {f"P-100{n}": HostProject(f"host-{n}", f"P-100{n}") for n in (1, 2, 3)}


def _importer(app: Any, outbox: Any) -> Any:
    """The real use case and adapters (Azurite, the sandbox), with the bench's project map and `outbox`."""
    from shared.expenses import ExpenseImport

    real = app.expenses
    return ExpenseImport(connectors=real.connectors, cursors=real.cursors, leases=real.leases, projects=_Projects(),
                         outbox=outbox, bc_clients=real.bc_clients, notifier=real.notifier,
                         reconnects=real.reconnects, clock=real.clock, options=real.options)


def _one_run(admin: Any, expenses: Any, name: str, *, traced: bool) -> dict[str, Any]:
    mark = admin.last_seq()
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    summary = expenses.import_one(name, budget_seconds=3600)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else None
    if traced:
        tracemalloc.stop()
    log = admin.requests(since=mark)
    bc = [r for r in log if r["kind"] == "bc"]
    counts = summary.to_dict()
    return {"status": summary.status, "read": counts["read"], "sent": counts["sent"], "seconds": round(seconds, 2),
            "entries_per_second": round(counts["read"] / seconds) if seconds else None,
            "peak_mib": round(peak / 2**20, 1) if peak is not None else None,
            "bc_requests": len(bc), "bc_batch_requests": sum(1 for r in bc if r["path"].endswith("$batch")),
            "entra_requests": sum(1 for r in log if r["kind"] == "entra"),
            "pages": sum(s["pages"] for s in counts["sources"].values())}


SOURCES = ("purchaseInvoices", "generalLedger")


def run(sizes: tuple[int, ...] = SIZES, *, sources: tuple[str, ...] = SOURCES, queue_sample: bool = True) -> dict[str, Any]:
    """`sources` and `queue_sample` narrow the run (e.g. while iterating on one source)."""
    from dataclasses import replace

    from benchmarks._adapters import bench_adapters
    from devtools._services import start_azurite_on_free_ports
    from sandbox import constants
    from sandbox.admin import SandboxAdmin
    from sandbox.bc._fixturegen import COMPANY_IDS
    from shared.adapters.connector_store import InMemoryConnectorStore
    from shared.adapters.expense_outbox import InMemoryOutbox
    from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, InMemorySecretStore
    from shared.bootstrap import bootstrap

    company_id = COMPANY_IDS[(constants.ENVIRONMENT, "us")]
    us = (constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY)
    results: dict[str, Any] = {"sizes": list(sizes), "runs": []}
    with tempfile.TemporaryDirectory() as state_dir:
        sandbox, url = _start_sandbox(state_dir)
        azurite, connection = start_azurite_on_free_ports(log_path=Path(state_dir) / "azurite.log")
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = str(Path(state_dir) / "ca.pem")
        try:
            admin = SandboxAdmin(url, os.environ["REQUESTS_CA_BUNDLE"], timeout=300)
            secrets = InMemorySecretStore()
            secrets.set_secret(APP_CLIENT_SECRET_NAME, constants.DEMO_CLIENT_SECRET)
            store = InMemoryConnectorStore()
            adapters = bench_adapters(
                {"AzureWebJobsStorage": connection, "BC_API_URL": url, "BC_AUTHORITY_HOST": url,
                 "BC_CLIENT_ID": constants.DEMO_CLIENT_ID},
                secrets=secrets)
            app = bootstrap(adapters=replace(adapters, connector_store=store))
            counted = _importer(app, InMemoryOutbox(keep=False))
            kinds = {"purchaseInvoices": "purchaseInvoiceLines", "generalLedger": "generalLedgerEntries"}
            for source in sources:
                kind = kinds[source]
                for size in sizes:
                    admin.reset()
                    inserted = admin.bulk_insert(*us, **{kind: size}, postingDate="2026-11-02")
                    name = f"bench-{source.lower()}-{size}"
                    _connector(store, name, source, company_id)
                    _connector(store, f"{name}-traced", source, company_id)
                    row = {"source": source, "entries": size, "insert_seconds": inserted["seconds"],
                           **_one_run(admin, counted, name, traced=False)}
                    traced = _one_run(admin, counted, f"{name}-traced", traced=True)
                    row.update(peak_mib=traced["peak_mib"], traced_seconds=traced["seconds"])
                    results["runs"].append(row)
                    print(f"  {source:>16} {size:>7,}: {row['read']:>7,} read, {row['sent']:>7,} sent in "
                          f"{row['seconds']:>6} s ({row['entries_per_second']:>6,}/s), peak {row['peak_mib']} MiB "
                          f"(traced run: {row['traced_seconds']} s), {row['bc_requests']} BC requests", flush=True)
            # End to end with the real queue adapter, for the queue's own throughput.
            if not queue_sample:
                return results
            admin.reset()
            admin.bulk_insert(*us, generalLedgerEntries=QUEUE_SAMPLE, postingDate="2026-11-02")
            name = "bench-queue"
            _connector(store, name, "generalLedger", company_id)
            queued = _importer(app, app.adapters.expense_outbox)  # the real queue adapter: bc-expenses
            sample = _one_run(admin, queued, name, traced=False)
            results["queue_sample"] = {**sample, "messages_per_second": round(sample["sent"] / sample["seconds"])}
            print(f"  end to end to Azurite's queue: {sample['sent']:,} messages in {sample['seconds']} s "
                  f"({results['queue_sample']['messages_per_second']}/s)", flush=True)
        finally:
            azurite.stop()
            _stop_sandbox(sandbox)
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous
    return results


def _message(n: int) -> dict[str, Any]:
    """A `bc-expenses` message of the usual size (about 450 bytes)."""
    return {"connector": "bench-sweep", "key": f"6f1d3c2a-5b4e-4d7a-9c8b-1a2b3c4d5e6f:gl:{n}", "source": "generalLedger",
            "postingDate": "2026-11-02", "documentNumber": f"G{n:08d}", "vendor": {"number": None, "name": None},
            "description": "Travel to the customer site", "quantity": 1, "amount": 125.5, "currencyCode": "USD",
            "account": {"number": "61000", "name": "Travel"}, "project": {"id": "host-1", "number": "P-1001"},
            "activity": "Expenses", "billable": False}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_sweep(delays_ms: tuple[float, ...] = (0, 5, 20), concurrency: tuple[int, ...] = (1, 8, 16, 32), *,
               messages: int = 1_000) -> dict[str, Any]:
    """The queue adapter alone (`QueueOutbox.send_many`, one call of `messages` messages): messages/s and
    the CPU per message of this process (the Azure SDK), of Azurite and of the proxy, by concurrency; with
    `delay` > 0 through a proxy process adding that round trip. Each row sends to a queue of its own."""
    from devtools._services import start_azurite_on_free_ports
    from shared.adapters.expense_outbox import QueueOutbox
    from shared.adapters._settings import queue_service_from_settings

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as state_dir:
        azurite, connection = start_azurite_on_free_ports(log_path=Path(state_dir) / "azurite.log")
        node = [int(p) for p in subprocess.run(["pgrep", "-P", str(azurite.process.pid)], capture_output=True,
                                                  text=True).stdout.split()] or [azurite.process.pid]
        queue_port = int(re.search(r"QueueEndpoint=http://127\.0\.0\.1:(\d+)/", connection).group(1))
        batch = [_message(n) for n in range(messages)]
        try:
            for delay in delays_ms:
                proxy = None
                endpoint = connection
                if delay:
                    proxy = subprocess.Popen([sys.executable, "-m", "benchmarks._latency_proxy", "--target",
                                              f"127.0.0.1:{queue_port}", "--delay-ms", str(delay)], cwd=REPO,
                                             stdout=subprocess.PIPE, text=True)
                    assert proxy.stdout is not None
                    port = proxy.stdout.readline().split("127.0.0.1:", 1)[1].strip()
                    endpoint = connection.replace(f"127.0.0.1:{queue_port}/", f"127.0.0.1:{port}/")
                try:
                    service = queue_service_from_settings({"AzureWebJobsStorage": endpoint})
                    for n in concurrency:
                        queue = service.get_queue_client(f"sweep-{int(delay)}-{n}")
                        queue.create_queue()
                        outbox = QueueOutbox(lambda: queue, concurrency=n)
                        outbox.send_many(batch[:20])  # connections open, nothing measured
                        cpu, node_cpu, proxy_cpu = (time.process_time(), sum(_cpu_seconds(p) for p in node),
                                                    _cpu_seconds(proxy.pid) if proxy is not None else 0.0)
                        started = time.perf_counter()
                        outbox.send_many(batch)
                        seconds = time.perf_counter() - started
                        row = {"added_rtt_ms": delay, "concurrency": n, "messages": messages,
                               "seconds": round(seconds, 2), "messages_per_second": round(messages / seconds),
                               "client_cpu_ms_per_message": round((time.process_time() - cpu) * 1000 / messages, 2),
                               "azurite_cpu_ms_per_message": round(
                                   (sum(_cpu_seconds(p) for p in node) - node_cpu) * 1000 / messages, 2),
                               "proxy_cpu_ms_per_message": round(
                                   (_cpu_seconds(proxy.pid) - proxy_cpu) * 1000 / messages, 2) if proxy else 0.0}
                        rows.append(row)
                        print(f"  +{delay:>4} ms round trip, {n:>2} in flight: {row['messages_per_second']:>5}/s; "
                              f"CPU per message: client {row['client_cpu_ms_per_message']} ms, "
                              f"Azurite {row['azurite_cpu_ms_per_message']} ms, proxy {row['proxy_cpu_ms_per_message']} ms",
                              flush=True)
                finally:
                    if proxy is not None:
                        proxy.terminate()
                        proxy.wait(10)
        finally:
            azurite.stop()
    return {"rows": rows}


if __name__ == "__main__":
    if "--sweep" in sys.argv[1:]:
        print(json.dumps(send_sweep(), indent=2))
    else:
        print(json.dumps(run(), indent=2))
