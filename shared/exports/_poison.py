"""The end of the line for a message the queue gave up on.

The host moves a message to `<queue>-poison` after `maxDequeueCount` failed deliveries (host.json). The
poison triggers call `ExportService.process_poison`, so nothing disappears silently: the ledger row
becomes `failed` with the original text (replayable with `POST /connectors/{name}/replay`), the outcome
says `failed` with the last error the attempts saw, and `export_failed` is notified. It never calls BC.
"""

from __future__ import annotations

from shared.jsontypes import JsonObject
from shared.messages import QUEUE_TYPES

from ._errors import ExportFailed

__all__ = ["POISON_QUEUES", "exhausted_error"]

#: Poison queue -> the queue its messages came from.
POISON_QUEUES = {f"{queue}-poison": queue for queue in QUEUE_TYPES}


def exhausted_error(connector: str | None, attempts: int | None, last: JsonObject | None) -> ExportFailed:
    """`RetriesExhausted`, with the last error the attempts recorded (replayable once the cause is fixed)."""
    last = last or {}
    tried = f"after {attempts} attempts" if attempts else "after repeated failed deliveries"
    reason = f": {last.get('message')}" if last.get("message") else \
        "; no attempt got far enough to record why (see the function logs)"
    field = last.get("field")
    return ExportFailed("RetriesExhausted", f"The queue gave up on this message {tried}{reason} Replay it with POST "
                        f"/api/connectors/{connector or '{name}'}/replay once the cause is fixed.",
                        field if isinstance(field, str) else None, replayable=True)
