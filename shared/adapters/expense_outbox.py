"""The expense import's `Outbox` (`shared.expenses`): queue `bc-expenses`, one message per entry, and its
in-memory twin.

`send_many` returns only when every message of the page is on the queue, or raises: the caller saves the
cursor after it returns, so a page is never marked done before it was sent. The queue adapter sends a
page's messages concurrently: one send is one storage round trip, and a page holds up to a thousand.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Callable

from shared.jsontypes import JsonObject

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.storage.queue import QueueClient

__all__ = ["QueueOutbox", "InMemoryOutbox"]


class QueueOutbox:
    """Messages as plain UTF-8 JSON on a storage queue (docs/contract.md §4). Raises the first failed send's error."""

    def __init__(self, queue_client: "Callable[[], QueueClient]", *, concurrency: int = 8) -> None:
        self._queue_client = queue_client
        self._concurrency = concurrency

    def send_many(self, messages: list[JsonObject]) -> None:
        if not messages:
            return
        queue = self._queue_client()
        texts = [json.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in messages]
        if len(texts) == 1 or self._concurrency <= 1:
            for text in texts:
                queue.send_message(text)
            return
        with ThreadPoolExecutor(max_workers=min(self._concurrency, len(texts)),
                                thread_name_prefix="bc-expenses") as pool:
            # list() re-raises the first failure after every send has finished or failed.
            list(pool.map(queue.send_message, texts))


class InMemoryOutbox:
    """Keeps what was sent (or only counts it, `keep=False`, for benchmarks). `fail_after` simulates an
    outage: the send that would exceed that many messages raises ConnectionError, sending nothing of it."""

    def __init__(self, *, keep: bool = True, fail_after: int | None = None) -> None:
        self.messages: list[JsonObject] = []
        self.count = 0
        self.keep = keep
        self.fail_after = fail_after
        self.on_send: Callable[[list[JsonObject]], None] | None = None
        self._lock = threading.Lock()

    def send_many(self, messages: list[JsonObject]) -> None:
        with self._lock:
            if self.fail_after is not None and self.count + len(messages) > self.fail_after:
                raise ConnectionError("the bc-expenses queue is unreachable (simulated)")
            self.count += len(messages)
            if self.keep:
                self.messages.extend(json.loads(json.dumps(messages)))
        if self.on_send is not None:
            self.on_send(messages)

    @property
    def keys(self) -> list[str]:
        return [str(m["key"]) for m in self.messages]
