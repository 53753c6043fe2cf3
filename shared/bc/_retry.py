"""Retrying as one immutable policy (urllib3 util/retry.py: "Each retry attempt will create a new Retry
object"): the client asks the policy what to do after each failed attempt and keeps no loop state of
its own besides the `RetryState` value the policy hands back.

What is retried, and why:
- Connection errors that prove the request never reached BC (DNS, refused, connect timeout): every
  method, since BC cannot have acted.
- 429, 502 and 503: every method. BC throttles (429) or reports its data plane or request queue
  unavailable (502, 503) before running the request , so even a POST is safe to resend.
- 504, read timeouts and connections dropped after sending: idempotent methods only (GET, PUT, DELETE,
  HEAD, OPTIONS). For POST/PATCH BC may have acted, so the caller gets `BcOutcomeUnknownError` and looks
  the record up by its key first, unless `retry_non_idempotent` says otherwise (tables
  `_policies.py` `TablesRetryPolicy.increment`; urllib3 does not retry POST by default).
- Never 401/403 or any other 4xx: the same request would fail the same way. (A 401 is resent once with
  a fresh token by the client's own 401 step, `BcClient._forget_token`, not by this policy.)

Waits: `Retry-After` is honoured (seconds or an HTTP date, `shared.adapters.http.parse_retry_after`); without it,
exponential backoff with full jitter. Waits inside one call add up to at most `max_wait` seconds;
a longer wait is the queue's job, so the error is raised with `retry_after` set instead.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from shared.adapters.http import parse_retry_after

__all__ = ["RetryPolicy", "RetryState", "DEFAULT_RETRY", "NO_RETRY", "parse_retry_after"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
#: Statuses BC sends before it runs a request, so resending is safe for every method.
_NOT_STARTED_STATUSES = frozenset({429, 502, 503})


@dataclass(frozen=True)
class RetryState:
    """Where one call stands: attempts made so far and seconds already waited."""

    attempt: int = 1
    waited: float = 0.0

    def after(self, delay: float) -> "RetryState":
        return RetryState(attempt=self.attempt + 1, waited=self.waited + delay)


@dataclass(frozen=True)
class RetryPolicy:
    """How the BC client retries. Immutable; derive variants with `dataclasses.replace(...)`."""

    #: Attempts in total, the first one included (1 = never retry).
    total: int = 4
    #: Backoff before attempt n+1 is uniform in [0, min(backoff_cap, backoff_base * 2**(n-1))].
    backoff_base: float = 1.0
    backoff_cap: float = 10.0
    #: Most seconds one call may spend waiting; longer waits are left to the queue's redelivery.
    max_wait: float = 30.0
    #: Statuses worth another attempt (504 only for idempotent methods, see the module docstring).
    status_forcelist: frozenset[int] = frozenset({429, 502, 503, 504})
    #: Resend POST/PATCH after a read timeout, a dropped connection or a 504 (BC may have acted!).
    retry_non_idempotent: bool = False
    #: Injected so tests do not wait and are not random.
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    random: Callable[[], float] = field(default=random.random, compare=False, repr=False)
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.total < 1:
            raise ValueError("RetryPolicy.total counts the first attempt too: it must be at least 1.")
        if self.backoff_base < 0 or self.backoff_cap < 0 or self.max_wait < 0:
            raise ValueError("RetryPolicy waits cannot be negative.")
        object.__setattr__(self, "status_forcelist", frozenset(self.status_forcelist))

    # -- decisions --------------------------------------------------------------------------------

    def is_retryable_status(self, method: str, status: int) -> bool:
        if status not in self.status_forcelist:
            return False
        return status in _NOT_STARTED_STATUSES or self._may_resend(method)

    def may_retry_after_sending(self, method: str) -> bool:
        """After a read timeout or a dropped connection: BC may have received the request."""
        return self._may_resend(method)

    def backoff(self, state: RetryState) -> float:
        """Full-jitter exponential backoff before the attempt after `state.attempt`."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (state.attempt - 1)))
        return ceiling * self.random()

    def delay(self, state: RetryState, retry_after: float | None) -> float:
        """The wait before the next attempt: BC's Retry-After when it gave one, else the backoff."""
        return max(0.0, retry_after) if retry_after is not None else self.backoff(state)

    def can_wait(self, state: RetryState, delay: float) -> bool:
        """True if another attempt is left and `delay` fits the time left for waiting in this call."""
        return state.attempt < self.total and state.waited + delay <= self.max_wait

    def wait(self, state: RetryState, delay: float) -> RetryState:
        """Sleep `delay` seconds and return the state for the next attempt."""
        if delay > 0:
            self.sleep(delay)
        return state.after(delay)

    def parse_retry_after(self, value: str | None) -> float | None:
        return parse_retry_after(value, now=self.clock())

    def _may_resend(self, method: str) -> bool:
        return method.upper() in IDEMPOTENT_METHODS or self.retry_non_idempotent


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(total=1)
