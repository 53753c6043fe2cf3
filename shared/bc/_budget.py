"""The request budget of a BC user, shared by every instance of the app (issue 13): the port the BC client's
gate step takes its permits from.

Business Central Online limits each *user* (for client credentials: the app's BC user in the tenant; for
delegated access: the person who consented) to 5 requests processed at once and 6,000 per sliding 5 minutes,
answering 429 beyond (docs/business-central.md §4). Every instance of the app, every kind of work (exports,
expense import, saves, look-ups) and every connector that runs as the same user draws from one budget, so
the key is the BC user (`budget_user(...)`), never the connector.

`acquire(user)` returns a `Permit` (release it when BC has answered) or raises `BudgetExhausted` with
`retry_after` = seconds until the budget's next opening, when that is further away than the caller should
block a worker for. The queue functions then put their message back with that visibility delay.
`check(user, new_work=...)` raises the same at once, without taking anything, when the budget is already known
to be closed, or (new work) when its room is already promised to work deferred before: new work queues
behind the deferred work of its BC user, so a flood of one user's messages costs other users' messages behind
it in the queue only a cheap deferral each.
`throttled(user, seconds)` tells the budget that BC answered 429 anyway: every instance holds off that long.

The adapter on Table Storage (with its in-memory twin) is `shared.adapters.bc_budget`; `UnlimitedBudget`
only counts (unit tests of the client, and tools that talk to the sandbox without limits).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from shared.errors import TransientError

__all__ = ["BudgetExhausted", "BudgetLimits", "Permit", "RequestBudget", "UnlimitedBudget", "budget_user"]


class BudgetExhausted(TransientError):
    """The BC user's budget has no room now; `retry_after` says when it opens again (seconds)."""

    default_code = "BudgetExhausted"


@dataclass(frozen=True)
class BudgetLimits:
    """One BC user's limits (app settings `BC_MAX_CONCURRENT_REQUESTS`, `BC_REQUESTS_PER_WINDOW`,
    `BC_RATE_WINDOW_SECONDS`; defaults: BC Online's published limits)."""

    max_in_flight: int = 5
    requests_per_window: int = 6000
    window_seconds: float = 300.0

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or self.requests_per_window < 1 or self.window_seconds <= 0:
            raise ValueError("BC budget limits must be positive (in flight >= 1, requests >= 1, window > 0).")


class Permit(Protocol):
    def release(self) -> None:
        """Give the in-flight slot back (BC has answered, or the request failed)."""
        ...


class RequestBudget(Protocol):
    def acquire(self, user: str) -> Permit:
        """A permit to send one request as `user`. Raises BudgetExhausted(retry_after) when the budget
        opens only later than a worker should wait."""
        ...

    def check(self, user: str, *, new_work: bool) -> None:
        """Raise BudgetExhausted(retry_after) at once when `user`'s budget is already known to be closed for
        longer than a worker should wait, or, for `new_work` (not deferred work coming back at the time it was
        promised), when the budget's next room is already promised to work deferred before it; else return
        (`acquire` decides). For work that can be put back before it costs anything (an export message before
        its connector read and ledger claim)."""
        ...

    def throttled(self, user: str, seconds: float) -> None:
        """BC answered 429 (or 503) with Retry-After `seconds`: hold every request of `user` off that long."""
        ...


def budget_user(tenant: str, *, client_id: str | None = None, user: str | None = None,
                connector: str | None = None) -> str:
    """The budget key of a BC user: app-only `app:{tenant}/{client id}`; delegated `user:{tenant}/{who
    consented}`, or `connector:{tenant}/{name}` while the consenting user is not known. Hashed (a key must
    not carry a person's name into storage keys or logs)."""
    tenant = (tenant or "").strip().lower()
    if client_id:
        raw = f"app:{tenant}/{client_id.strip().lower()}"
    elif user:
        raw = f"user:{tenant}/{user.strip().lower()}"
    else:
        raw = f"connector:{tenant}/{(connector or '').strip().lower()}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


class _Counted:
    def __init__(self, budget: "UnlimitedBudget", user: str) -> None:
        self._budget, self._user, self._done = budget, user, False

    def release(self) -> None:
        if not self._done:
            self._done = True
            self._budget._leave(self._user)


class UnlimitedBudget:
    """No limit: counts requests in flight per user (`peak`) and the 429 pauses it was told of."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.pauses: list[tuple[str, float]] = []

    def acquire(self, user: str) -> Permit:
        with self._lock:
            count = self._in_flight[user] = self._in_flight.get(user, 0) + 1
            self.peak[user] = max(self.peak.get(user, 0), count)
        return _Counted(self, user)

    def check(self, user: str, *, new_work: bool) -> None:
        return None

    def throttled(self, user: str, seconds: float) -> None:
        with self._lock:
            self.pauses.append((user, seconds))

    def _leave(self, user: str) -> None:
        with self._lock:
            self._in_flight[user] -= 1
