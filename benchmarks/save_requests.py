"""BC requests per verified connector save, counted in the sandbox's request log.

The save runs the real use case, BC client and MSAL against the sandbox over HTTPS; the connector store
and secrets are in memory because they are not what is measured here (the composition root builds the
other adapters on a local Azurite, which a save does not touch). Entra ID token requests are counted
apart from BC requests: BC's 6,000-per-5-minutes budget covers only the latter.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks._adapters import bench_adapters
from devtools._services import start_azurite_on_free_ports
from devtools.demo import demo_settings
from sandbox import constants
from sandbox.server import SandboxServer
from shared.adapters.connector_store import InMemoryConnectorStore
from shared.adapters.secrets import InMemorySecretStore
from shared.bootstrap import bootstrap


def _scenarios() -> list[tuple[str, str, dict[str, Any]]]:
    full = demo_settings()
    minimal = {key: full[key] for key in ("tenantId", "environment", "company", "auth")}
    host_numbers = copy.deepcopy(full)
    host_numbers["defaults"]["useHostInvoiceNumber"] = True
    return [
        ("first save, customers+projects+invoices enabled (Created)", "bench-full", full),
        ("same save again (Updated, token cached)", "bench-full", full),
        ("credentials and company only, no export enabled", "bench-minimal", minimal),
        ("all exports + useHostInvoiceNumber (Manual Nos. check)", "bench-manual", host_numbers),
    ]


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as state_dir, SandboxServer(port=0, state_dir=state_dir) as server:
        azurite, connection = start_azurite_on_free_ports(log_path=Path(state_dir) / "azurite.log")
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = server.ca_bundle
        try:
            server.world.set_manual_nos(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY,
                                        "S-INV", True)
            adapters = bench_adapters(
                {"AzureWebJobsStorage": connection, "BC_API_URL": server.url, "BC_AUTHORITY_HOST": server.url,
                 "BC_CLIENT_ID": constants.DEMO_CLIENT_ID},
                secrets=InMemorySecretStore())
            connectors = bootstrap(adapters=replace(adapters, connector_store=InMemoryConnectorStore())).connectors
            rows = []
            for label, name, settings in _scenarios():
                mark = server.request_log.last_seq
                started = time.perf_counter()
                outcome = connectors.save(name, settings)
                elapsed_ms = (time.perf_counter() - started) * 1000
                entries = server.request_log.since(mark)
                rows.append({
                    "scenario": label,
                    "answer": "Created" if outcome.created else "Updated",
                    "bc_requests": sum(1 for e in entries if e.kind == "bc"),
                    "bc_batch_operations": sum(e.batchOperations for e in entries if e.kind == "bc"),
                    "entra_requests": sum(1 for e in entries if e.kind == "entra"),
                    "wall_ms": round(elapsed_ms, 1),
                    "bc_paths": [f"{e.method} {e.path.split('/', 4)[-1]}" for e in entries if e.kind == "bc"],
                })
            return {"saves": rows}
        finally:
            azurite.stop()
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
