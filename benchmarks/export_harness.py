"""The environment the export benchmarks run in: the BC sandbox over HTTPS, an Azurite on free loopback ports
(so the ledger claim, the connector read and the outcome send are real Table/Queue calls), and one saved
client-credentials connector. Loopback only; everything stops when the block ends."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from benchmarks._adapters import bench_adapters
from sandbox import constants
from sandbox.admin import SandboxAdmin
from sandbox.server import SandboxServer
from shared.adapters.secrets import InMemorySecretStore
from shared.bootstrap import App, bootstrap

REPO = Path(__file__).resolve().parents[1]


def settings(company: str = constants.US_COMPANY, **changes: Any) -> dict:
    document = {
        "tenantId": constants.TENANT_ID,
        "environment": constants.ENVIRONMENT,
        "company": urllib.parse.quote(company, safe=""),
        "auth": {"mode": "clientCredentials", "clientId": constants.DEMO_CLIENT_ID,
                 "clientSecret": constants.DEMO_CLIENT_SECRET},
        "defaults": {"unitOfMeasure": "PCS", "taxGroupCode": "TAXABLE", "writeInItem": "WRITE-IN",
                     "useHostInvoiceNumber": False},
        "customers": {"enabled": True,
                      "domestic": {"genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC"},
                      "abroad": {"genBusPostingGroup": "EXPORT", "customerPostingGroup": "FOREIGN"}},
        "projects": {"enabled": True, "dimension": "PROJECT"},
        "invoices": {"enabled": True, "departmentDimension": "DEPARTMENT", "departmentSource": "department"},
    }
    for dotted, value in changes.items():
        target = document
        parts = dotted.split("__")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return document


@dataclass
class ExportEnv:
    url: str
    admin: SandboxAdmin
    environ: Mapping[str, str]
    app: App
    connector: str

    @property
    def mark(self) -> int:
        return self.admin.last_seq()

    def bc_requests_since(self, mark: int) -> list[dict]:
        return self.admin.requests(since=mark, kind="bc")

    def text(self, kind: str, data: dict, version: Any = 1) -> str:
        return json.dumps({"connector": self.connector, "type": kind, "version": version, "data": data})

    def usage(self) -> dict:
        """The sandbox's per-user counters of the connector's app (BC's limits)."""
        usage = self.admin.limits().get("usage") or {}
        return next((v for k, v in usage.items() if constants.DEMO_CLIENT_ID in k), {})


def customer(host_id: str) -> dict:
    return {"id": host_id, "name": f"Customer {host_id}", "email": "ap@example.com",
            "invoiceAddress": {"line1": "1 Main St", "city": "Atlanta", "state": "GA", "countryCode": "US"}}


def invoice(host_id: str, customer_id: str = "bench-cust", **changes: Any) -> dict:
    data = {"id": host_id, "invoiceDate": "2026-11-20", "customer": customer(customer_id),
            "department": {"code": "ADM"},
            "lines": [{"description": "Consulting", "product": None, "quantity": 8, "unitPrice": 150},
                      {"description": "Desk", "product": {"number": "1896-S"}, "quantity": 1, "unitPrice": 950}]}
    data.update(changes)
    return data


@contextlib.contextmanager
def _sandbox(state_dir: str, separate_process: bool) -> Iterator[tuple[str, str]]:
    """(url, CA bundle) of a sandbox on a free loopback port: in this process, or in its own (so its
    work does not share this interpreter's GIL with the exports being measured)."""
    if not separate_process:
        with SandboxServer(port=0, state_dir=state_dir) as server:
            yield server.url, server.ca_bundle
        return
    child = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--state-dir", state_dir],
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = child.stdout.readline() if child.stdout else ""
        match = re.search(r"ready on (https://127\.0\.0\.1:\d+)", first)
        if not match:
            raise RuntimeError(f"the sandbox did not start: {first.strip()}")
        yield match.group(1), str(Path(state_dir) / "ca.pem")
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


@contextlib.contextmanager
def export_env(*, separate_process: bool = False, **setting_changes: Any) -> Iterator[ExportEnv]:
    from devtools._services import start_azurite_on_free_ports

    with tempfile.TemporaryDirectory() as state_dir, _sandbox(state_dir, separate_process) as (url, ca_bundle):
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = ca_bundle
        child, connection = start_azurite_on_free_ports(log_path=Path(state_dir) / "azurite.log")
        admin = SandboxAdmin(url, ca_bundle)
        try:
            environ = {"AzureWebJobsStorage": connection, "BC_API_URL": url, "BC_AUTHORITY_HOST": url,
                       "BC_CLIENT_ID": constants.DEMO_CLIENT_ID}
            app = bootstrap(adapters=bench_adapters(environ, secrets=InMemorySecretStore()))
            name = f"bench-{uuid.uuid4().hex[:8]}"
            app.connectors.save(name, settings(**setting_changes))
            yield ExportEnv(url, admin, environ, app, name)
        finally:
            admin.close()
            child.stop()
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous
