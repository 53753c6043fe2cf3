"""Queue trigger plumbing: the `Delivery` of a trigger's `QueueMessage` (text, id, dequeue count, and whether it
is the app's deferred copy of a message)."""

from __future__ import annotations

import uuid

import azure.functions as func

from shared.adapters import decode_queue_text
from shared.exports import Delivery

__all__ = ["delivery_of"]


def delivery_of(queue: str, msg: func.QueueMessage) -> Delivery:
    """The message text (plain UTF-8 JSON, or base64 JSON: docs/contract.md §4; the host's text of a deferred
    copy), id and dequeue count."""
    body = msg.get_body()
    text = decode_queue_text(body if body is not None else b"")
    # The host always gives an id; without one, each delivery must count as a different message, or two
    # of them could take over each other's ledger claim.
    message_id = getattr(msg, "id", None) or f"no-id-{uuid.uuid4().hex}"
    dequeue_count = getattr(msg, "dequeue_count", None) or 1
    return Delivery.received(queue, text, str(message_id), int(dequeue_count))
