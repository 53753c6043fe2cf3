"""Invoices per minute against the sandbox with BC Online's limits and 50 ms of latency per BC request.

The real use case, BC client and MSAL run against the sandbox over HTTPS, with the ledger, connector
store and outcome queue on a local Azurite. `messages in flight` stands for host.json's
`batchSize + newBatchThreshold` of one queue function on one instance: that many threads each take
the next message and export it. Figures:

- `by_concurrency`: one queue (invoices), 1..8 messages in flight, BC's default limits (6,000 requests
  per 5 minutes, 5 processed at once per user). Each run is far below 6,000 requests, so it shows the
  per-instance speed before the rate window matters.
- `instance`: the three export queues at once (customers, projects, invoices), each with host.json's
  in-flight count: BC requests in flight per connector stay at most 5 (the per-connector gate), and
  without the gate they would not.
- `sustained`: the rate window scaled down 20x in time (300 requests per 15 s: the same 20 requests per
  second as 6,000 per 5 minutes), so the sustained ceiling shows within seconds: about 1,200 invoices
  per minute per BC user, whatever the concurrency; 429s with Retry-After are absorbed by the client.

Bounded loops, loopback only; the whole run takes well under 2 minutes.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from benchmarks._adapters import bench_adapters
from benchmarks.export_harness import ExportEnv, customer, export_env, invoice
from shared.bc import ConnectorGates
from shared.bootstrap import bootstrap
from shared.exports import Delivery, ExportService

LATENCY_MS = 50
CONCURRENCY = (1, 2, 3, 4, 5, 8)
INVOICES_PER_SLOT = 24
SUSTAINED_SECONDS = 15.0
#: BC's 6,000 requests per 300 s, scaled down in time (same 20 requests per second).
SCALED_WINDOW = {"requestsPerWindow": 40, "windowSeconds": 2}


def _host_in_flight() -> int:
    host = json.loads((Path(__file__).resolve().parents[1] / "host.json").read_text(encoding="utf-8"))
    queues = host["extensions"]["queues"]
    batch = int(queues.get("batchSize", 16))
    return batch + int(queues.get("newBatchThreshold", batch // 2))


def _pump(work: list[tuple[str, str]], concurrency: int, deps: Any, stop_at: float | None = None) -> list[dict]:
    """Export `work` [(queue, text)] with `concurrency` messages in flight; the outcomes."""
    def one(item: tuple[str, str]) -> dict:
        if stop_at is not None and time.monotonic() > stop_at:
            return {"status": "skipped"}
        return deps.service.process(Delivery(item[0], item[1], uuid.uuid4().hex))

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(one, work))


class _Run:
    """The worker's ExportService with a fresh gate per run, so its peak is this run's: the same storage,
    secrets and look-ups (the G/L setup read once per worker), BC clients on this run's gates."""

    def __init__(self, env: ExportEnv, limit: int) -> None:
        self.gates = ConnectorGates(limit=limit)
        worker = env.app.adapters
        adapters = replace(bench_adapters(env.environ, secrets=worker.secrets, gates=self.gates),
                           lookups=worker.lookups)
        self.service: ExportService = bootstrap(adapters=adapters).exports

    @property
    def peak(self) -> int:
        """BC requests in flight at most during this run (the gates count by BC user; the run has one)."""
        return max(self.gates.peak.values(), default=0)


def _deps(env: ExportEnv, limit: int = 5) -> _Run:
    return _Run(env, limit)


def _by_concurrency(env: ExportEnv) -> list[dict]:
    rows = []
    for concurrency in CONCURRENCY:
        deps = _deps(env)
        count = INVOICES_PER_SLOT * min(concurrency, 5)
        work = [("bc-invoices", env.text("invoice", invoice(f"C{concurrency}-{n}"))) for n in range(count)]
        throttled = env.usage().get("throttled", 0)
        started = time.perf_counter()
        outcomes = _pump(work, concurrency, deps)
        seconds = time.perf_counter() - started
        assert all(o["status"] == "created" for o in outcomes), [o for o in outcomes if o["status"] != "created"][:1]
        rows.append({"messages_in_flight": concurrency, "invoices": count, "seconds": round(seconds, 2),
                     "invoices_per_minute": round(count / seconds * 60),
                     "bc_peak_in_flight": deps.peak,
                     "throttled_429": env.usage().get("throttled", 0) - throttled})
    return rows


def _instance(env: ExportEnv, in_flight: int, limit: int) -> dict:
    """customers, projects and invoices at once, `in_flight` messages each, as one instance runs them."""
    deps = _deps(env, limit)
    tag = uuid.uuid4().hex[:6]
    queues = [
        [("bc-customers", env.text("customer", customer(f"{tag}-c{n}"))) for n in range(30)],
        [("bc-projects", env.text("project", {"id": f"{tag}-p{n}", "number": f"P{tag}{n}", "name": "Bench"}))
         for n in range(30)],
        [("bc-invoices", env.text("invoice", invoice(f"{tag}-i{n}"))) for n in range(30)],
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=3) as outer:
        results = list(outer.map(lambda items: _pump(items, in_flight, deps), queues))
    seconds = time.perf_counter() - started
    failed = [o for batch in results for o in batch if o["status"] == "failed"]
    assert not failed, failed[:1]
    return {"messages_in_flight_per_queue": in_flight, "queues": 3, "messages": sum(map(len, results)),
            "seconds": round(seconds, 2), "gate_limit": limit,
            "bc_peak_in_flight": deps.peak}


def _sustained(env: ExportEnv, concurrency: int) -> dict:
    deps = _deps(env)
    env.admin.set_limits(**SCALED_WINDOW)
    throttled = env.usage().get("throttled", 0)
    work = [("bc-invoices", env.text("invoice", invoice(f"S{concurrency}-{n}"))) for n in range(5000)]
    started = time.perf_counter()
    outcomes = _pump(work, concurrency, deps, stop_at=time.monotonic() + SUSTAINED_SECONDS)
    seconds = time.perf_counter() - started
    done = [o for o in outcomes if o["status"] == "created"]
    assert not [o for o in outcomes if o["status"] == "failed"]
    row = {"messages_in_flight": concurrency,
           "window": f"{SCALED_WINDOW['requestsPerWindow']} requests / {SCALED_WINDOW['windowSeconds']} s "
                     "(= 6,000 / 5 min)",
           "invoices": len(done), "seconds": round(seconds, 1),
           "invoices_per_minute": round(len(done) / seconds * 60),
           "bc_peak_in_flight": deps.peak,
           "throttled_429": env.usage().get("throttled", 0) - throttled}
    env.admin.set_limits(requestsPerWindow=6000, windowSeconds=300)
    return row


def run() -> dict[str, Any]:
    in_flight = _host_in_flight()
    with export_env(separate_process=True) as env:
        env.admin.set_latency(LATENCY_MS)
        # The worker's first invoice reads the G/L setup and creates the customer: not steady state.
        _pump([("bc-invoices", env.text("invoice", invoice("warm-up")))], 1, _deps(env))
        by_concurrency = _by_concurrency(env)
        instance = _instance(env, in_flight, 5)
        ungated = _instance(env, in_flight, 1000)
        sustained = [_sustained(env, c) for c in sorted({2, in_flight})]
    return {"latency_ms": LATENCY_MS, "host_json_messages_in_flight": in_flight, "by_concurrency": by_concurrency,
            "instance": instance, "instance_without_gate": ungated, "sustained": sustained}


def summary(result: dict[str, Any], say: Callable[[str], None] = print) -> None:
    say(f"Invoice throughput, {result['latency_ms']} ms BC latency, BC limits on:")
    for row in result["by_concurrency"]:
        say(f"  {row['messages_in_flight']} in flight: {row['invoices_per_minute']:>5} invoices/min "
            f"(BC peak {row['bc_peak_in_flight']} in flight, {row['throttled_429']} x 429)")
    inst, raw = result["instance"], result["instance_without_gate"]
    say(f"  3 queues x {inst['messages_in_flight_per_queue']} in flight: at most {inst['bc_peak_in_flight']} BC "
        f"requests in flight per connector with the gate, {raw['bc_peak_in_flight']} without")
    for s in result["sustained"]:
        say(f"  sustained under the rate window: {s['invoices_per_minute']} invoices/min at "
            f"{s['messages_in_flight']} in flight ({s['throttled_429']} x 429 absorbed)")


if __name__ == "__main__":
    outcome = run()
    print(json.dumps(outcome, indent=2))
    summary(outcome)
