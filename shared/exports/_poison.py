"""The end of the line for a message the queue gave up on, and the list of failed messages for replay.

The host moves a message to `<queue>-poison` after `maxDequeueCount` failed deliveries (host.json). The
poison triggers call `process_poison`, so nothing disappears silently: the ledger row becomes `failed`
with the original text (replayable with `POST /connectors/{name}/replay`), the outcome says `failed`
with the last error the attempts saw, and `export_failed` is notified. It never calls BC.
"""

from __future__ import annotations

import logging
from typing import Any

from shared.messages import QUEUE_TYPES, Version, peek_identity

from ._claim import iso
from ._context import ExportDeps
from ._export import Delivery, build_outcome, export_failed_notification, unkeyed_id
from ._ledger import FAILED, SYNCED, TableLedger
from ._run import record_failure

__all__ = ["process_poison", "list_failed_messages", "POISON_QUEUES"]

log = logging.getLogger(__name__)

#: Poison queue -> the queue its messages came from.
POISON_QUEUES = {f"{queue}-poison": queue for queue in QUEUE_TYPES}


def process_poison(delivery: Delivery, deps: ExportDeps) -> dict[str, Any]:
    """Record the final failure of a message from a `-poison` queue. `delivery.queue` is the poison queue."""
    queue = POISON_QUEUES[delivery.queue]
    kind = QUEUE_TYPES[queue]
    now = deps.now()
    connector, host_id, version_raw = peek_identity(delivery.text)
    record = deps.store.get(connector) if connector else None
    row = deps.ledger.get(connector, kind, host_id) if record is not None and host_id else None
    version = _version(version_raw)
    if row is not None and row.status == SYNCED and version is not None and row.version == version.text:
        # The work was done (e.g. only the outcome could not be sent): say so rather than "failed".
        outcome = build_outcome(connector, kind, host_id, version_raw, "unchanged", bc_id=row.bc_id,
                                bc_number=row.bc_number, attempts=row.attempts or None, at=now)
        deps.send_outcome(outcome)
        return outcome
    last = (row.last_error or {}) if row is not None else {}
    attempts = row.attempts if row is not None and row.attempts else None
    tried = f"after {attempts} attempts" if attempts else "after repeated failed deliveries"
    reason = f": {last.get('message')}" if last.get("message") else \
        "; no attempt got far enough to record why (see the function logs)"
    error = {"code": "RetriesExhausted",
             "message": f"The queue gave up on this message {tried}{reason} Replay it with POST "
                        f"/api/connectors/{connector or '{name}'}/replay once the cause is fixed.",
             "field": last.get("field"), "retryable": True}
    if record is not None:
        fields = dict(status=FAILED, last_error=error, queue=queue, message=delivery.text, failed_at=iso(now),
                      failed_version=version.text if version is not None else None, updated_at=iso(now))
        try:
            record_failure(deps.ledger, record.name, kind, host_id or unkeyed_id(delivery.text), fields)
        except Exception as exc:  # noqa: BLE001 - the outcome and notification still go out
            log.warning("Could not record the poisoned %s %s/%s in the ledger: %s", kind, connector, host_id, exc)
    recipients = list(record.settings.notification_recipients) \
        if record is not None else []
    deps.notify(export_failed_notification(connector, recipients, kind, host_id, version_raw, error, now,
                                           {"queue": delivery.queue}))
    outcome = build_outcome(connector, kind, host_id, version_raw, "failed",
                            bc_id=row.bc_id if row is not None else None,
                            bc_number=row.bc_number if row is not None else None, error=error,
                            attempts=attempts, at=now)
    deps.send_outcome(outcome)
    log.error("Export %s %s/%s: moved to %s %s", kind, connector, host_id, delivery.queue, tried)
    return outcome


def _version(raw: Any) -> Version | None:
    try:
        return Version.parse(raw) if raw is not None else None
    except ValueError:
        return None


def list_failed_messages(services_or_ledger: Any, connector: str) -> list[tuple[str, str]]:
    """(queue name, original message text) of every permanently failed message of `connector`, oldest
    failure first, for `POST /connectors/{name}/replay` to put back on its queue. Messages refused for
    their own content (`InvalidMessage`: bad JSON, a missing or too long field) are left out: the same
    text would fail the same way; the host has to send a corrected message.

    Accepts a `shared.bootstrap.Services` or a ledger (anything with `list_failed`).
    """
    ledger = services_or_ledger if hasattr(services_or_ledger, "list_failed") \
        else TableLedger(services_or_ledger.table("ledger"))
    seen: set[tuple[str, str]] = set()
    out: list[tuple[str, str]] = []
    for row in ledger.list_failed(connector):
        if not row.queue or row.message is None:
            continue
        if (row.last_error or {}).get("code") == "InvalidMessage":
            continue  # the text itself is wrong: sending it again can only fail again (it stays in the ledger)
        item = (row.queue, row.message)
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out
