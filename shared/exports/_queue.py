"""From a queue trigger's `QueueMessage` to the use case, for the blueprints in `functions/`."""

from __future__ import annotations

import uuid
from typing import Any

from ._context import ExportDeps, export_deps
from ._export import Delivery, process_message
from ._poison import process_poison

__all__ = ["delivery_of", "handle_queue_message", "handle_poison_message"]


def delivery_of(queue: str, msg: Any) -> Delivery:
    """The message text (plain UTF-8 JSON, or base64 JSON: ARCHITECTURE §4), id and dequeue count."""
    from shared.adapters import decode_queue_text

    body = msg.get_body()
    text = decode_queue_text(body if body is not None else b"")
    # The host always gives an id; without one, each delivery must count as a different message, or two
    # of them could take over each other's ledger claim.
    message_id = getattr(msg, "id", None) or f"no-id-{uuid.uuid4().hex}"
    dequeue_count = getattr(msg, "dequeue_count", None) or 1
    return Delivery(queue=queue, text=text, message_id=str(message_id), dequeue_count=int(dequeue_count))


def _deps(deps: ExportDeps | None) -> ExportDeps:
    if deps is not None:
        return deps
    from shared.bootstrap import get_services

    return export_deps(get_services())


def handle_queue_message(queue: str, msg: Any, deps: ExportDeps | None = None) -> dict[str, Any]:
    """Export the message of a `bc-customers` / `bc-projects` / `bc-invoices` trigger."""
    return process_message(delivery_of(queue, msg), _deps(deps))


def handle_poison_message(poison_queue: str, msg: Any, deps: ExportDeps | None = None) -> dict[str, Any]:
    """Close out a message of a `-poison` queue."""
    return process_poison(delivery_of(poison_queue, msg), _deps(deps))
