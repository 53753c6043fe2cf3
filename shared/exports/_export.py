"""The export use case: one queue message in, exactly one outcome out (or a raise, so the queue retries).

    outcome = process_message(Delivery("bc-invoices", text, message_id, dequeue_count), deps)

Errors are mapped to what happens to the message in this one place (STYLE.md "Function entry points"):

| what                                                   | outcome   | message            | also                     |
|--------------------------------------------------------|-----------|--------------------|--------------------------|
| bad JSON / field, unknown connector, export disabled,  | failed    | completed          | `export_failed`          |
| BC validation, Entra refusing the app                  |           |                    | notification; ledger row |
|                                                        |           |                    | keeps the text to replay |
| revoked consent (`ReconnectRequiredError`), or the     | parked    | completed (kept in | connector marked         |
| connector already `reconnect_required`/`consent_required` |        | `Parked`)          | `reconnect_required`     |
| BC 429/5xx, timeouts, token endpoint down, a fresh     | none yet  | raise: redelivered | poison trigger after     |
| claim of another worker, storage errors                |           |                    | maxDequeueCount          |
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from shared.messages import (
    QUEUE_TYPES,
    MessageInvalid,
    Version,
    parse_data,
    parse_envelope,
    peek_identity,
)

from ._claim import iso
from ._context import ExportContext, ExportDeps, ExportResult
from ._customers import export_customer
from ._errors import ExportFailed, failed_from_bc
from ._invoices import export_invoice
from ._projects import export_project
from ._run import failure_fields, record_failure

__all__ = ["Delivery", "process_message", "build_outcome", "export_failed_notification", "unkeyed_id",
           "CONSENT_HINT"]

log = logging.getLogger(__name__)

_EXPORTERS = {"customer": export_customer, "project": export_project, "invoice": export_invoice}
_ENABLED = {"customer": ("customers_enabled", "customers.enabled"),
            "project": ("projects_enabled", "projects.enabled"),
            "invoice": ("invoices_enabled", "invoices.enabled")}
_PARKING_STATUSES = {"reconnect_required", "consent_required"}
CONSENT_HINT = "Reconnect: POST /api/connectors/{name}/consent."


@dataclass(frozen=True)
class Delivery:
    """One message as the queue handed it over."""

    queue: str  # the contract queue it came from, e.g. "bc-invoices"
    text: str  # the original message text (JSON), byte for byte what the host sent
    message_id: str
    dequeue_count: int = 1


def unkeyed_id(text: str) -> str:
    """A ledger row key for a message without a usable host id, stable for the same text."""
    return "!unkeyed-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:24]


def process_message(delivery: Delivery, deps: ExportDeps) -> dict[str, Any]:
    """Export one message; sends and returns its outcome. Raises only when the queue should retry."""
    kind = QUEUE_TYPES[delivery.queue]
    try:
        envelope = parse_envelope(delivery.text, queue_type=kind)
    except MessageInvalid as err:
        connector, host_id, version = peek_identity(delivery.text)
        record = deps.store.get(connector) if connector else None
        failed = ExportFailed(err.code, err.message, err.field)
        return _failed(delivery, deps, kind, record, connector, host_id, version, None, failed)

    record = deps.store.get(envelope.connector)
    _, peeked_id, _ = peek_identity(delivery.text)
    version = envelope.version
    if record is None:
        failed = ExportFailed("ConnectorUnknown", f"There is no connector named '{envelope.connector}'. Create it "
                              f"with PUT /api/connectors/{envelope.connector}, then send the message again.",
                              "connector")
        return _failed(delivery, deps, kind, None, envelope.connector, peeked_id, version.raw, version, failed)
    if record.status in _PARKING_STATUSES:
        return _park(delivery, deps, kind, record, peeked_id, version.raw,
                     f"Connector '{record.name}' is {record.status}; the message waits until it is reconnected.")
    if record.status == "disabled":
        failed = ExportFailed("ConnectorDisabled", f"Connector '{record.name}' is disabled; enable it and replay "
                              "the message.", "connector", retryable=True)
        return _failed(delivery, deps, kind, record, record.name, peeked_id, version.raw, version, failed)
    settings = record.settings
    attr, setting = _ENABLED[kind]
    if not getattr(settings, attr):
        failed = ExportFailed("ExportDisabled", f"Connector '{record.name}' does not export {kind}s ({setting} is "
                              f"false). Enable it and replay the message.", setting, retryable=True)
        return _failed(delivery, deps, kind, record, record.name, peeked_id, version.raw, version, failed,
                       settings)
    try:
        data = parse_data(kind, envelope.data)
    except MessageInvalid as err:
        failed = ExportFailed(err.code, err.message, err.field)
        return _failed(delivery, deps, kind, record, record.name, peeked_id, version.raw, version, failed,
                       settings)

    ctx = ExportContext(deps=deps, record=record, settings=settings, queue=delivery.queue,
                        message_text=delivery.text, message_id=delivery.message_id, version=version)
    try:
        result: ExportResult = _EXPORTERS[kind](ctx, data, version=version)
    except ExportFailed as err:
        return _failed(delivery, deps, kind, record, record.name, data.id, version.raw, version, err, settings,
                       ctx.warnings, recorded=err.recorded_for == (kind, data.id))
    except Exception as exc:
        failed = _permanent(exc)
        if failed is None:
            from shared.auth import ReconnectRequiredError

            if isinstance(exc, ReconnectRequiredError):
                return _reconnect(delivery, deps, kind, record, data.id, version.raw, exc)
            log.info("Export %s %s/%s: transient failure, the queue retries (attempt %d): %s: %s", kind,
                     record.name, data.id, delivery.dequeue_count, type(exc).__name__, exc)
            raise
        return _failed(delivery, deps, kind, record, record.name, data.id, version.raw, version, failed, settings,
                       ctx.warnings)
    outcome = build_outcome(record.name, kind, data.id, version.raw, result.status, bc_id=result.bc_id,
                            bc_number=result.bc_number, attempts=delivery.dequeue_count, at=deps.now(),
                            warnings=ctx.warnings)
    deps.send_outcome(outcome)
    log.info("Export %s %s/%s: %s (BC %s)", kind, record.name, data.id, result.status, result.bc_number or result.bc_id)
    return outcome


def _permanent(exc: Exception) -> ExportFailed | None:
    """The ExportFailed for an error retrying cannot fix, or None (transient, or reconnect)."""
    from shared.auth import ReconnectRequiredError, TokenError
    from shared.bc import BcPermanentError
    from shared.connectors import SettingsInvalid

    if isinstance(exc, BcPermanentError):
        return failed_from_bc(exc, None)
    if isinstance(exc, ReconnectRequiredError):
        return None
    if isinstance(exc, TokenError) and not exc.retryable:
        return ExportFailed(type(exc).__name__, str(exc), "auth", retryable=True)
    if isinstance(exc, SettingsInvalid):
        first = exc.errors[0] if exc.errors else None
        return ExportFailed("SettingsInvalid", first.message if first else str(exc), first.field if first else None,
                            retryable=True)
    return None


# -- outcomes ------------------------------------------------------------------------------------------


def build_outcome(connector: str | None, kind: str, host_id: str | None, version: Any, status: str, *,
                  bc_id: str | None = None, bc_number: str | None = None, error: dict | None = None,
                  attempts: int | None = None, at: _dt.datetime, warnings: list[str] | None = None
                  ) -> dict[str, Any]:
    """The outcome message of ARCHITECTURE §4 (plus `warnings`: what was adapted to fit BC)."""
    return {
        "connector": connector,
        "type": kind,
        "id": host_id,
        "version": version,
        "status": status,
        "bc": {"id": bc_id, "number": bc_number},
        "error": error,
        "attempts": attempts,
        "completedAt": iso(at),
        "warnings": list(warnings or []),
    }


def export_failed_notification(connector: str | None, recipients: list[str], kind: str, host_id: str | None,
                               version: Any, error: dict[str, Any], at: _dt.datetime,
                               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    where = f" (field {error['field']})" if error.get("field") else ""
    what = f"{kind} '{host_id}'" if host_id else f"a {kind} message"
    return {
        "connector": connector,
        "event": "export_failed",
        "severity": "error",
        "message": f"The {what} could not be exported to Business Central{where}: {error['message']}",
        "recipients": recipients,
        "details": {"type": kind, "id": host_id, "version": version, "code": error["code"],
                    "field": error.get("field"), "retryable": error.get("retryable", False), **(extra or {})},
        "at": iso(at),
    }


def _failed(delivery: Delivery, deps: ExportDeps, kind: str, record: Any, connector: str | None,
            host_id: str | None, version_raw: Any, version: Version | None, err: ExportFailed,
            settings: Any = None, warnings: list[str] | None = None, *, recorded: bool = False) -> dict[str, Any]:
    now = deps.now()
    if record is not None and not recorded:
        ctx = ExportContext(deps=deps, record=record, settings=settings, queue=delivery.queue,
                            message_text=delivery.text, message_id=delivery.message_id, version=version)
        try:
            record_failure(deps.ledger, record.name, kind, host_id or unkeyed_id(delivery.text),
                           failure_fields(ctx, err, version))
        except Exception as exc:  # noqa: BLE001 - the outcome and notification still go out
            log.warning("Could not record the failure of %s %s/%s in the ledger: %s", kind, record.name, host_id, exc)
    error = err.error()
    recipients = list(record.settings.notification_recipients) if record else []
    extra = {k: v for k, v in err.details.items() if k != "ledgerDetails"}
    if err.bc_id or err.bc_number:
        extra["bc"] = {"id": err.bc_id, "number": err.bc_number}
    deps.notify(export_failed_notification(connector, recipients, kind, host_id, version_raw, error, now, extra))
    outcome = build_outcome(connector, kind, host_id, version_raw, "failed", bc_id=err.bc_id, bc_number=err.bc_number,
                            error=error, attempts=delivery.dequeue_count, at=now, warnings=warnings)
    deps.send_outcome(outcome)
    log.warning("Export %s %s/%s failed: %s %s (%s)", kind, connector, host_id, error["code"], error["field"],
                error["message"])
    return outcome


def _park(delivery: Delivery, deps: ExportDeps, kind: str, record: Any, host_id: str | None, version_raw: Any,
          reason: str) -> dict[str, Any]:
    deps.parking.park(record.name, delivery.queue, delivery.text, reason)
    outcome = build_outcome(record.name, kind, host_id, version_raw, "parked",
                            error={"code": "ReconnectRequired", "message": reason, "field": None, "retryable": True},
                            attempts=delivery.dequeue_count, at=deps.now())
    deps.send_outcome(outcome)
    log.warning("Export %s %s/%s parked: %s", kind, record.name, host_id, reason)
    return outcome


def _reconnect(delivery: Delivery, deps: ExportDeps, kind: str, record: Any, host_id: str, version_raw: Any,
               err: Exception) -> dict[str, Any]:
    from shared.connectors import mark_reconnect_required

    reason = str(err)
    if deps.report_reconnect is not None:
        deps.report_reconnect(record.name, reason)
    else:
        mark_reconnect_required(deps.store, record.name, reason=reason, notify=deps.notify,
                                consent_hint=CONSENT_HINT.format(name=record.name), now=deps.now)
    return _park(delivery, deps, kind, record, host_id, version_raw, reason)
