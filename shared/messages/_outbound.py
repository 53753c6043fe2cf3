"""Builders of the messages the app sends to the host (ARCHITECTURE §4): one builder per message type, so
every sender writes the same fields in the same form.

    notification(connector="contoso-bc", event="export_failed", severity="error", message="...",
                 recipients=["ops@contoso.com"], details={...}, at=clock.now())
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Literal, Mapping

from shared.clock import iso

__all__ = ["NOTIFICATION_EVENTS", "NotificationEvent", "Severity", "notification"]

NotificationEvent = Literal["reconnect_required", "token_expiring", "export_failed", "import_failed",
                            "connector_saved"]
Severity = Literal["info", "warning", "error"]

#: The events of `bc-notifications` (contract).
NOTIFICATION_EVENTS: tuple[str, ...] = ("reconnect_required", "token_expiring", "export_failed", "import_failed",
                                        "connector_saved")


def notification(*, connector: str | None, event: NotificationEvent, severity: Severity, message: str,
                 recipients: Iterable[str], details: Mapping[str, Any], at: _dt.datetime,
                 timespec: str = "auto") -> dict[str, Any]:
    """One `bc-notifications` message: `{connector, event, severity, message, recipients, details, at}`."""
    if event not in NOTIFICATION_EVENTS:
        raise ValueError(f"'{event}' is not a notification event of the contract")
    return {"connector": connector, "event": event, "severity": severity, "message": message,
            "recipients": list(recipients), "details": dict(details), "at": iso(at, timespec=timespec)}
