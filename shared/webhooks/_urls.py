"""Where BC can send notifications: `{PUBLIC_BASE_URL}/api/bc/notifications?connector={name}`.

BC Online calls the URL from Microsoft's cloud, so `expenses.realtime` is on by default only when
PUBLIC_BASE_URL names a host BC can reach: not loopback, not a private, link-local or reserved address, not
`localhost`. One exception for local runs: when BC_API_URL itself is on loopback (the BC sandbox on this
machine), a loopback PUBLIC_BASE_URL is reachable by it and is used.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

__all__ = ["NOTIFICATION_ROUTE", "notification_base", "notification_url"]

#: The route of the notification endpoint (functions/webhooks.py), below the host's `api/` prefix.
NOTIFICATION_ROUTE = "bc/notifications"


def _loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _public(host: str) -> bool:
    if not host or _loopback(host):
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return "." in host and not host.endswith((".local", ".internal", ".lan"))  # a DNS name
    return address.is_global


def notification_base(public_base_url: str | None, bc_api_url: str) -> tuple[str | None, str]:
    """(the base URL to use, or None; why) for the app settings PUBLIC_BASE_URL and BC_API_URL."""
    if not public_base_url:
        return None, "PUBLIC_BASE_URL is not set, so Business Central has no address to notify."
    parts = urlsplit(public_base_url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        return None, "PUBLIC_BASE_URL is not an http(s) URL."
    if _public(host):
        if parts.scheme != "https":
            return None, "PUBLIC_BASE_URL must be https for Business Central Online to notify it."
        return public_base_url.rstrip("/"), "PUBLIC_BASE_URL is public."
    if _loopback(host) and _loopback((urlsplit(bc_api_url).hostname or "").lower()):
        return public_base_url.rstrip("/"), "BC_API_URL is the BC sandbox on this machine, which reaches loopback."
    return None, f"PUBLIC_BASE_URL ({host}) cannot be reached from Business Central Online."


def notification_url(base: str, connector: str) -> str:
    return f"{base}/api/{NOTIFICATION_ROUTE}?connector={quote(connector, safe='')}"
