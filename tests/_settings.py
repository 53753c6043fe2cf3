"""Connector settings documents for tests: one builder for the sandbox's companies, one way to change
fields by dotted path (`customers__domestic__genBusPostingGroup="EU"`)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from sandbox import constants


def apply_changes(document: dict, changes: dict[str, Any]) -> dict:
    """Set each `a__b__c=value` of `changes` in `document` (nested objects created as needed)."""
    for dotted, value in changes.items():
        target = document
        parts = dotted.split("__")
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return document


def connector_settings(which: str = "us", auth_mode: str = "clientCredentials", /, **changes: Any) -> dict:
    """A document that saves against the sandbox: every export enabled, the company URL-encoded as users
    paste it. `which="vat"` is the VAT company (comma, slash and ampersand in its name)."""
    vat = which == "vat"
    document = {
        "tenantId": constants.TENANT_ID,
        "environment": constants.ENVIRONMENT,
        "company": urllib.parse.quote(constants.VAT_COMPANY if vat else constants.US_COMPANY, safe=""),
        "auth": {"mode": auth_mode, "clientId": constants.DEMO_CLIENT_ID,
                 "clientSecret": constants.DEMO_CLIENT_SECRET},
        "defaults": {"unitOfMeasure": "PCS", "taxGroupCode": None if vat else "TAXABLE", "writeInItem": "WRITE-IN",
                     "useHostInvoiceNumber": False},
        "customers": {"enabled": True,
                      "domestic": {"genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC"},
                      "abroad": {"genBusPostingGroup": "EU" if vat else "EXPORT", "customerPostingGroup": "FOREIGN"}},
        "projects": {"enabled": True, "dimension": "PROJECT"},
        "invoices": {"enabled": True, "departmentDimension": "DEPARTMENT", "departmentSource": "department"},
        "notifications": {"recipients": ["ops@example.com"]},
    }
    return apply_changes(document, changes)
