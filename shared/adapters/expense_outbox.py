"""The expense import's `Outbox` (`shared.expenses`): queue `bc-expenses`, one message per entry, and its
in-memory twin.

`send_many` returns only when every message of the page is on the queue, or raises: the caller records the
page as done (markers, cursor) after it returns, so a page is never recorded before all of it was sent.
The queue adapter sends a page's messages concurrently, at most `concurrency` at a time: one send is one
storage request, a page holds up to a thousand messages, and against a storage account a few milliseconds
away the round trips, not the work, would bound sends made one after another. When a send fails, the
sends in flight finish, those not started are dropped, and the failure is raised: the page stays
unrecorded, the next run reads it again and sends all of it again, and the host drops the messages it
already has by `key` (docs/contract.md §4). What bounds the rate: benchmarks/README.md ("Expense import").
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Callable

from shared.jsontypes import JsonObject

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.storage.queue import QueueClient

__all__ = ["QueueOutbox", "InMemoryOutbox"]


class QueueOutbox:
    """Messages as plain UTF-8 JSON on a storage queue (docs/contract.md §4). Raises the first failed send's error."""

    def __init__(self, queue_client: "Callable[[], QueueClient]", *, concurrency: int = 16) -> None:
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
            sends = [pool.submit(queue.send_message, text) for text in texts]
            _, waiting = wait(sends, return_when=FIRST_EXCEPTION)
            for send in waiting:
                send.cancel()  # a send failed: the page is sent again whole, those not started are not needed
        # Leaving the pool waited for the sends in flight; raise the first failure in the page's order.
        for send in sends:
            if not send.cancelled() and send.exception() is not None:
                send.result()


class InMemoryOutbox:
    """Keeps what was sent (or only counts it, `keep=False`, for benchmarks). `fail_after` simulates an
    outage: the call that would exceed that many messages raises ConnectionError, sending nothing of it, or
    with `partial` the messages within the limit (as when some of a page's concurrent sends failed)."""

    def __init__(self, *, keep: bool = True, fail_after: int | None = None, partial: bool = False) -> None:
        self.messages: list[JsonObject] = []
        self.count = 0
        self.keep = keep
        self.fail_after = fail_after
        self.partial = partial
        self.on_send: Callable[[list[JsonObject]], None] | None = None
        self._lock = threading.Lock()

    def send_many(self, messages: list[JsonObject]) -> None:
        with self._lock:
            if self.fail_after is not None and self.count + len(messages) > self.fail_after:
                if self.partial:
                    self._keep(messages[:max(0, self.fail_after - self.count)])
                raise ConnectionError("the bc-expenses queue is unreachable (simulated)")
            self._keep(messages)
        if self.on_send is not None:
            self.on_send(messages)

    def _keep(self, messages: list[JsonObject]) -> None:
        self.count += len(messages)
        if self.keep:
            self.messages.extend(json.loads(json.dumps(messages)))

    @property
    def keys(self) -> list[str]:
        return [str(m["key"]) for m in self.messages]
