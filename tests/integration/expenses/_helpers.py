"""Helpers for the expense import end to end: settings of an expense connector, the ledger rows the
projects export would have written, running the import over HTTP, and the bc-expenses messages sent."""

from __future__ import annotations

import json
import urllib.parse

from sandbox import constants
from tests._app import call_http, json_of

#: The sandbox company's projects the "export" has mapped (P-1003 is left unknown on purpose).
MAPPED = {"P-1001": "prj-1001", "P-1002": "prj/1002"}


def expense_settings(*, exports_projects: bool = False, **expenses):
    """A client-credentials connector on the sandbox's US company importing expenses from 2026-09-01 (and
    exporting projects to its PROJECT dimension when `exports_projects`)."""
    return {
        "tenantId": constants.TENANT_ID,
        "environment": constants.ENVIRONMENT,
        "company": urllib.parse.quote(constants.US_COMPANY),
        "auth": {"mode": "clientCredentials", "clientId": constants.DEMO_CLIENT_ID,
                 "clientSecret": constants.DEMO_CLIENT_SECRET},
        "projects": {"enabled": exports_projects, "dimension": "PROJECT"},
        "expenses": {"enabled": True, "fromDate": "2026-09-01", "source": "purchaseInvoices",
                     "activity": "Purchases", "billable": True, **expenses},
        "notifications": {"recipients": ["ops@example.com"]},
    }


def run_now(name):
    response = call_http("run_expense_import", route_params={"name": name})
    return response.status_code, json_of(response)


def sent_messages(services, name) -> list[dict]:
    """Takes this connector's messages off bc-expenses (others are left for their owners)."""
    queue = services.queue("expenses")
    out = []
    for message in queue.receive_messages(max_messages=5000, visibility_timeout=5):
        body = json.loads(message.content)
        if body.get("connector") == name:
            out.append(body)
            queue.delete_message(message)
    return out
