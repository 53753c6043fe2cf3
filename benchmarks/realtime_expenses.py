"""Real-time expenses: from a posted purchase invoice in BC to its `bc-expenses` message, through BC's webhook.

Runnable alone (it takes a few minutes): `python -m benchmarks.realtime_expenses [--postings 50]
[--delay 30] [--polling 30] [--lossy 1000] [--drop 0.3]`.

What runs: the BC sandbox in a child process (webhooks with `notificationDelaySeconds`, default BC's 30 s),
Azurite, and the app's real functions served by the dev host on loopback (HTTP for BC's calls; queue
listeners for `bc-import-requests` with host.json's polling, `maxPollingInterval` overridable), the real
use cases and adapters built by the composition root. One connector, purchase-invoice source, real time on.

1. Latency: `--postings` purchase invoices are posted one every 2 s (the notification delay is NOT scaled:
   BC's 30 s); per posting, the time from the sandbox's insert to its message on `bc-expenses` (a reader
   takes messages off the queue every 0.1 s): p50, p95, max. Also BC requests per delivered notification
   (the sandbox's request log, kind `bc`, over the phase / notifications delivered).
2. Safety net: `--lossy` postings in bursts, with the delay scaled down to 1 s to keep the run short (the
   rule under test does not depend on it); the endpoint drops a fraction `--drop` of the notifications at
   random (answers 200, asks for nothing, as if the notification were lost); then the timer runs once
   (`import_all`). Duplicates = keys received more than once; losses = postings whose key never arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from benchmarks.expense_import import _start_sandbox, _stop_sandbox  # one way to start and stop the sandbox

REPO = Path(__file__).resolve().parents[1]


class _Arrivals:
    """Takes messages off bc-expenses as they come and notes when each key arrived (and how often)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.first: dict[str, float] = {}
        self.count: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "_Arrivals":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def settle(self, *, quiet: float, limit: float) -> None:
        """Wait until no message has arrived for `quiet` seconds (at most `limit`): what a run sent is all
        read before the counts are taken."""
        deadline = time.monotonic() + limit
        seen, since = sum(self.count.values()), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            time.sleep(0.2)
            now_seen = sum(self.count.values())
            if now_seen != seen:
                seen, since = now_seen, time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            got = False
            for message in self.queue.receive_messages(max_messages=32, visibility_timeout=30):
                got = True
                key = json.loads(message.content)["key"]
                self.first.setdefault(key, time.monotonic())
                self.count[key] = self.count.get(key, 0) + 1
                self.queue.delete_message(message)
            if not got:
                self._stop.wait(0.1)


def _post(admin: Any, us: tuple[str, str, str], n: int) -> tuple[str, float]:
    from sandbox.bc._fixturegen import COMPANY_IDS
    from sandbox import constants

    posted = admin.insert_posted_document(*us, "purchaseInvoices", vendorNumber="V20000", postingDate="2026-11-02",
                                          lines=[{"lineType": "Account", "lineObjectNumber": "60100", "quantity": 1,
                                                  "description": f"Taxi {n}", "unitCost": 10 + n % 50,
                                                  "dimensions": {"PROJECT": "P-1001"}}])
    company_id = COMPANY_IDS[(constants.ENVIRONMENT, "us")]
    return f"{company_id}:{posted['lineIds'][0]}", time.monotonic()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(*, postings: int = 50, delay: float = 30.0, polling: float | None = None, lossy: int = 1000,
        drop: float = 0.3, seed: int = 14) -> dict[str, Any]:
    from dataclasses import replace

    from devtools._config import HostConfig
    from devtools._services import start_azurite_on_free_ports
    from devtools.devhost import DevHost
    from function_app import app as function_app
    from sandbox import constants
    from sandbox.admin import SandboxAdmin
    from shared import bootstrap
    from shared.adapters import ensure_queue, table_key
    from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, InMemorySecretStore
    from shared.webhooks import Receipt

    us = (constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY)
    results: dict[str, Any] = {"postings": postings, "notificationDelaySeconds": delay}
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as state_dir:
        sandbox, url = _start_sandbox(state_dir)
        azurite, connection = start_azurite_on_free_ports(log_path=Path(state_dir) / "azurite.log")
        os.environ["REQUESTS_CA_BUNDLE"] = str(Path(state_dir) / "ca.pem")
        host = None
        try:
            admin = SandboxAdmin(url, os.environ["REQUESTS_CA_BUNDLE"], timeout=120)
            queues = HostConfig.load(REPO / "host.json").queues
            if polling is not None:
                queues = replace(queues, max_polling_interval=polling)
            results["maxPollingIntervalSeconds"] = queues.max_polling_interval
            host = DevHost(function_app, {"AzureWebJobsStorage": connection}, port=0, queues=True, timers=False,
                           queue_settings=queues)
            host.start()
            secrets = InMemorySecretStore()
            secrets.set_secret(APP_CLIENT_SECRET_NAME, constants.DEMO_CLIENT_SECRET)
            environ = {"AzureWebJobsStorage": connection, "BC_API_URL": url, "BC_AUTHORITY_HOST": url,
                       "BC_CLIENT_ID": constants.DEMO_CLIENT_ID, "PUBLIC_BASE_URL": host.base_url}
            adapters = bootstrap.build_adapters(environ, secrets=secrets, notifier=_Dropped(),
                                                credential_factory=_no_credential)
            app = bootstrap.bootstrap(adapters=adapters)
            bootstrap.set_worker_app(app)
            admin.set_webhook_settings(notificationDelaySeconds=delay)
            name = "bench-realtime"
            saved = app.connectors.save(name, _settings())
            assert app.webhooks.view(saved.record)["realtime"]["subscriptions"][0]["state"] == "active", saved.checks
            # The projects export's ledger row: P-1001 is a host project.
            table = ensure_table_client(connection, "SyncLedger")
            table.upsert_entity({"PartitionKey": f"{name}|project", "RowKey": table_key("host-1001"),
                                 "bcNumber": "P-1001", "status": "synced"})
            app.expenses.import_one(name)  # the fixture company's history first, as the first timer run would
            expenses_queue = ensure_queue(adapters_queue(connection, "bc-expenses"))
            expenses_queue.clear_messages()

            # 1. latency, BC's 30 s delay
            arrivals = _Arrivals(expenses_queue).start()
            mark = admin.last_seq()
            log_mark = admin.webhook_log()[-1]["seq"] if admin.webhook_log() else 0
            posted: list[tuple[str, float]] = []
            for n in range(postings):
                posted.append(_post(admin, us, n))
                time.sleep(2.0)
            deadline = time.monotonic() + delay + 3 * queues.max_polling_interval + 60
            while time.monotonic() < deadline and any(k not in arrivals.first for k, _ in posted):
                time.sleep(0.2)
            arrivals.stop()
            latencies = [arrivals.first[k] - t for k, t in posted if k in arrivals.first]
            delivered = [e for e in admin.webhook_log(since=log_mark)
                         if e["kind"] == "notification" and e["outcome"] == "delivered"]
            bc_requests = [r for r in admin.requests(since=mark) if r["kind"] == "bc"]
            results["latency"] = {
                "arrived": len(latencies), "p50_s": round(statistics.median(latencies), 1),
                "p95_s": round(_percentile(latencies, 0.95), 1), "max_s": round(max(latencies), 1),
                "notifications": len(delivered),
                "bc_requests": len(bc_requests),
                "bc_requests_per_notification": round(len(bc_requests) / max(1, len(delivered)), 1),
            }
            print(f"  latency over {postings} postings (delay {delay} s, polling <= {queues.max_polling_interval} s): "
                  f"{results['latency']}", flush=True)

            # 2. safety net: notifications dropped at random, then one timer run
            admin.set_webhook_settings(notificationDelaySeconds=1.0)
            notifications = app.notifications
            real_receive = notifications.receive
            dropped = [0, 0]

            def lossy_receive(connector: str | None, body: bytes) -> Receipt:
                dropped[1] += 1
                if rng.random() < drop:
                    dropped[0] += 1
                    return Receipt(str(connector), 0, False)  # "lost": answered, nothing asked for
                return real_receive(connector, body)

            notifications.receive = lossy_receive  # type: ignore[method-assign]
            arrivals = _Arrivals(expenses_queue).start()
            keys: list[str] = []
            for n in range(lossy):
                keys.append(_post(admin, us, 1000 + n)[0])
                if n % 25 == 24:
                    time.sleep(rng.uniform(0.2, 2.0))
            time.sleep(5.0 + 2 * queues.max_polling_interval)
            before_timer = sum(1 for k in keys if k in arrivals.first)
            timer_runs = _timer_until_it_runs(app)  # the safety net
            arrivals.settle(quiet=3.0, limit=60.0)
            arrivals.stop()
            notifications.receive = real_receive  # type: ignore[method-assign]
            received = {k: arrivals.count.get(k, 0) for k in keys}
            results["safety_net"] = {
                "postings": lossy, "notifications": dropped[1], "dropped": dropped[0],
                "arrived_before_timer": before_timer, "timer_ticks": timer_runs,
                "duplicates": sum(1 for c in arrivals.count.values() if c > 1),
                "losses": sum(1 for c in received.values() if c == 0),
            }
            print(f"  safety net over {lossy} postings: {results['safety_net']}", flush=True)
        finally:
            bootstrap.set_worker_app(None)
            if host is not None:
                host.stop()
            azurite.stop()
            _stop_sandbox(sandbox)
    return results


def _timer_until_it_runs(app: Any, *, ticks: int = 60) -> int:
    """The expense timer, ticking again (1 s apart here; every 15 minutes in production) while a requested
    run still holds the connector's lease (`busy`): a timer run that finds one in progress reads nothing, and
    it is the next tick that is the safety net. The ticks it took."""
    for tick in range(1, ticks + 1):
        if all(summary.status != "busy" for summary in app.expenses.import_all()):
            return tick
        time.sleep(1.0)
    return ticks


def ensure_table_client(connection: str, name: str) -> Any:
    from azure.data.tables import TableServiceClient

    from shared.adapters import ensure_table

    return ensure_table(TableServiceClient.from_connection_string(connection).get_table_client(name))


def adapters_queue(connection: str, name: str) -> Any:
    from azure.storage.queue import QueueServiceClient

    return QueueServiceClient.from_connection_string(connection).get_queue_client(name)


def _settings() -> dict[str, Any]:
    from sandbox import constants

    return {"tenantId": constants.TENANT_ID, "environment": constants.ENVIRONMENT,
            "company": urllib.parse.quote(constants.US_COMPANY),
            "auth": {"mode": "clientCredentials", "clientId": constants.DEMO_CLIENT_ID},
            "projects": {"enabled": False, "dimension": "PROJECT"},
            "expenses": {"enabled": True, "fromDate": "2026-09-01", "source": "purchaseInvoices",
                         "activity": "Purchases", "billable": True}}


class _Dropped:
    def notify(self, message: Any) -> None:
        pass


def _no_credential(**_: object) -> Any:
    raise RuntimeError("the benchmark uses Azurite's connection string, never an Azure credential")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--postings", type=int, default=50)
    parser.add_argument("--delay", type=float, default=30.0)
    parser.add_argument("--polling", type=float, default=None, help="maxPollingInterval (default: host.json)")
    parser.add_argument("--lossy", type=int, default=1000)
    parser.add_argument("--drop", type=float, default=0.3)
    args = parser.parse_args(argv)
    print(json.dumps(run(postings=args.postings, delay=args.delay, polling=args.polling, lossy=args.lossy,
                         drop=args.drop), indent=2))


if __name__ == "__main__":
    main()
