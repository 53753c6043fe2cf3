"""BC requests per exported entity, counted in the sandbox's request log.

The real use case (`shared.exports.ExportService`), BC client and MSAL run against the sandbox over
HTTPS, with the ledger, connector store and outcome queue on a local Azurite, so the idempotency
machinery (ledger read, ETag-guarded claim, final write) is part of every figure. Only BC requests are
counted: Entra token requests are apart (MSAL caches the token per worker) and Table/Queue calls are
not BC's budget.

For scale: open-source BC clients spend 1 request per invoice with no duplicate protection, or 2 (a
look-up by key before each create) with none either against concurrent deliveries.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable

from benchmarks.export_harness import ExportEnv, customer, export_env, invoice
from shared.exports import Delivery

STEADY_INVOICES = 50


def _run(env: ExportEnv, queue: str, text: str, message_id: str | None = None) -> tuple[dict, list[dict], float]:
    mark = env.mark
    started = time.perf_counter()
    outcome = env.app.exports.process(Delivery(queue, text, message_id or uuid.uuid4().hex))
    elapsed = (time.perf_counter() - started) * 1000
    return outcome, env.bc_requests_since(mark), elapsed


def _row(label: str, outcome: dict, requests: list[dict], elapsed: float) -> dict:
    return {"scenario": label, "status": outcome["status"], "bc_requests": len(requests),
            "bc_batch_operations": sum(e.get("batchOperations") or 0 for e in requests), "wall_ms": round(elapsed, 1),
            "bc_paths": [f"{e['method']} {e['path'].split('/', 5)[-1]}" for e in requests]}


def run() -> dict[str, Any]:
    rows: list[dict] = []
    with export_env() as env:
        def measure(label: str, queue: str, kind: str, data: dict, version: Any = 1, message_id: str | None = None
                    ) -> dict:
            outcome, requests, elapsed = _run(env, queue, env.text(kind, data, version), message_id)
            assert outcome["status"] != "failed", outcome
            rows.append(_row(label, outcome, requests, elapsed))
            return outcome

        measure("customer: new (POST + Customer_Card PATCH)", "bc-customers", "customer", customer("c-1"))
        changed = customer("c-1")
        changed["email"] = "billing@example.com"
        measure("customer: one field changed", "bc-customers", "customer", changed, 2)
        measure("customer: same content, newer version", "bc-customers", "customer", changed, 3)
        project = {"id": "p-1", "number": "P-5001", "name": "Bench project", "status": "active"}
        measure("project: new dimension value", "bc-projects", "project", project)
        measure("project: closed (blocks the value)", "bc-projects", "project", {**project, "status": "closed"}, 2)
        measure("project: unchanged", "bc-projects", "project", {**project, "status": "closed"}, 3)
        measure("invoice: first of the worker, new customer (customer 2 + G/L setup 1 + deep insert 1)",
                "bc-invoices", "invoice", invoice("B-0", "c-new"))
        measure("invoice: new, known customer (steady state)", "bc-invoices", "invoice", invoice("B-1", "c-new"))
        measure("invoice: new, with a project BC does not know yet", "bc-invoices", "invoice",
                invoice("B-2", "c-new", project={"id": "p-2", "number": "P-5002", "name": "Other"}))
        text = env.text("invoice", invoice("B-3", "c-new"))
        outcome, requests, elapsed = _run(env, "bc-invoices", text, "dup")
        rows.append(_row("invoice: new, then...", outcome, requests, elapsed))
        outcome, requests, elapsed = _run(env, "bc-invoices", text, "dup")
        rows.append(_row("...the same message delivered again (duplicate)", outcome, requests, elapsed))
        lines = [{"description": "Consulting", "product": None, "quantity": 10, "unitPrice": 150}]
        measure("invoice: draft updated (one line changed, one removed)", "bc-invoices", "invoice",
                invoice("B-3", "c-new", lines=lines), 2)

        mark = env.mark
        started = time.perf_counter()
        service = env.app.exports
        for n in range(STEADY_INVOICES):
            outcome = service.process(Delivery("bc-invoices", env.text("invoice", invoice(f"S-{n}", "c-new")),
                                               uuid.uuid4().hex))
            assert outcome["status"] == "created", outcome
        steady = env.bc_requests_since(mark)
        steady_ms = (time.perf_counter() - started) * 1000

    with export_env(invoices__post=True) as env:
        _run(env, "bc-invoices", env.text("invoice", invoice("W-0", "c-1")))
        outcome, requests, elapsed = _run(env, "bc-invoices", env.text("invoice", invoice("P-1", "c-1")))
        rows.append(_row("invoice: new with invoices.post (deep insert + post + read posted number)", outcome,
                         requests, elapsed))

    with export_env(products__enabled=True, products__genProductPostingGroup="SERVICES") as env:
        def measure_products(label: str, queue: str, kind: str, data: dict, version: Any = 1) -> None:
            outcome, requests, elapsed = _run(env, queue, env.text(kind, data, version))
            assert outcome["status"] != "failed", outcome
            rows.append(_row(label, outcome, requests, elapsed))

        _run(env, "bc-invoices", env.text("invoice", invoice("W-0", "c-1")))
        item = {"id": "prod-1", "number": "SVC-100", "name": "Implementation", "unitPrice": 150, "unit": "HOUR"}
        item_line = {"description": "Implementation", "product": item, "quantity": 4, "unitPrice": 150}
        measure_products("invoice: new, with a product BC does not know yet (item POST + deep insert)",
                         "bc-invoices", "invoice", invoice("PR-1", "c-1", lines=[item_line]))
        measure_products("invoice: new, with that product again (known: deep insert only)", "bc-invoices",
                         "invoice", invoice("PR-2", "c-1", lines=[item_line]))
        measure_products("product: new item", "bc-products", "product", {**item, "id": "prod-2", "number": "SVC-200"})
        measure_products("product: name and price changed", "bc-products", "product",
                         {**item, "id": "prod-2", "number": "SVC-200", "name": "Support", "unitPrice": 90}, 2)
        measure_products("product: unchanged, newer version", "bc-products", "product",
                         {**item, "id": "prod-2", "number": "SVC-200", "name": "Support", "unitPrice": 90}, 3)

    return {
        "rows": rows,
        "steady_state": {"invoices": STEADY_INVOICES, "bc_requests": len(steady),
                         "bc_requests_per_invoice": round(len(steady) / STEADY_INVOICES, 3),
                         "wall_ms_per_invoice": round(steady_ms / STEADY_INVOICES, 1)},
    }


def summary(result: dict[str, Any], say: Callable[[str], None] = print) -> None:
    say("BC requests per exported entity (ledger claim on Azurite included):")
    for row in result["rows"]:
        say(f"  {row['bc_requests']:>2} BC  {row['status']:<9} {row['scenario']}")
    steady = result["steady_state"]
    say(f"  steady state: {steady['bc_requests_per_invoice']} BC requests per new invoice over "
        f"{steady['invoices']} invoices ({steady['wall_ms_per_invoice']} ms each on loopback)")


if __name__ == "__main__":
    outcome = run()
    print(json.dumps(outcome, indent=2, ensure_ascii=False))
    summary(outcome)
