"""Structured fields on every log line about a message or a run, for Application Insights' customDimensions.

    with log_scope(connector="contoso", queue="bc-invoices", messageId=delivery.message_id, attempt=2):
        ...                                   # every record logged here, by any logger, carries the fields
        note(hostId="INV-1")                  # add a field once it is known (this scope only)
        with log_scope(outcome="failed"):     # a field for one line
            log.warning("Export invoice contoso/INV-1 failed: ...")

How the fields reach Application Insights: the Functions host's own log forwarding drops `extra` attributes,
so the app runs the worker's OpenTelemetry pipeline (`host.json` `telemetryMode: OpenTelemetry`,
`PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true`, `azure-monitor-opentelemetry` in requirements.txt;
https://learn.microsoft.com/azure/azure-functions/opentelemetry-howto). Its logging handler turns every
non-standard attribute of a `LogRecord` into a log attribute, and the Azure Monitor exporter writes those to
`customDimensions` (`Properties` in Log Analytics). This module puts the fields on the records: a log record
factory copies the current scope's fields onto every record as it is created, so no log call has to pass them.

Rules: the names are the contract of docs/operations.md (`FIELDS`); values are str, int or bool (what
OpenTelemetry attributes allow); fields hold identifiers and counts, never a secret, token, code or message
text. Per-line fields go through `log_scope`, never `extra=`: `extra=` with a name the scope already set
makes `logging` raise KeyError.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Mapping, Union

__all__ = ["FIELDS", "FieldValue", "log_scope", "note", "current", "install"]

FieldValue = Union[str, int, bool]

#: Every field name the app writes, and what it means (docs/operations.md "Structured fields").
FIELDS: Mapping[str, str] = {
    "operation": "what the line is about: export, poison, expense_import, consent, keepalive, replay",
    "connector": "connector name",
    "queue": "queue the message came from (bc-invoices, bc-invoices-poison, ...)",
    "messageId": "queue message id",
    "attempt": "delivery attempt of the message (1 to 5)",
    "returning": "true when the message is the app's deferred copy, back at the time its BC user's budget "
                 "promised it (false: new work from the host)",
    "kind": "entity type of an export message: customer, project, invoice, product",
    "hostId": "the host application's id of the entity",
    "outcome": "status of the outcome message (created, updated, unchanged, failed, parked) or of a run "
               "(completed, partial, failed, busy, skipped, reconnect_required)",
    "errorCode": "the error code of a failure (the outcome's error.code)",
    "bcStatus": "HTTP status (or connection failure) of a BC call that is retried",
    "bcAttempt": "attempt of one BC call (1 to the retry budget)",
    "clientRequestId": "our client-request-id of a BC call (BC support finds the call by it)",
    "bcRequestId": "BC's request-id of the failing call",
    "correlationId": "BC's correlation id of the failing call (from its error message)",
    "status": "a connector's status after a status change (reconnect_required, connected)",
    "source": "expense source of an import run (documents, generalLedger)",
    "read": "rows read from BC by an import run",
    "sent": "messages sent to bc-expenses by an import run",
    "skipped": "rows skipped by an import run",
    "durationMs": "duration of a run in milliseconds",
    "delaySeconds": "how long a deferred export message stays invisible (its BC user's budget is used up)",
}


class _Scope:
    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, FieldValue]) -> None:
        self.fields = fields


_current: ContextVar[_Scope | None] = ContextVar("bc_connector_log_fields", default=None)


def _clean(fields: Mapping[str, object]) -> dict[str, FieldValue]:
    out: dict[str, FieldValue] = {}
    for name, value in fields.items():
        if name not in FIELDS:
            raise ValueError(f"unknown log field {name!r}: add it to shared.logfields.FIELDS and docs/operations.md")
        if value is None or value == "":
            continue
        out[name] = value if isinstance(value, (str, int, bool)) else str(value)
    return out


@contextmanager
def log_scope(**fields: object) -> Iterator[None]:
    """Every record logged inside carries `fields` (None and "" are left out) on top of the enclosing scope's."""
    parent = _current.get()
    merged = dict(parent.fields) if parent is not None else {}
    merged.update(_clean(fields))
    token = _current.set(_Scope(merged))
    try:
        yield
    finally:
        _current.reset(token)


def note(**fields: object) -> None:
    """Add fields to the innermost scope (they end with it). Outside any scope it does nothing, so a field can
    never stick to a worker thread and land on the next invocation's lines."""
    scope = _current.get()
    if scope is not None:
        scope.fields.update(_clean(fields))


def current() -> Mapping[str, FieldValue]:
    """The fields a record created now would carry."""
    scope = _current.get()
    return dict(scope.fields) if scope is not None else {}


_installed: list[bool] = []


def install() -> None:
    """Wrap the logging record factory once per process so every record gets the current scope's fields."""
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)  # type: ignore[arg-type]  # the factory's own signature
        scope = _current.get()
        if scope is not None:
            for name, value in scope.fields.items():
                if name not in record.__dict__:
                    setattr(record, name, value)
        return record

    logging.setLogRecordFactory(factory)
    _installed.append(True)


# Installed on import: every module that opens a scope imports this one, so the factory is in place before the
# first scoped record (and the worker imports the blueprints, which import the app, at cold start).
install()
