"""At most 5 BC requests in flight per connector from one worker: BC processes 5 per user at once and
queues the rest, so more would only wait in BC's queue, where they count against the 95-request queue
limit and the 8-minute timeout (https://learn.microsoft.com/dynamics365/business-central/dev-itpro/
administration/operational-limits-online).

The three export queues each run `batchSize + newBatchThreshold` messages at once (host.json), so
without this gate one instance could hold three times that many BC calls for one connector. The gate is
a step of `BcClient._send`: every request of a client (each page of a `list_*`, each `$batch` call)
takes a slot for its duration, including the client's own short retry waits (back-pressure during
throttling). The key is the connector's name today.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, contextmanager
from typing import Iterator

from shared.errors import TransientError

__all__ = ["ConnectorGates", "Gate", "GateBusy", "BC_CONCURRENCY_PER_USER"]

#: BC Online's concurrent requests per user (operational limits).
BC_CONCURRENCY_PER_USER = 5


class GateBusy(TransientError):
    """This worker already has its share of BC requests in flight for the connector, and they take long."""

    default_code = "GateBusy"


class ConnectorGates:
    """One semaphore per key (connector) for the worker process."""

    def __init__(self, limit: int = BC_CONCURRENCY_PER_USER, *, acquire_timeout: float = 120.0) -> None:
        self.limit = limit
        self.acquire_timeout = acquire_timeout
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        #: Highest number of requests seen in flight at once, per key (tests, benchmarks).
        self.peak: dict[str, int] = {}

    def gate(self, key: str) -> "Gate":
        """The gate a BcClient for `key` takes its slots from."""
        return Gate(self, key)

    def _semaphore(self, key: str) -> threading.BoundedSemaphore:
        with self._lock:
            semaphore = self._gates.get(key)
            if semaphore is None:
                semaphore = self._gates[key] = threading.BoundedSemaphore(self.limit)
            return semaphore

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        """Hold one of `key`'s slots for the body. Raises GateBusy when none frees up in time."""
        semaphore = self._semaphore(key)
        if not semaphore.acquire(timeout=self.acquire_timeout):
            raise GateBusy(f"{self.limit} Business Central requests of connector '{key}' have been in "
                           f"flight for over {self.acquire_timeout:.0f} s; the message is retried later.")
        with self._lock:
            count = self._in_flight.get(key, 0) + 1
            self._in_flight[key] = count
            self.peak[key] = max(self.peak.get(key, 0), count)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1
            semaphore.release()


class Gate:
    """The slots of one key: what a `BcClient` holds."""

    def __init__(self, gates: ConnectorGates, key: str) -> None:
        self.gates = gates
        self.key = key

    def slot(self) -> AbstractContextManager[None]:
        return self.gates.slot(self.key)

    def __repr__(self) -> str:
        return f"Gate({self.key!r}, limit={self.gates.limit})"
