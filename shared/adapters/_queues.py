"""Queue helpers: the message text contract and creating queues on first use.

docs/contract.md §4: messages are UTF-8 JSON text because host.json sets `messageEncoding: none`, but
base64-encoded JSON is also accepted, since that is what the Functions default (`base64`) and many
producers (Azure Storage Explorer, older SDKs with TextBase64EncodePolicy) send.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.storage.queue import QueueClient

__all__ = ["decode_queue_text", "ensure_queue"]

log = logging.getLogger(__name__)

_created: set[tuple[str, str]] = set()
_created_lock = threading.Lock()


def decode_queue_text(raw: str | bytes) -> str:
    """Return the JSON text of a queue message, whether it arrived as plain text or base64.

    Text that is not base64 of JSON comes back unchanged (as text), so the message parser reports
    it as bad JSON with the right field and reason instead of this helper guessing.
    """
    if isinstance(raw, (bytes, bytearray)):
        text = bytes(raw).decode("utf-8-sig", errors="replace")
    else:
        text = raw[1:] if raw.startswith("\ufeff") else raw
    stripped = text.strip()
    if not stripped or stripped[0] in "{[":
        return text
    try:
        decoded = base64.b64decode(stripped, validate=True).decode("utf-8-sig")
    except (binascii.Error, ValueError):
        return text
    if decoded.lstrip()[:1] not in ("{", "["):
        return text
    try:
        json.loads(decoded)
    except ValueError:
        return text
    return decoded


def ensure_queue(queue: "QueueClient") -> "QueueClient":
    """Create `queue` if needed, once per process (the Functions host creates only trigger queues)."""
    from azure.core.exceptions import ResourceExistsError

    key = (queue.url.lower(), queue.queue_name)
    if key in _created:
        return queue
    with _created_lock:
        if key in _created:
            return queue
        try:
            queue.create_queue()
            log.info("Created queue %s", queue.queue_name)
        except ResourceExistsError:
            pass
        _created.add(key)
    return queue
