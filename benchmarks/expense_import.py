"""Expense import at volume: 10,000 and 100,000 posted purchase invoice lines, and as many G/L entries.

What runs: the real use case, BC client, MSAL and storage adapters (cursors, document markers and the
lease in Azurite), against the BC sandbox in a child process (so tracemalloc here sees only the importer).
The sandbox's bulk hook inserts the data (`POST /_sandbox/bulk/...`): invoices of 10 lines, entries on
expense accounts, every line/entry on one of three mapped projects.

What is measured, per source and size:
- throughput: entries read and messages produced per second, for one full run from an empty cursor;
- peak memory: tracemalloc's peak during the run (Python allocations of this process: the importer);
  it must not grow with the number of entries;
- BC requests (from the sandbox's request log) and Entra ID token requests.

The messages go to a counting outbox: putting 200,000 messages on Azurite's queue alone takes minutes on a
small machine (about 550 messages/s measured), and that is the queue's figure, not the importer's. A
separate end-to-end sample sends 2,000 messages to Azurite's `bc-expenses` queue to give that figure.
"""

from __future__ import annotations

import json
import os
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
                    row = {"source": source, "entries": size, "insert_seconds": inserted["seconds"],
                           **_one_run(admin, counted, name, traced=True)}
                    results["runs"].append(row)
                    print(f"  {source:>16} {size:>7,}: {row['read']:>7,} read, {row['sent']:>7,} sent in "
                          f"{row['seconds']:>6} s ({row['entries_per_second']:>6,}/s), peak {row['peak_mib']} MiB, "
                          f"{row['bc_requests']} BC requests", flush=True)
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
            sandbox.terminate()
            try:
                sandbox.wait(10)
            except subprocess.TimeoutExpired:
                sandbox.kill()
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
