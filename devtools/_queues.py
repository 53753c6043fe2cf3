"""Queue triggers with the host's semantics (Storage extension 5.x), polling Azurite.

- Fetch up to ``batchSize`` messages; fetch again when the number in flight drops to ``newBatchThreshold``
  (so at most batchSize + newBatchThreshold run at once per function).
- Empty queue: back off from 100 ms, doubling up to ``maxPollingInterval``; a message written by one of
  this host's own output bindings wakes the listener at once.
- Success: output bindings are sent, then the message is deleted. Failure (an exception, or outputs that
  could not be sent): the message becomes visible again after ``visibilityTimeout``; once it has been
  dequeued ``maxDequeueCount`` times it is copied to ``<queue>-poison`` and deleted.
- A message that cannot be decoded with ``messageEncoding`` goes straight to the poison queue.

Not emulated: lease renewal (a message is leased for the function timeout), functionTimeout cancellation,
multiple instances.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from azure.functions.queue import QueueMessage

from devtools._config import QueueSettings
from devtools._invoke import FunctionInvoker
from devtools._storage import MessageDecodeError, QueueHub, send_outputs

__all__ = ["QueueListener", "QueueOutcome"]

log = logging.getLogger("devhost")

MIN_POLLING_INTERVAL = 0.1  # seconds; the host's minimum


@dataclass(frozen=True)
class QueueOutcome:
    """What the listener did with one message: ``succeeded``, ``retry`` (visible again later) or ``poisoned``."""

    function: str
    queue: str
    message_id: str
    dequeue_count: int
    outcome: str
    error: str | None = None


class QueueListener:
    """One queue-triggered function and the queue it listens to."""

    def __init__(self, invoker: FunctionInvoker, hub: QueueHub, settings: QueueSettings,
                 *, lease_seconds: int = 300) -> None:
        self.invoker = invoker
        self.hub = hub
        self.settings = settings
        self.lease_seconds = lease_seconds
        trig = invoker.trigger
        self.connection = getattr(trig, "connection", None)
        self.queue = hub.queue_name(trig.queue_name, "the queue trigger of %s" % invoker.name)
        self.poison_queue = self.queue + "-poison"
        self._client = hub.client(self.connection, self.queue)
        self._wake = hub.watcher(self.queue)
        self._pool = ThreadPoolExecutor(max_workers=settings.max_in_flight,
                                        thread_name_prefix="queue-%s" % invoker.name)
        self._cond = threading.Condition()
        self._in_flight = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- deterministic use (tests) ---------------------------------------------------------------

    def poll_once(self) -> list[QueueOutcome]:
        """Fetch one batch, process it (concurrently, as the host does) and wait for every message."""
        futures = [self._pool.submit(self._process, m) for m in self._receive()]
        return [f.result() for f in futures]

    # -- background use --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="listen-%s" % self.queue, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and let the messages in flight finish."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown(wait=True)  # at most max_in_flight submitted: all are running

    def _run(self) -> None:
        delay = MIN_POLLING_INTERVAL
        while not self._stop.is_set():
            with self._cond:
                while self._in_flight > self.settings.threshold and not self._stop.is_set():
                    self._cond.wait(0.5)
            if self._stop.is_set():
                return
            try:
                messages = self._receive()
            except Exception as exc:  # Azurite restarting, network: keep listening, like the host
                log.warning("Polling queue '%s' failed (%s: %s); trying again in %.1fs",
                            self.queue, type(exc).__name__, exc, delay)
                messages = []
            if messages:
                delay = MIN_POLLING_INTERVAL
                for m in messages:
                    with self._cond:
                        self._in_flight += 1
                    self._pool.submit(self._process, m).add_done_callback(self._done)
                continue
            if self._wake.wait(delay * random.uniform(0.8, 1.2)):
                self._wake.clear()
                delay = MIN_POLLING_INTERVAL
            else:
                delay = min(delay * 2, max(self.settings.max_polling_interval, MIN_POLLING_INTERVAL))

    def _done(self, _future: Future) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify_all()

    # -- one message -----------------------------------------------------------------------------

    def _receive(self) -> list[Any]:
        pages = self._client.receive_messages(messages_per_page=self.settings.batch_size,
                                              visibility_timeout=self.lease_seconds).by_page()
        return list(next(pages, []))  # one request: never page on (a released message would come back)

    def _process(self, m: Any) -> QueueOutcome:
        settings = self.settings
        describe = "queueTrigger '%s', message %s, attempt %d of %d" % (
            self.queue, m.id, m.dequeue_count, settings.max_dequeue_count)
        try:
            if m.dequeue_count > settings.max_dequeue_count:
                # Dequeued more often than allowed without completing (a crash mid-invocation): the host
                # moves it without calling the function again.
                self._poison(m, "it was dequeued %d times without completing" % m.dequeue_count)
                return self._outcome(m, "poisoned", "dequeue count exceeded")
            try:
                body = self.hub.decode(m.content)
            except MessageDecodeError as exc:
                log.error("Functions.%s: message %s on '%s': %s", self.invoker.name, m.id, self.queue, exc)
                self._poison(m, "it could not be decoded")
                return self._outcome(m, "poisoned", str(exc))
            msg = QueueMessage(id=m.id, body=body, dequeue_count=m.dequeue_count, pop_receipt=m.pop_receipt,
                               insertion_time=m.inserted_on, expiration_time=m.expires_on,
                               time_next_visible=m.next_visible_on)
            inv = self.invoker.invoke(msg)
            if inv.succeeded:
                try:
                    written = send_outputs(self.hub, self.invoker, inv)
                    if written:
                        describe += ", wrote " + ", ".join(written)
                except Exception as exc:
                    inv.succeeded, inv.error = False, exc
            self.invoker.log_result(inv, describe)
            if inv.succeeded:
                self._client.delete_message(m.id, m.pop_receipt)
                return self._outcome(m, "succeeded")
            error = "%s: %s" % (type(inv.error).__name__, inv.error)
            if m.dequeue_count >= settings.max_dequeue_count:
                self._poison(m, "it reached maxDequeueCount %d" % settings.max_dequeue_count)
                return self._outcome(m, "poisoned", error)
            self._client.update_message(m.id, m.pop_receipt, visibility_timeout=math.ceil(settings.visibility_timeout))
            return self._outcome(m, "retry", error)
        except Exception:  # storage trouble while completing: the lease runs out and the message returns
            log.exception("Queue '%s': could not complete message %s", self.queue, m.id)
            return self._outcome(m, "retry", "completing the message failed")

    def _poison(self, m: Any, why: str) -> None:
        log.warning("Message %s on '%s' moved to '%s': %s.", m.id, self.queue, self.poison_queue, why)
        self.hub.send_raw(self.connection, self.poison_queue, m.content)
        self._client.delete_message(m.id, m.pop_receipt)

    def _outcome(self, m: Any, outcome: str, error: str | None = None) -> QueueOutcome:
        return QueueOutcome(self.invoker.name, self.queue, m.id, m.dequeue_count, outcome, error)
