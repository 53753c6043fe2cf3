"""Sending to the contract's queues: plain UTF-8 JSON text (host.json sets `messageEncoding: none`),
the queue created on first use (the Functions host creates only trigger queues). `QueueSender` on Azure
Queue Storage and `InMemoryQueueSender` for use-case tests behave alike (one contract suite runs both).

    sender.send_json("bc-outcomes", outcome)          # json.dumps(..., ensure_ascii=False)
    sender.send_text("bc-invoices", original_text)    # a replay: the message exactly as it came
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Mapping

from shared.jsontypes import JsonValue

from ._errors import storage_errors
from ._queues import ensure_queue
from .names import CONTRACT_QUEUES

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.storage.queue import QueueServiceClient

__all__ = ["CONTRACT_QUEUES", "QueueSender", "InMemoryQueueSender", "to_json_text"]


def to_json_text(payload: Mapping[str, JsonValue]) -> str:
    """A message's text: UTF-8 JSON, non-ASCII characters kept as they are."""
    return json.dumps(payload, ensure_ascii=False)


def _check(queue: str, allowed: frozenset[str]) -> None:
    if queue not in allowed:
        raise ValueError(f"'{queue}' is not a queue of the contract")


class QueueSender:
    """Sends to the contract queues of one storage account. `queues` narrows or widens the allowed
    names (tests use names of their own)."""

    def __init__(self, service: "QueueServiceClient", *, queues: frozenset[str] = CONTRACT_QUEUES) -> None:
        self._service = service
        self._queues = queues

    def send_json(self, queue: str, payload: Mapping[str, JsonValue]) -> None:
        self.send_text(queue, to_json_text(payload))

    def send_text(self, queue: str, text: str, *, visibility_timeout: int | None = None) -> None:
        """Send `text`; with `visibility_timeout` (seconds) it becomes visible only then (a deferral)."""
        _check(queue, self._queues)
        with storage_errors(f"queue {queue}"):
            ensure_queue(self._service.get_queue_client(queue)).send_message(
                text, visibility_timeout=visibility_timeout)


class InMemoryQueueSender:
    """The same checks and text, kept in lists per queue (`texts(queue)`, `payloads(queue)`)."""

    def __init__(self, *, queues: frozenset[str] = CONTRACT_QUEUES) -> None:
        self._queues = queues
        self._sent: dict[str, list[str]] = {}
        #: The visibility delay each text was sent with (None: at once), per queue.
        self.delays: dict[str, list[int | None]] = {}
        self._lock = threading.Lock()

    def send_json(self, queue: str, payload: Mapping[str, JsonValue]) -> None:
        self.send_text(queue, to_json_text(payload))

    def send_text(self, queue: str, text: str, *, visibility_timeout: int | None = None) -> None:
        _check(queue, self._queues)
        text.encode("utf-8")  # as the SDK does: an unpaired surrogate cannot be sent
        with self._lock:
            self._sent.setdefault(queue, []).append(text)
            self.delays.setdefault(queue, []).append(visibility_timeout)

    def texts(self, queue: str) -> list[str]:
        with self._lock:
            return list(self._sent.get(queue, []))

    def payloads(self, queue: str) -> list[JsonValue]:
        return [json.loads(text) for text in self.texts(queue)]
