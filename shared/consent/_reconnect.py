"""A revoked or expired grant, wherever it surfaces (export, import, keep-alive): one status change, one
notification with a working consent link.

`mark_reconnect_required` (shared.connectors) decides the transition once, however many workers see the
error, and only the winner notifies. The consent link is made inside that notification, so a stream of
failing messages creates one consent state, not one per message.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.connectors import mark_reconnect_required

from ._deps import ConsentDeps
from ._flow import start_consent

__all__ = ["report_reconnect_required", "consent_hint"]

log = logging.getLogger(__name__)


def consent_hint(name: str) -> str:
    """How to reconnect when no link can be given (or after the link has expired)."""
    return (f"To reconnect, start the consent again (POST /api/connectors/{name}/consent gives a new sign-in "
            "link; it works for 10 minutes) and sign in with the account that runs the integration.")


def report_reconnect_required(name: str, reason: str, deps: ConsentDeps) -> bool:
    """Mark connector `name` `reconnect_required` and notify once, with a fresh consent link.

    `reason` is the operator-facing cause (str of the ReconnectRequiredError: no token in it). Returns
    True when this call made the transition (and sent the notification).
    """
    def notify_with_link(notification: dict[str, Any]) -> None:
        try:
            start = start_consent(name, deps, purpose="reconnect")
        except Exception as exc:  # noqa: BLE001 - the notification matters more than the link
            log.warning("Connector %s: no consent link for the reconnect notification (%s)", name, exc)
        else:
            details = dict(notification.get("details") or {})
            details.update(consentUrl=start.url, consentUrlExpiresAt=start.expires_at,
                           startConsent=f"POST /api/connectors/{name}/consent")
            notification = {**notification, "details": details,
                            "message": (f"{notification['message']} Sign-in link (works once, until "
                                        f"{start.expires_at}): {start.url}")}
        deps.notify(notification)

    return mark_reconnect_required(deps.store, name, reason=reason, notify=notify_with_link,
                                   consent_hint=consent_hint(name), now=deps.now)
