"""The export use case: one queue message in, exactly one outcome out (or a raise, so the queue retries).

    service = ExportService(connectors=..., ledger=..., bc_clients=..., outbox=..., notifier=..., parking=...,
                            reconnects=..., clock=..., lookups=...)
    outcome = service.process(Delivery("bc-invoices", text, message_id, dequeue_count))

What happens to the message is decided in one place, `_conclude`, from `shared.errors.disposition`:

| what                                                   | outcome   | message            | also                     |
|--------------------------------------------------------|-----------|--------------------|--------------------------|
| bad JSON / field, unknown connector, export disabled,  | failed    | completed          | `export_failed`          |
| BC validation, Entra refusing the app                  |           |                    | notification; ledger row |
|                                                        |           |                    | keeps the text to replay |
| revoked consent (`ReconnectRequired`), or the          | parked    | completed (kept in | connector marked         |
| connector already `reconnect_required`/`consent_required` |        | `Parked`)          | `reconnect_required`     |
| BC 429/5xx, timeouts, token endpoint down, a fresh     | none yet  | raise: redelivered | poison trigger after     |
| claim of another worker, storage errors                |           |                    | maxDequeueCount          |
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import random
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

from shared.bc import BcThrottledError, BudgetExhausted
from shared.clock import Clock
from shared.connectors import ConnectorRecord, ConnectorSettings, SettingsInvalid
from shared.errors import (
    ConflictError,
    ConnectorError,
    PermanentError,
    ReconnectRequired,
    TransientError,
    disposition,
)
from shared.jsontypes import JsonValue, json_type
from shared.logfields import log_scope, note
from shared.messages import (
    MAX_PAYLOAD_BYTES,
    PAYLOAD_CONTAINER,
    QUEUE_TYPES,
    CustomerData,
    DataRef,
    InvoiceData,
    NEGATIVE_INVOICE_TOTAL,
    MessageInvalid,
    ProductData,
    ProjectData,
    Version,
    notification,
    outcome,
    parse_data,
    parse_envelope,
    peek_identity,
    wrap_deferred,
)

from ._claim import EntityKey, ledger_stamp, record_failure
from ._context import Delivery, ExportContext, ExportResult, LookupCache
from ._customers import export_customer
from ._errors import ExportFailed, translate
from ._invoices import export_invoice
from ._ledger import FAILED, SYNCED, Ledger
from ._parking import ParkingLot
from ._poison import POISON_QUEUES, exhausted_error
from ._ports import (
    BcClientSource,
    ConnectorStore,
    ExportOptions,
    Notifier,
    Outbox,
    PayloadStore,
    ReconnectReporter,
    Requeue,
)
from ._products import export_product
from ._projects import export_project

__all__ = ["ExportService", "unkeyed_id"]

log = logging.getLogger(__name__)

Outcome = dict[str, Any]
Exporter = Callable[..., ExportResult]

_EXPORTERS: dict[str, Exporter] = {"customer": export_customer, "project": export_project,
                                   "product": export_product, "invoice": export_invoice}
_ENABLED = {"customer": ("customers_enabled", "customers.enabled"),
            "project": ("projects_enabled", "projects.enabled"),
            "product": ("products_enabled", "products.enabled"),
            "invoice": ("invoices_enabled", "invoices.enabled")}
_PARKING_STATUSES = {"reconnect_required", "consent_required"}
#: Codes of a message refused for its own content: replaying the same text can only fail the same way.
_CONTENT_CODES = frozenset({MessageInvalid.default_code, NEGATIVE_INVOICE_TOTAL})


def unkeyed_id(text: str) -> str:
    """A ledger row key for a message without a usable host id, stable for the same text."""
    return "!unkeyed-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:24]


@dataclass(frozen=True)
class _Subject:
    """What an outcome is about, as far as the message could be read."""

    delivery: Delivery
    kind: str
    connector: str | None
    host_id: str | None
    version_raw: JsonValue
    version: Version | None = None
    record: ConnectorRecord | None = None
    settings: ConnectorSettings | None = None

    @property
    def ledger_id(self) -> str:
        return self.host_id or unkeyed_id(self.delivery.text)


class ExportService:
    """Exports customers, projects, products and invoices from the queues to Business Central."""

    def __init__(self, *, connectors: ConnectorStore, ledger: Ledger, bc_clients: BcClientSource, outbox: Outbox,
                 notifier: Notifier, parking: ParkingLot, reconnects: ReconnectReporter, clock: Clock,
                 lookups: LookupCache, payloads: PayloadStore, requeue: Requeue,
                 options: ExportOptions = ExportOptions()) -> None:
        self._connectors, self._ledger, self._bc_clients = connectors, ledger, bc_clients
        self._payloads = payloads
        self._outbox, self._notifier, self._parking, self._reconnects = outbox, notifier, parking, reconnects
        self._clock, self._lookups, self._options = clock, lookups, options
        self._requeue = requeue

    # -- the queues -------------------------------------------------------------------------------

    def process(self, delivery: Delivery) -> Outcome:
        """Export one message; sends and returns its outcome. Raises only when the queue should retry."""
        kind = QUEUE_TYPES[delivery.queue]
        peeked = connector, host_id, _ = peek_identity(delivery.text)
        with log_scope(operation="export", queue=delivery.queue, messageId=delivery.message_id,
                       attempt=delivery.dequeue_count, returning=delivery.deferred, kind=kind,
                       connector=_field(connector), hostId=_field(host_id)):
            return self._process(delivery, kind, peeked)

    def _process(self, delivery: Delivery, kind: str, peeked: tuple[str | None, str | None, JsonValue]) -> Outcome:
        connector, host_id, version_raw = peeked
        if connector is not None:
            try:
                # The cheap deferral: while the connector's BC user's budget is known to be used up, or (new
                # work) already promised to messages deferred before, the message goes back before its
                # connector is read or its ledger claim taken.
                self._bc_clients.check_budget(connector, new_work=not delivery.deferred)
            except BudgetExhausted as err:
                return self._defer(_Subject(delivery, kind, connector, host_id, version_raw),
                                   err.retry_after or 1.0, err.code)
        try:
            envelope = parse_envelope(delivery.text, queue_type=kind)
        except MessageInvalid as err:
            return self._conclude(_Subject(delivery, kind, connector, host_id, version_raw,
                                           record=self._readable(connector)), err)
        subject = _Subject(delivery, kind, envelope.connector, host_id, envelope.version.raw, envelope.version,
                           None)
        try:
            record = self._connectors.get(envelope.connector)
        except SettingsInvalid as err:  # a stored document that no longer parses: nothing a retry can fix
            return self._conclude(subject, ExportFailed(
                "SettingsInvalid", f"The stored settings of connector '{envelope.connector}' cannot be read "
                f"({err}); save the connector again.", "connector"))
        subject = replace(subject, record=record)
        if record is None:
            return self._conclude(subject, ExportFailed(
                "ConnectorUnknown", f"There is no connector named '{envelope.connector}'. Create it with PUT "
                f"/api/connectors/{envelope.connector}, then send the message again.", "connector"))
        if record.status in _PARKING_STATUSES:
            return self._park(subject, f"Connector '{record.name}' is {record.status}; the message waits until it "
                                       "is reconnected.")
        if record.status == "disabled":
            return self._conclude(subject, ExportFailed(
                "ConnectorDisabled", f"Connector '{record.name}' is disabled; enable it and replay the message.",
                "connector", replayable=True))
        settings = record.settings
        subject = replace(subject, settings=settings)
        attr, setting = _ENABLED[kind]
        if not getattr(settings, attr):
            return self._conclude(subject, ExportFailed(
                "ExportDisabled", f"Connector '{record.name}' does not export {kind}s ({setting} is false). Enable "
                "it and replay the message.", setting, replayable=True))
        try:
            document = envelope.data if envelope.data_ref is None else self._claimed(envelope.data_ref)
            data = parse_data(kind, document)
        except (MessageInvalid, ExportFailed) as err:
            return self._conclude(subject, err)
        except Exception as exc:  # noqa: BLE001 - a storage error while reading the blob: _conclude decides
            return self._conclude(subject, exc)
        note(hostId=data.id)
        return self._export(replace(subject, host_id=data.id), record, settings, data)

    def _claimed(self, ref: DataRef) -> Mapping[str, JsonValue]:
        """The `data` object a claim check names: the blob's bytes, their SHA-256 checked (contract §4)."""
        content = self._payloads.read(ref.blob, MAX_PAYLOAD_BYTES)
        if content is None:
            raise ExportFailed("PayloadMissing", f"Blob '{ref.blob}' is not in container {PAYLOAD_CONTAINER}. Upload "
                               "it (the data object as UTF-8 JSON) and replay the message.", "dataRef",
                               replayable=True)
        if len(content) > MAX_PAYLOAD_BYTES:
            raise MessageInvalid("dataRef", f"blob '{ref.blob}' is larger than {MAX_PAYLOAD_BYTES} bytes; "
                                            "split the entity")
        actual = hashlib.sha256(content).hexdigest()
        if actual != ref.sha256:
            raise ExportFailed("PayloadAltered", f"Blob '{ref.blob}' has SHA-256 {actual}, not {ref.sha256} as the "
                               "message says: it was changed or replaced after the message was sent. Upload the "
                               "blob the message was made for, or send a new message.", "dataRef", replayable=True)
        try:
            document = json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise MessageInvalid("dataRef", f"blob '{ref.blob}' is not UTF-8 JSON") from None
        if not isinstance(document, Mapping):
            raise MessageInvalid("dataRef", f"blob '{ref.blob}' must hold the data object, not "
                                            f"{json_type(document)}")
        return document

    def _readable(self, name: str | None) -> ConnectorRecord | None:
        """The connector a bad message names, for its notification's recipients, if it can be read."""
        try:
            return self._connectors.get(name) if name else None
        except SettingsInvalid:
            return None

    def _export(self, subject: _Subject, record: ConnectorRecord, settings: ConnectorSettings,
                data: CustomerData | ProjectData | ProductData | InvoiceData) -> Outcome:
        ctx = ExportContext(record=record, settings=settings, delivery=subject.delivery, version=subject.version,
                            ledger=self._ledger, lookups=self._lookups, clock=self._clock, options=self._options,
                            bc_clients=self._bc_clients)
        try:
            result = _EXPORTERS[subject.kind](ctx, data, version=subject.version)
        except Exception as exc:
            return self._conclude(subject, exc, ctx.warnings)
        sent = outcome(connector=record.name, kind=subject.kind, host_id=subject.host_id, version=subject.version_raw,
                       status=result.status, bc_id=result.bc_id, bc_number=result.bc_number,
                       attempts=subject.delivery.dequeue_count, at=self._clock.now(), warnings=ctx.warnings)
        self._outbox.send_outcome(sent)
        with log_scope(outcome=result.status):
            log.info("Export %s %s/%s: %s (BC %s)", subject.kind, record.name, subject.host_id, result.status,
                     result.bc_number or result.bc_id)
        return sent

    def _conclude(self, subject: _Subject, exc: BaseException, warnings: list[str] | None = None) -> Outcome:
        """THE translation of a failure into what happens to the message (see the module docstring)."""
        err = translate(exc)
        action = disposition(err).action
        if action == "failed" and isinstance(err, PermanentError):
            return self._failed(subject, err, warnings or [])
        if action == "parked" and isinstance(err, ReconnectRequired) and subject.record is not None:
            self._reconnects.report(subject.record.name, str(err))
            return self._park(subject, str(err))
        if isinstance(err, (BudgetExhausted, BcThrottledError)) and err.retry_after:
            return self._defer(subject, err.retry_after, err.code)
        with log_scope(errorCode=type(exc).__name__, **_bc_ids(err)):
            log.info("Export %s %s/%s: transient failure, the queue retries (attempt %d): %s: %s", subject.kind,
                     subject.connector, subject.host_id, subject.delivery.dequeue_count, type(exc).__name__, exc)
        raise exc

    def _defer(self, subject: _Subject, retry_after: float, reason: str) -> Outcome:
        """The BC user's budget is used up (or BC said 429): put the message back on its queue as a deferred
        copy (the same text, marked as returning work: `shared.messages.wrap_deferred`), visible when the budget
        opens again, and complete this delivery, so the worker moves on to other connectors' messages. No
        outcome (the message is not done). The new copy starts at dequeue count 1: a deferral is not an
        attempt (only failures count toward the poison queue). A duplicate delivery is harmless: the ledger
        makes it `unchanged`."""
        # The budget gives each refusal its own return time on the BC user's one schedule: keep it (to the
        # queue's whole seconds; a message back a little early waits for its opening in the budget). BC's
        # Retry-After is the same for every request it throttled: up to a second of jitter spreads those.
        if reason == BudgetExhausted.default_code:
            seconds = max(1, round(retry_after))
        else:
            seconds = max(1, math.ceil(retry_after + random.uniform(0, 1)))
        copy = wrap_deferred(subject.delivery.text, return_at=self._clock.now() + _dt.timedelta(seconds=seconds),
                             code=reason)
        self._requeue.send_text(subject.delivery.queue, copy, visibility_timeout=seconds)
        with log_scope(outcome="deferred", errorCode=reason, delaySeconds=seconds):
            log.info("Export %s %s/%s deferred %d s: the BC user's request budget is used up (%s)", subject.kind,
                     subject.connector, subject.host_id, seconds, reason)
        return {"status": "deferred", "connector": subject.connector, "type": subject.kind, "id": subject.host_id,
                "retryAfter": seconds}

    def _failed(self, subject: _Subject, err: PermanentError, warnings: list[str]) -> Outcome:
        now = self._clock.now()
        record = subject.record
        failed = err if isinstance(err, ExportFailed) else None
        if record is not None and not (failed and failed.recorded_for == (subject.kind, subject.host_id)):
            self._record_failure(subject, record, err)
        error = err.to_error()
        extra: dict[str, Any] = dict(err.details)
        if failed is not None and (failed.bc.id or failed.bc.number):
            extra["bc"] = {"id": failed.bc.id, "number": failed.bc.number}
        self._notifier.notify(_export_failed(subject, _recipients(record), error, now, extra))
        sent = outcome(connector=subject.connector, kind=subject.kind, host_id=subject.host_id,
                       version=subject.version_raw, status="failed", bc_id=failed.bc.id if failed else None,
                       bc_number=failed.bc.number if failed else None, error=error,
                       attempts=subject.delivery.dequeue_count, at=now, warnings=warnings)
        self._outbox.send_outcome(sent)
        with log_scope(outcome="failed", errorCode=str(error["code"]), **_bc_ids(err)):
            log.warning("Export %s %s/%s failed: %s %s (%s)", subject.kind, subject.connector, subject.host_id,
                        error["code"], error["field"], error["message"])
        return sent

    def _record_failure(self, subject: _Subject, record: ConnectorRecord, err: ConnectorError) -> None:
        moment = ledger_stamp(self._clock.now())
        error = {**err.to_error(), **({"details": dict(err.details)} if err.details else {})}
        fields: dict[str, object] = dict(
            status=FAILED, last_error=error, queue=subject.delivery.queue, message=subject.delivery.text,
            failed_at=moment, failed_version=subject.version.text if subject.version is not None else None,
            updated_at=moment)
        try:
            record_failure(self._ledger, EntityKey(record.name, subject.kind, subject.ledger_id), fields)
        except Exception as exc:  # noqa: BLE001 - the outcome and notification still go out
            log.warning("Could not record the failure of %s %s/%s in the ledger: %s", subject.kind, record.name,
                        subject.host_id, exc)

    def _park(self, subject: _Subject, reason: str) -> Outcome:
        assert subject.record is not None
        self._parking.park(subject.record.name, subject.delivery.queue, subject.delivery.text, reason)
        sent = outcome(connector=subject.record.name, kind=subject.kind, host_id=subject.host_id,
                       version=subject.version_raw, status="parked", error=ReconnectRequired(reason).to_error(),
                       attempts=subject.delivery.dequeue_count, at=self._clock.now())
        self._outbox.send_outcome(sent)
        with log_scope(outcome="parked"):
            log.warning("Export %s %s/%s parked: %s", subject.kind, subject.record.name, subject.host_id, reason)
        return sent

    # -- the poison queues ------------------------------------------------------------------------

    def process_poison(self, delivery: Delivery) -> Outcome:
        """Record the final failure of a message from a `-poison` queue (`delivery.queue`). Never calls BC.

        Nothing in the message's content can make it raise: when recording it as usual fails for any reason
        but storage being away, the last resort sends an outcome that holds nothing read from the text
        (connector and id null, the text's SHA-256 in the error) and logs why. Only a storage error of
        that last outcome itself is raised (the poison queue then delivers it again)."""
        try:
            return self._poison(delivery)
        except (TransientError, ConflictError):
            raise  # storage or a row race, not the content: the poison queue delivers it again
        except Exception:  # noqa: BLE001 - the last resort: content must never leave a message without outcome
            log.exception("Export: recording the message from %s failed; sending the last-resort outcome",
                          delivery.queue)
            return self._last_resort(delivery)

    def _last_resort(self, delivery: Delivery) -> Outcome:
        kind = QUEUE_TYPES[POISON_QUEUES[delivery.queue]]
        now = self._clock.now()
        digest = hashlib.sha256(delivery.text.encode("utf-8", "replace")).hexdigest()
        err = ExportFailed("RetriesExhausted", f"The queue gave up on a {kind} message that could not be read "
                           f"or recorded (SHA-256 of its text: {digest}); find it in the function logs by that "
                           "hash and send a corrected message.", None, details={"messageSha256": digest})
        self._notifier.notify(notification(
            connector=None, event="export_failed", severity="error", message=err.message, recipients=[],
            details={"type": kind, "id": None, "version": None, "code": err.code, "field": None,
                     "retryable": False, "queue": delivery.queue, "messageSha256": digest}, at=now))
        sent = outcome(connector=None, kind=kind, host_id=None, version=None, status="failed",
                       error=err.to_error(), at=now)
        self._outbox.send_outcome(sent)
        log.error("Export %s: message %s (SHA-256 %s) from %s ended with the last-resort outcome", kind,
                  delivery.message_id, digest, delivery.queue)
        return sent

    def _poison(self, delivery: Delivery) -> Outcome:
        queue = POISON_QUEUES[delivery.queue]
        kind = QUEUE_TYPES[queue]
        connector, host_id, version_raw = peek_identity(delivery.text)
        with log_scope(operation="poison", queue=delivery.queue, messageId=delivery.message_id,
                       attempt=delivery.dequeue_count, kind=kind, connector=_field(connector),
                       hostId=_field(host_id)):
            return self._process_poison(delivery, queue, kind, connector, host_id, version_raw)

    def _process_poison(self, delivery: Delivery, queue: str, kind: str, connector: str | None,
                        host_id: str | None, version_raw: JsonValue) -> Outcome:
        now = self._clock.now()
        record = self._readable(connector)
        row = self._ledger.get(connector, kind, host_id) if record is not None and connector and host_id else None
        version = _version(version_raw)
        bc_id, bc_number = (row.bc_id, row.bc_number) if row is not None else (None, None)
        if row is not None and row.status == SYNCED and version is not None and row.version == version.text:
            # The work was done (e.g. only the outcome could not be sent): say so rather than "failed".
            sent = outcome(connector=connector, kind=kind, host_id=host_id, version=version_raw, status="unchanged",
                           bc_id=bc_id, bc_number=bc_number, attempts=row.attempts or None, at=now)
            self._outbox.send_outcome(sent)
            with log_scope(outcome="unchanged"):
                log.info("Export %s %s/%s: in %s, but already exported at this version; outcome unchanged", kind,
                         connector, host_id, delivery.queue)
            return sent
        attempts = row.attempts if row is not None and row.attempts else None
        err = exhausted_error(connector, attempts, row.last_error if row is not None else None)
        subject = _Subject(replace(delivery, queue=queue), kind, connector, host_id, version_raw, version, record)
        if record is not None:
            self._record_failure(subject, record, err)
        self._notifier.notify(_export_failed(subject, _recipients(record), err.to_error(), now,
                                             {"queue": delivery.queue}))
        sent = outcome(connector=connector, kind=kind, host_id=host_id, version=version_raw, status="failed",
                       bc_id=bc_id, bc_number=bc_number, error=err.to_error(), attempts=attempts, at=now)
        self._outbox.send_outcome(sent)
        with log_scope(outcome="failed", errorCode=str(err.to_error()["code"])):
            log.error("Export %s %s/%s: moved to %s after %s attempts", kind, connector, host_id, delivery.queue,
                      attempts or "repeated")
        return sent

    # -- replay -----------------------------------------------------------------------------------

    def list_failed(self, connector: str) -> list[tuple[str, str]]:
        """See `FailedMessages.list_failed`."""
        return FailedMessages(self._ledger).list_failed(connector)


class FailedMessages:
    """The permanently failed messages of a connector that a replay may send again (the ledger keeps them)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    def list_failed(self, connector: str) -> list[tuple[str, str]]:
        """(queue name, original message text) of every permanently failed message of `connector`, oldest
        failure first, for `POST /connectors/{name}/replay` to put back on its queue. Messages refused for
        their own content (`InvalidMessage`: bad JSON, a missing or too long field; `NegativeInvoiceTotal`) are left out: the same
        text would fail the same way; the host has to send a corrected message."""
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        for row in self._ledger.list_failed(connector):
            if not row.queue or row.message is None:
                continue
            if (row.last_error or {}).get("code") in _CONTENT_CODES:
                continue  # the text itself is wrong: sending it again can only fail again (it stays in the ledger)
            item = (row.queue, row.message)
            if item not in seen:
                seen.add(item)
                out.append(item)
        return out


def _recipients(record: ConnectorRecord | None) -> list[str]:
    """Who hears of a failure: the connector's recipients (nobody when the connector is unknown)."""
    return list(record.settings.notification_recipients) if record is not None else []


def _export_failed(subject: _Subject, recipients: list[str], error: Mapping[str, Any], at: _dt.datetime,
                   extra: Mapping[str, Any]) -> dict[str, Any]:
    where = f" (field {error['field']})" if error.get("field") else ""
    what = f"{subject.kind} '{subject.host_id}'" if subject.host_id else f"a {subject.kind} message"
    return notification(
        connector=subject.connector, event="export_failed", severity="error",
        message=f"The {what} could not be exported to Business Central{where}: {error['message']}",
        recipients=recipients,
        details={"type": subject.kind, "id": subject.host_id, "version": subject.version_raw, "code": error["code"],
                 "field": error.get("field"), "retryable": error.get("retryable", False), **extra},
        at=at)


def _field(value: JsonValue) -> str | None:
    """A peeked identifier as a log field: only a short string (a bad message may hold anything there)."""
    return value[:200] if isinstance(value, str) else None


def _bc_ids(err: BaseException) -> dict[str, str]:
    """BC's ids of the failing call, from a tree error's details, as log fields for Microsoft support."""
    details = getattr(err, "details", None) or {}
    names = {"requestId": "bcRequestId", "correlationId": "correlationId", "clientRequestId": "clientRequestId"}
    return {field: str(details[key]) for key, field in names.items() if isinstance(details.get(key), str)}


def _version(raw: JsonValue) -> Version | None:
    try:
        return Version.parse(raw) if raw is not None else None
    except ValueError:
        return None
