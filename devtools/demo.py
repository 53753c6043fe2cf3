"""Save the demo connector through the HTTP API and say, in plain words, what happened.

``make run`` calls this once the functions answer. It can be run again at any time::

    python -m devtools.demo [--base-url http://127.0.0.1:7071] [--sandbox-url https://127.0.0.1:8443]

It PUTs connector ``demo`` (client credentials against the sandbox's CRONUS USA, Inc.), prints what the
save verified (or each field error), how many requests the verified save sent to BC and Entra ID (from
the sandbox's request log), then GETs the connector and shows its status. Exit code 0 only if the
connector was saved.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Iterable

import requests

from sandbox import constants

__all__ = ["DEMO_CONNECTOR", "demo_settings", "main"]

DEMO_CONNECTOR = "demo"


def demo_settings() -> dict[str, Any]:
    """The settings document of the demo connector (docs/contract.md §2)."""
    return {
        "tenantId": constants.TENANT_ID,
        "environment": constants.ENVIRONMENT,
        # URL-encoded on purpose: users paste company names copied from BC URLs; the API decodes once.
        "company": "CRONUS%20USA%2C%20Inc.",
        "auth": {
            "mode": "clientCredentials",
            "clientId": constants.DEMO_CLIENT_ID,
            "clientSecret": constants.DEMO_CLIENT_SECRET,
        },
        "defaults": {
            "unitOfMeasure": "PCS",
            "taxGroupCode": "TAXABLE",
            "writeInItem": "WRITE-IN",
            "useHostInvoiceNumber": False,
        },
        "customers": {
            "enabled": True,
            "domestic": {"genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC"},
            "abroad": {"genBusPostingGroup": "EXPORT", "customerPostingGroup": "FOREIGN"},
        },
        "projects": {"enabled": True, "dimension": "PROJECT"},
        "invoices": {"enabled": True, "departmentDimension": "DEPARTMENT", "departmentSource": "department"},
        "expenses": {"enabled": False},
        "notifications": {"recipients": ["finance@contoso-sandbox.example"]},
        "notes": "Demo connector created by `make run` (devtools/demo.py) against the local BC sandbox.",
    }


class RequestLog:
    """The sandbox's request log (``GET /_sandbox/requests?since=<seq>``): what one operation cost.

    Answer shape (sandbox/admin.py): ``{"requests": [{"seq", "kind": "bc"|"entra"|"other", "method", "path",
    "query", "status", "batchOperations", ...}], "lastSeq": n}``.
    """

    def __init__(self, sandbox_url: str, ca_bundle: str | bool) -> None:
        self.url = sandbox_url.rstrip("/") + "/_sandbox/requests"
        self.session = requests.Session()
        self.session.verify = ca_bundle
        self.session.trust_env = False  # loopback: never through a proxy
        self.since = 0
        self.available = True
        self.problem = ""

    def mark(self) -> None:
        """Remember where the log is now; only later entries count."""
        try:
            self.since = int(self._get()["lastSeq"])
        except (requests.RequestException, OSError, ValueError, KeyError, TypeError) as exc:
            self.available, self.problem = False, _short(exc)

    def entries_since_mark(self) -> list[dict[str, Any]]:
        if not self.available:
            return []
        try:
            entries = self._get(since=self.since)["requests"]
        except (requests.RequestException, OSError, ValueError, KeyError, TypeError) as exc:
            self.available, self.problem = False, _short(exc)
            return []
        return [e for e in entries if e.get("kind") in ("bc", "entra")]

    def _get(self, since: int = 0) -> dict[str, Any]:
        response = self.session.get(self.url, params={"since": since}, timeout=10)
        response.raise_for_status()
        return response.json()


def _describe_request(entry: dict[str, Any]) -> str:
    path = str(entry.get("path", ""))
    # Keep the interesting tail: /v2.0/{tenant}/{env}/api/v2.0/companies(...)/items -> api/v2.0/companies(...)/items
    for marker in ("/api/v2.0/", "/ODataV4/"):
        if marker in path:
            path = marker.strip("/") + "/" + path.split(marker, 1)[1]
            break
    ops = entry.get("batchOperations") or 1
    return "%s %s%s -> %s" % (entry.get("method", "?"), path, " (%d operations)" % ops if ops > 1 else "",
                              entry.get("status"))


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:197] + "..."


def _say(text: str = "") -> None:
    print(text, flush=True)


def report_saved(status_code: int, body: dict[str, Any]) -> None:
    connector = body.get("connector") or {}
    company = connector.get("companyName") or "?"
    tax = {"salesTax": "US sales tax", "vat": "VAT"}.get(connector.get("taxMode"), connector.get("taxMode") or "")
    _say("Connector '%s' was %s (HTTP %d): connected to company '%s' (id %s)%s; status %s."
         % (DEMO_CONNECTOR, body.get("status", "saved"), status_code, company,
            connector.get("companyId") or "?", ", " + tax if tax else "", connector.get("status", "?")))
    checks = body.get("checks") or []
    if checks:
        _say("What the save verified in Business Central:")
        for check in checks:
            _say("  - %s" % (check if isinstance(check, str) else check.get("message", check)))


def report_errors(status_code: int, body: Any) -> None:
    _say("Connector '%s' was NOT saved (HTTP %d). The API says:" % (DEMO_CONNECTOR, status_code))
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        _say("  %s" % (body if body not in (None, "") else "(no body)"))
        return
    for e in errors:
        line = "  - %s: %s" % (e.get("field") or "(connector)", e.get("message", ""))
        choices = e.get("choices")
        if choices:
            line += " Valid choices: %s." % ", ".join(str(c) for c in choices)
        _say(line)


def report_cost(log: RequestLog, entries: list[dict[str, Any]]) -> None:
    if not log.available:
        _say("(Could not count the BC requests: the sandbox request log at %s did not answer: %s)"
             % (log.url, log.problem))
        return
    tokens = [e for e in entries if e.get("kind") == "entra"]
    bc = [e for e in entries if e.get("kind") == "bc"]
    _say("The verified save cost %d BC request%s and %d Entra ID sign-in request%s (sandbox request log):"
         % (len(bc), "" if len(bc) == 1 else "s", len(tokens), "" if len(tokens) == 1 else "s"))
    for e in entries:
        _say("  %s" % _describe_request(e))


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:7071", help="the functions (default %(default)s)")
    parser.add_argument("--sandbox-url", default="https://127.0.0.1:8443", help="the BC sandbox (default %(default)s)")
    parser.add_argument("--ca", default=".sandbox/ca.pem", help="the sandbox's CA certificate (default %(default)s)")
    parser.add_argument("--force", action="store_true", help="save the demo settings even if connector 'demo' exists")
    args = parser.parse_args(list(argv) if argv is not None else None)

    api = args.base_url.rstrip("/") + "/api/connectors/" + DEMO_CONNECTOR
    if not args.force:
        try:
            existing = requests.get(api, timeout=30)
        except requests.RequestException as exc:
            _say("The functions did not answer at %s: %s" % (args.base_url, _short(exc)))
            return 1
        if existing.status_code == 200:
            c = existing.json()
            _say("Connector '%s' already exists (status '%s', updated %s): left as it is, so changes you made are "
                 "kept. `python -m devtools.demo --force` saves the demo settings again."
                 % (DEMO_CONNECTOR, c.get("status"), c.get("updatedAt")))
            return 0
    log = RequestLog(args.sandbox_url, args.ca)
    log.mark()

    _say("Saving connector '%s': PUT %s (client credentials, company 'CRONUS%%20USA%%2C%%20Inc.' as pasted "
         "from a URL)..." % (DEMO_CONNECTOR, api))
    try:
        response = requests.put(api, json=demo_settings(), timeout=120)
    except requests.RequestException as exc:
        _say("The functions did not answer at %s: %s" % (args.base_url, _short(exc)))
        return 1
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code in (200, 201) and isinstance(body, dict):
        report_saved(response.status_code, body)
        saved = True
    else:
        report_errors(response.status_code, body)
        if response.status_code == 503 and response.headers.get("Retry-After"):
            _say("  (BC or Entra ID is unavailable; try again in %s s)" % response.headers["Retry-After"])
        saved = False
    report_cost(log, log.entries_since_mark())

    try:
        current = requests.get(api, timeout=30)
        if current.status_code == 200:
            c = current.json()
            _say("GET %s -> status '%s', company '%s', tax mode %s, updated %s."
                 % (api, c.get("status"), c.get("companyName"), c.get("taxMode"), c.get("updatedAt")))
        else:
            _say("GET %s -> HTTP %d" % (api, current.status_code))
    except (requests.RequestException, ValueError) as exc:
        _say("GET %s failed: %s" % (api, _short(exc)))
    return 0 if saved else 1


if __name__ == "__main__":
    sys.exit(main())
