"""At most 5 BC requests in flight per connector from one worker: BC processes 5 per user at once and
queues the rest (bc_api.md §4), so more would only wait in BC's queue, where they count against the
95-request queue limit and the 8-minute timeout.

The three export queues each run `batchSize + newBatchThreshold` messages at once (host.json), so
without this gate one instance could hold three times that many BC calls for one connector. Every BC
call of an export goes through `GatedClient`, which takes a slot for the duration of the call
(including the client's own short retry waits, which is back-pressure during throttling).
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from ._errors import GateBusy

__all__ = ["ConnectorGates", "GatedClient", "BC_CONCURRENCY_PER_USER"]

#: BC Online's concurrent requests per user (operational-limits-online.md).
BC_CONCURRENCY_PER_USER = 5


class ConnectorGates:
    """One semaphore per connector for the worker process."""

    def __init__(self, limit: int = BC_CONCURRENCY_PER_USER, *, acquire_timeout: float = 120.0) -> None:
        self.limit = limit
        self.acquire_timeout = acquire_timeout
        self._gates: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        #: Highest number of calls seen in flight at once, per connector (tests, benchmarks).
        self.peak: dict[str, int] = {}

    def _gate(self, connector: str) -> threading.BoundedSemaphore:
        with self._lock:
            gate = self._gates.get(connector)
            if gate is None:
                gate = self._gates[connector] = threading.BoundedSemaphore(self.limit)
            return gate

    def run(self, connector: str, call: Callable[[], Any]) -> Any:
        gate = self._gate(connector)
        if not gate.acquire(timeout=self.acquire_timeout):
            raise GateBusy(f"{self.limit} Business Central requests of connector '{connector}' have been in "
                           f"flight for over {self.acquire_timeout:.0f} s; the message is retried later.")
        with self._lock:
            count = self._in_flight.get(connector, 0) + 1
            self._in_flight[connector] = count
            self.peak[connector] = max(self.peak.get(connector, 0), count)
        try:
            return call()
        finally:
            with self._lock:
                self._in_flight[connector] -= 1
            gate.release()


class GatedClient:
    """A BcClient whose every request takes a slot of the connector's gate. `list_*` results are read
    to the end inside the slot (they are lazy on the client)."""

    _METHODS = frozenset({"get_entity", "create_entity", "update_entity", "delete_entity", "invoke_action",
                          "batch", "get_odata", "create_odata", "update_odata", "list_companies"})
    _LISTS = frozenset({"list_entities", "list_odata"})

    def __init__(self, client: Any, gates: ConnectorGates, connector: str) -> None:
        self._client = client
        self._gates = gates
        self._connector = connector

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._client, name)
        if name in self._METHODS:
            def gated(*args: Any, **kwargs: Any) -> Any:
                return self._gates.run(self._connector, lambda: target(*args, **kwargs))
            return gated
        if name in self._LISTS:
            def gated_list(*args: Any, **kwargs: Any) -> list[Any]:
                return self._gates.run(self._connector, lambda: list(target(*args, **kwargs)))
            return gated_list
        return target
