"""The gate step of the BC client: a request first takes a local slot (at most 5 in flight per BC user from
one worker process), then a permit of the BC user's budget shared by every instance (`RequestBudget`,
`shared.bc._budget`; the Table Storage adapter is `shared.adapters.bc_budget`). BC processes 5 requests per
user at once and queues the rest, so more would only wait in BC's queue, where they count against the
95-request queue limit and the 8-minute timeout (https://learn.microsoft.com/dynamics365/business-central/
dev-itpro/administration/operational-limits-online).

The three export queues each run `batchSize + newBatchThreshold` messages at once (host.json), so
without this gate one instance could hold three times that many BC calls for one connector. The gate is
a step of `BcClient._send`: every request of a client (each page of a `list_*`, each `$batch` call)
takes a slot for its duration, including the client's own short retry waits (back-pressure during
throttling). The key is the BC user the request runs as (`budget_user`), so connectors sharing a BC
user share its gate and budget. A budget with no room raises `BudgetExhausted` (a TransientError with
`retry_after`) instead of blocking; a 429 that arrives anyway is passed to the budget (`throttled`).
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, contextmanager
from typing import Iterator

from shared.errors import TransientError

from ._budget import RequestBudget, UnlimitedBudget

__all__ = ["ConnectorGates", "Gate", "GateBusy", "BC_CONCURRENCY_PER_USER"]

#: BC Online's concurrent requests per user (operational limits).
BC_CONCURRENCY_PER_USER = 5


class GateBusy(TransientError):
    """This worker already has its share of BC requests in flight for the connector, and they take long."""

    default_code = "GateBusy"


class ConnectorGates:
    """One semaphore per key (connector) for the worker process."""

    def __init__(self, limit: int = BC_CONCURRENCY_PER_USER, *, acquire_timeout: float = 120.0,
                 budget: RequestBudget | None = None) -> None:
        self.limit = limit
        #: The BC users' budgets shared by every instance (UnlimitedBudget: this process's gate only).
        self.budget: RequestBudget = budget if budget is not None else UnlimitedBudget()
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
        try:
            permit = self.budget.acquire(key)
        except BaseException:
            semaphore.release()
            raise
        with self._lock:
            count = self._in_flight.get(key, 0) + 1
            self._in_flight[key] = count
            self.peak[key] = max(self.peak.get(key, 0), count)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight[key] -= 1
            permit.release()
            semaphore.release()

    def check(self, key: str, *, new_work: bool) -> None:
        """Raises BudgetExhausted at once when `key`'s budget is known to be closed, or promised to deferred
        work ahead of `new_work` (see RequestBudget.check)."""
        self.budget.check(key, new_work=new_work)

    def throttled(self, key: str, seconds: float) -> None:
        """BC answered 429 anyway: the budget holds every instance's requests of `key` off `seconds`."""
        self.budget.throttled(key, seconds)


class Gate:
    """The slots of one key: what a `BcClient` holds."""

    def __init__(self, gates: ConnectorGates, key: str) -> None:
        self.gates = gates
        self.key = key

    def slot(self) -> AbstractContextManager[None]:
        return self.gates.slot(self.key)

    def throttled(self, seconds: float) -> None:
        self.gates.throttled(self.key, seconds)

    def __repr__(self) -> str:
        return f"Gate({self.key!r}, limit={self.gates.limit})"
