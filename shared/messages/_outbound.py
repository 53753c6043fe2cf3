"""Builders of the messages the app sends to the host (docs/contract.md §4): one builder per message type, so
every sender writes the same fields in the same form.

    notification(connector="contoso-bc", event="export_failed", severity="error", message="...",
                 recipients=["ops@contoso.com"], details={...}, at=clock.now())
    outcome(connector="contoso-bc", kind="invoice", host_id="PSA-1", version=3, status="created",
            bc_id="…", bc_number="S-INV1001", attempts=1, at=clock.now())
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Iterable, Literal, Mapping

from shared.clock import iso
from shared.jsontypes import JsonValue

__all__ = ["NOTIFICATION_EVENTS", "OUTCOME_STATUSES", "NotificationEvent", "OutcomeStatus", "Severity",
           "notification", "outcome"]

NotificationEvent = Literal["reconnect_required", "token_expiring", "export_failed", "import_failed",
                            "connector_saved"]
Severity = Literal["info", "warning", "error"]
OutcomeStatus = Literal["created", "updated", "unchanged", "failed", "parked"]

#: The statuses of a `bc-outcomes` message (contract).
OUTCOME_STATUSES: tuple[str, ...] = ("created", "updated", "unchanged", "failed", "parked")

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


def outcome(*, connector: str | None, kind: str, host_id: str | None, version: JsonValue, status: str,
            bc_id: str | None = None, bc_number: str | None = None, error: Mapping[str, Any] | None = None,
            attempts: int | None = None, at: _dt.datetime, warnings: Iterable[str] = ()) -> dict[str, Any]:
    """One `bc-outcomes` message: `{connector, type, id, version, status, bc: {id, number}, error, attempts,
    completedAt, warnings}`; `version` is the host's stamp as it came, `error` is `ConnectorError.to_error()`
    for `failed` and `parked`, `warnings` say what was adapted to fit BC (a shortened name)."""
    if status not in OUTCOME_STATUSES:
        raise ValueError(f"'{status}' is not an outcome status of the contract")
    return {
        "connector": connector,
        "type": kind,
        "id": host_id,
        "version": version,
        "status": status,
        "bc": {"id": bc_id, "number": bc_number},
        "error": dict(error) if error is not None else None,
        "attempts": attempts,
        "completedAt": iso(at),
        "warnings": list(warnings),
    }
