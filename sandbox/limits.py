"""BC Online's per-user operational limits for OData/API requests (docs/business-central.md §4).

Per `Principal.limit_key` (a user, or a service principal, which "counts as one user"):
- rate: 6,000 requests per 5-minute sliding window; beyond it 429 `Application_TooManyRequests`;
- concurrency: 5 requests processed at once; further requests wait in a FIFO queue of at most 95
  (100 connections in all); beyond it 429;
- queue timeout: a request that waited longer than 8 minutes gets 503 with Retry-After.

Every number can be changed at runtime (`PUT /_sandbox/limits`), so tests can use tiny windows.

Inferred (not documented by Microsoft, docs/business-central.md §4 "Unconfirmed"):
- the 429 body text "Too many requests reached. Actual (n). Maximum (m)." comes from a book example for the
  connection limit; the sandbox uses the same wording for the rate limit;
- 429 carries a Retry-After (seconds until the oldest request leaves the window, or `retryAfterSeconds`);
- a `$batch` counts once toward the rate and once toward concurrency, whatever its size;
- a request counts toward the rate when it is admitted to the queue, even if it then times out.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Callable, Iterator

from contextlib import contextmanager

from sandbox.errors import BcApiError

__all__ = ["Limits", "LimitSettings", "DEFAULT_LIMITS"]


@dataclass(frozen=True)
class LimitSettings:
    """BC Online's documented values (operational-limits-online.md). JSON names are camelCase."""

    requestsPerWindow: int = 6000
    windowSeconds: float = 300.0
    maxConcurrent: int = 5
    maxQueue: int = 95
    queueTimeoutSeconds: float = 480.0
    #: Retry-After for a full queue (429) and a queue timeout (503); BC's value is undocumented.
    retryAfterSeconds: int = 5

    def updated(self, changes: dict) -> "LimitSettings":
        known = {f.name: f.type for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown limit setting(s): {', '.join(sorted(unknown))}; known: {', '.join(known)}")
        cleaned = {}
        for name, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number")
            cleaned[name] = int(value) if name in ("requestsPerWindow", "maxConcurrent", "maxQueue", "retryAfterSeconds") else float(value)
        new = replace(self, **cleaned)
        if new.maxConcurrent < 1 or new.windowSeconds <= 0:
            raise ValueError("maxConcurrent must be >= 1 and windowSeconds > 0")
        return new

    def to_json(self) -> dict:
        return asdict(self)


DEFAULT_LIMITS = LimitSettings()


class _Gate:
    """One principal's counters: its request window and its processing slots with a FIFO queue."""

    def __init__(self, lock: threading.Lock):
        self.window: collections.deque[float] = collections.deque()
        self.active = 0
        self.queue: collections.deque[object] = collections.deque()
        self.peak_active = 0
        self.condition = threading.Condition(lock)
        self.throttled = 0


class Limits:
    """Admission control for BC requests. `admit(key)` is a context manager around the processing."""

    def __init__(self, now: Callable[[], float], settings: LimitSettings = DEFAULT_LIMITS):
        self._now = now
        self._settings = settings
        self._lock = threading.Lock()
        self._gates: dict[str, _Gate] = {}

    @property
    def settings(self) -> LimitSettings:
        return self._settings

    def update(self, changes: dict) -> LimitSettings:
        with self._lock:
            self._settings = self._settings.updated(changes)
            for gate in self._gates.values():
                gate.condition.notify_all()  # a larger maxConcurrent may release waiters
            return self._settings

    def reset(self) -> None:
        with self._lock:
            self._settings = DEFAULT_LIMITS
            for gate in self._gates.values():
                gate.window.clear()
                gate.peak_active = gate.active
                gate.throttled = 0
                gate.condition.notify_all()

    def usage(self) -> dict:
        with self._lock:
            now = self._now()
            result = {}
            for key, gate in self._gates.items():
                self._trim(gate, now)
                result[key] = {
                    "inWindow": len(gate.window),
                    "active": gate.active,
                    "queued": len(gate.queue),
                    "peakActive": gate.peak_active,
                    "throttled": gate.throttled,
                }
            return result

    @contextmanager
    def admit(self, key: str) -> Iterator[None]:
        """Counts the request, waits for a processing slot, and releases it afterwards.

        Raises BcApiError 429 (rate or connection limit) or 503 (queued longer than the timeout).
        """
        self._enter(key)
        try:
            yield
        finally:
            self._leave(key)

    # -- internals ----------------------------------------------------------------------------------

    def _trim(self, gate: _Gate, now: float) -> None:
        horizon = now - self._settings.windowSeconds
        while gate.window and gate.window[0] <= horizon:
            gate.window.popleft()

    def _enter(self, key: str) -> None:
        with self._lock:
            gate = self._gates.get(key)
            if gate is None:
                gate = self._gates[key] = _Gate(self._lock)
            settings = self._settings
            now = self._now()
            self._trim(gate, now)
            if len(gate.window) >= settings.requestsPerWindow:
                gate.throttled += 1
                oldest = gate.window[0] if gate.window else now
                retry_after = max(1, math.ceil(oldest + settings.windowSeconds - now))
                raise _too_many(len(gate.window) + 1, settings.requestsPerWindow, retry_after)
            in_flight = gate.active + len(gate.queue)
            if gate.active >= settings.maxConcurrent and len(gate.queue) >= settings.maxQueue:
                gate.throttled += 1
                raise _too_many(in_flight + 1, settings.maxConcurrent + settings.maxQueue, settings.retryAfterSeconds)
            gate.window.append(now)
            if gate.active < settings.maxConcurrent and not gate.queue:
                self._take_slot(gate)
                return
            ticket = object()
            gate.queue.append(ticket)
            deadline = time.monotonic() + settings.queueTimeoutSeconds
            while not (gate.queue[0] is ticket and gate.active < self._settings.maxConcurrent):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    gate.queue.remove(ticket)
                    gate.throttled += 1
                    gate.condition.notify_all()
                    raise BcApiError(
                        503,
                        "ServiceUnavailable",
                        f"The request waited in the queue for more than {self._settings.queueTimeoutSeconds:g} "
                        "seconds and was not processed. Retry it later.",
                        headers={"Retry-After": str(self._settings.retryAfterSeconds)},
                    )
                gate.condition.wait(remaining)
            gate.queue.popleft()
            self._take_slot(gate)
            gate.condition.notify_all()  # the next in line may also fit

    @staticmethod
    def _take_slot(gate: _Gate) -> None:
        gate.active += 1
        gate.peak_active = max(gate.peak_active, gate.active)

    def _leave(self, key: str) -> None:
        with self._lock:
            gate = self._gates[key]
            gate.active -= 1
            gate.condition.notify_all()


def _too_many(actual: int, maximum: int, retry_after: int) -> BcApiError:
    return BcApiError(
        429,
        "Application_TooManyRequests",
        f"Too many requests reached. Actual ({actual}). Maximum ({maximum}).",
        headers={"Retry-After": str(retry_after)},
    )
