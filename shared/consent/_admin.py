"""The answer to a tenant-wide admin consent (docs/deploy.md step 7a), which Entra sends to the same redirect
URI as a connector's consent.

Microsoft's admin consent endpoint (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent,
"Successful response" / "Error response") redirects with `admin_consent=True&tenant=<tenant id>` (plus `state`
and `scope` when the request had them) when the administrator approved, and with `error` and
`error_description` when not. A connector's consent always carries the single-use `state` bc-connector made
and answers with `code` or `error`: so `admin_consent` in the answer, or an `error` without any `state`, is an
admin consent. Nothing is stored either way: the grant lives in the customer's tenant.
"""

from __future__ import annotations

import re
from typing import Mapping

from ._html import Page

__all__ = ["admin_consent_page"]

_AADSTS = re.compile(r"AADSTS(\d{4,7})")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")


def is_admin_consent(params: Mapping[str, str]) -> bool:
    return "admin_consent" in params or (bool(params.get("error")) and not params.get("state"))


def admin_consent_page(params: Mapping[str, str]) -> Page | None:
    """The page for an admin consent answer, or None when `params` is not one (a connector's consent)."""
    if not is_admin_consent(params):
        return None
    tenant = _tenant(params.get("tenant"))
    error = params.get("error") or ""
    granted = (params.get("admin_consent") or "").lower() == "true" and not error
    if granted:
        return _granted(tenant)
    return _not_granted(tenant, error, params.get("error_description") or "")


def _tenant(value: str | None) -> str:
    """Entra's tenant id (a GUID), shown only when it looks like one (the page echoes nothing else)."""
    value = (value or "").strip()
    return value if _GUID.match(value) or _DOMAIN.match(value) else ""


def _granted(tenant: str) -> Page:
    facts = [("Microsoft Entra tenant", tenant)] if tenant else []
    return Page(
        status=200, tone="ok", title="Admin consent granted", outcome="admin-consent-granted",
        lead=["You approved bc-connector's access to Business Central for your whole organization. Microsoft "
              "keeps that approval in your tenant; bc-connector stored nothing."],
        facts=facts,
        steps=["Nothing more to do here. You can close this window.",
               "Next, in Business Central: on the Microsoft Entra applications page, add bc-connector's "
               "client ID with State Enabled and the permission sets your provider gave you, and publish the "
               "web services the connector needs (your provider's set-up guide lists them).",
               "Then tell your provider that admin consent is done, so they can connect your Business Central "
               "environment."],
        reference=(f"Tenant: {tenant}",) if tenant else ())


def _not_granted(tenant: str, error: str, description: str) -> Page:
    codes = [int(c) for c in _AADSTS.findall(description)]
    reference = tuple(line for line in (
        f"Microsoft error: {error}" + (f" (AADSTS{codes[0]})" if codes else "") if error else "",
        f"Tenant: {tenant}" if tenant else "") if line)
    if codes and set(codes) & {90094, 90095, 50105, 53003}:
        return Page(
            status=403, tone="warning", title="Your account cannot approve this for the organization",
            outcome="admin-consent-not-allowed",
            lead=["Microsoft did not let this account grant admin consent, so bc-connector has no access to "
                  "Business Central in your organization yet. Nothing was changed."],
            steps=["Sign in with an administrator account (Global Administrator, Privileged Role Administrator, "
                   "Cloud Application Administrator or Application Administrator) and open the admin consent "
                   "link again; or forward the link to such an administrator."],
            reference=reference)
    if error == "access_denied" or 65004 in codes:
        return Page(
            status=403, tone="warning", title="Admin consent was not given", outcome="admin-consent-declined",
            lead=["Microsoft's admin consent page was cancelled, so bc-connector has no access to Business "
                  "Central in your organization. Nothing was changed."],
            steps=["To approve it, open the admin consent link from your provider again and choose Accept.",
                   "Only an administrator of your Microsoft Entra tenant can approve it (Global Administrator, "
                   "Privileged Role Administrator, Cloud Application Administrator or Application "
                   "Administrator)."],
            reference=reference)
    if error in ("temporarily_unavailable", "server_error"):
        return Page(
            status=503, tone="warning", title="Microsoft's sign-in is unavailable right now",
            outcome="admin-consent-entra-unavailable",
            lead=["Microsoft Entra ID could not finish the admin consent. Nothing was changed."],
            steps=["Open the admin consent link again in a few minutes."],
            reference=reference)
    return Page(
        status=400, tone="error", title="Microsoft refused the admin consent request",
        outcome="admin-consent-error",
        lead=[f"Microsoft Entra ID refused the admin consent request ({error or 'no reason given'}). This points "
              "to the link or to bc-connector's app registration, not to something you did. Nothing was "
              "changed."],
        steps=["Send the reference below to your provider: the link must name bc-connector's client ID, and its "
               "app registration must list this page's address as a redirect URI."],
        reference=reference)
