"""The BC request budget of each BC user, shared by every instance: one ETag-guarded row per user in table
`BcBudgets` (PartitionKey = the hashed user key `shared.bc.budget_user`, RowKey `budget`, column `state`:
JSON). `TableRequestBudget` keeps it in Table Storage, `InMemoryRequestBudget` in a dict with the same
ETag semantics; both are `SharedBudget` over a different `_Rows` (one contract suite runs both).

The row holds
- `leases`: `{instance: [slots, until]}`: in-flight slots leased by each worker process, until an epoch
  time in ms. At most `max_in_flight` slots are leased at once across all instances.
- `grants`: `{bucket: requests}`: rate tokens handed out, by the time bucket they were granted in.
- `pausedUntil`: a 429 seen by any instance holds everyone off until then.

**Few storage round trips.** A process does not go to storage for every BC request: it leases slots for a
short term (`lease_seconds`, renewed by every refill) and takes rate tokens in small batches (twice as
many as it has requests waiting or in flight, at most `max_batch`). A request that finds a leased slot free and
a token in hand costs no storage call; a refill is one read and one conditional write (more when another
instance wrote first). When the process has nothing in flight and nobody waiting, it hands its slots back
at once (one write), so an idle instance never holds a slot other instances need.

**Sliding window.** Tokens granted in bucket b (width `window/240`) may be used only until
`token_seconds` (`window/120`) after they were granted, so every request they pay for reaches BC before
the bucket's end + `token_seconds` (+ a margin for the trip to BC). A bucket therefore counts against the
budget until `bucket end + token_seconds + margin + window`: no sliding window at BC ever sees more than
`requests_per_window` (clock skew between instances aside: Azure hosts keep NTP time, milliseconds apart).
The price is ~1.3 % of the rate (window + bucket + token term + margin instead of window).

**Dead workers.** A process that dies keeps its slots only until its lease ends: at most `lease_seconds`
(15 s by default) after its last refill. That is safe against BC's limits: a request it had sent is
either finished or still running in BC; if still running, BC sees at most one request more than 5 for
the rest of that request and *queues* it (up to 95 queued, for up to 8 minutes) rather than failing it,
and the queued request waits only for one of the 5 running ones to finish, far less than 8 minutes.
Unused tokens of a dead worker lapse with their bucket like any other grant. The same bound covers a live
instance whose only request runs longer than `lease_seconds` without a refill in between (a busy
instance refills every few requests): its slot may be leased again, BC then sees one more request than
5 and queues it.

**Budget exhausted.** When neither a slot nor a token can be had, `acquire` waits if the next opening is
within `max_wait` seconds, else raises `BudgetExhausted(retry_after=seconds to the opening)` (the queue
functions put their message back with that visibility delay). The local state remembers the opening so
the next requests of this process raise at once, without a storage call, and spreads them: each refusal
gets the next free return time, one request-interval (`window / requests_per_window`) after the previous
one and never before the opening (at most `MAX_SPREAD` ahead), so a backlog returns at the pace the
budget admits it rather than all at the opening, where most of it would be refused again.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from shared.bc import BudgetExhausted, BudgetLimits, Permit
from shared.clock import SYSTEM_CLOCK, Clock
from shared.errors import ConflictError
from shared.guarded import guarded_update
from shared.jsontypes import JsonObject

from ._tables import LazyTable, row_etag, write_if_unchanged

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient

__all__ = ["SharedBudget", "TableRequestBudget", "InMemoryRequestBudget", "BudgetStats", "BUDGET_ROW"]

log = logging.getLogger(__name__)

BUDGET_ROW = "budget"
#: Seconds added to a grant's life for the trip from this process to BC.
TRIP_MARGIN = 0.25
#: Deferred requests are told to come back at most this far ahead (a backlog of 18,000 requests at BC
#: Online's 20 per second); beyond it they come back together and are spread again then.
MAX_SPREAD = 900.0


class _Rows(Protocol):
    def read(self, user: str) -> tuple[JsonObject, str] | None: ...

    def write(self, user: str, state: JsonObject, etag: str | None) -> str:
        """Create (etag None) or replace if unchanged; the new ETag. Raises ConflictError."""
        ...


@dataclass
class BudgetStats:
    """Storage calls and time spent coordinating (benchmarks, tests)."""

    reads: int = 0
    writes: int = 0
    conflicts: int = 0
    seconds: float = 0.0
    permits: int = 0
    exhausted: int = 0

    @property
    def transactions(self) -> int:
        return self.reads + self.writes


@dataclass
class _Local:
    """What this process holds of one user's budget."""

    cond: threading.Condition
    held: int = 0  # slots leased
    lease_until: float = 0.0
    tokens: int = 0
    tokens_until: float = 0.0
    in_flight: int = 0
    waiters: int = 0
    refilling: bool = False
    closed_until: float = 0.0  # no room before this (cached opening)
    return_at: float = 0.0  # the next free return time for a refused request (spreads deferrals)
    next_look: float = 0.0  # (monotonic) a busy instance at its share asks storage for more not before
    paused_until: float = 0.0


@dataclass
class _Refill:
    held: int
    lease_until: float
    tokens: int
    tokens_until: float
    opening: float  # epoch seconds when room opens again (0: room now)
    paused_until: float


class _Permit:
    def __init__(self, budget: "SharedBudget", user: str) -> None:
        self._budget, self._user, self._done = budget, user, False

    def release(self) -> None:
        if not self._done:
            self._done = True
            self._budget._release(self._user)


@dataclass
class SharedBudget:
    """See the module docstring. Thread-safe; one per worker process (the composition root builds it)."""

    rows: _Rows
    limits: BudgetLimits = field(default_factory=BudgetLimits)
    clock: Clock = SYSTEM_CLOCK
    lease_seconds: float = 15.0
    max_wait: float = 2.0
    max_batch: int = 10
    owner: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    stats: BudgetStats = field(default_factory=BudgetStats)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._users: dict[str, _Local] = {}
        window = self.limits.window_seconds
        self.bucket_seconds = window / 240
        self.token_seconds = window / 120

    # -- the port ---------------------------------------------------------------------------------

    def acquire(self, user: str) -> Permit:
        local = self._local(user)
        deadline = self.clock.monotonic() + self.max_wait
        with local.cond:
            local.waiters += 1
            try:
                while True:
                    now = self._now()
                    if local.in_flight < local.held and local.lease_until > now and local.tokens > 0 \
                            and local.tokens_until > now:
                        local.in_flight += 1
                        local.tokens -= 1
                        self.stats.permits += 1
                        return _Permit(self, user)
                    closed = max(local.closed_until, local.paused_until)
                    if closed > now:
                        self._wait_or_raise(local, closed - now, deadline)
                        continue
                    has_tokens = local.tokens > 0 and local.tokens_until > now
                    busy = 0 < local.held <= local.in_flight and local.lease_until > now
                    at_share = local.held >= self.limits.max_in_flight or self.clock.monotonic() < local.next_look
                    if local.refilling or (busy and has_tokens and at_share):
                        # Another thread is at storage, or all of the user's slots are ours and busy: wait
                        # for a release here, without a storage call.
                        local.cond.wait(0.05)
                        if self.clock.monotonic() > deadline + 30:
                            self._exhausted(local, 1.0)
                        continue
                    local.refilling = True
                    want_slots = min(self.limits.max_in_flight, local.in_flight + local.waiters)
                    want_tokens = 0 if local.tokens > 0 and local.tokens_until > now else \
                        min(self.max_batch, max(1, 2 * (local.in_flight + local.waiters)))
                    local.cond.release()
                    try:
                        refill = self._refill(user, want_slots, want_tokens, local.in_flight)
                    finally:
                        local.cond.acquire()
                        local.refilling = False
                        local.cond.notify_all()
                    self._apply(local, refill, want_tokens)
                    now = self._now()
                    has_tokens = local.tokens > 0 and local.tokens_until > now
                    if local.in_flight < local.held and local.lease_until > now and has_tokens:
                        continue
                    if 0 < local.held <= local.in_flight and local.lease_until > now and has_tokens:
                        # Our share of the slots is busy: wait for one of our own requests to end (a
                        # release wakes us); look at storage for a larger share again only in a while.
                        local.next_look = self.clock.monotonic() + 0.25
                        local.cond.wait(0.5)
                        if self.clock.monotonic() > deadline + 30:
                            self._exhausted(local, 1.0)
                        continue
                    opening = max(refill.opening, now + 0.05)
                    if opening - now > self.max_wait:
                        local.closed_until = opening
                    self._wait_or_raise(local, opening - now, deadline)
            finally:
                local.waiters -= 1

    def throttled(self, user: str, seconds: float) -> None:
        until = self._now() + max(0.0, seconds)
        local = self._local(user)
        with local.cond:
            local.paused_until = max(local.paused_until, until)

        def decide(current: tuple[JsonObject, str] | None) -> tuple[JsonObject, str | None] | None:
            state, etag = current if current is not None else ({}, None)
            if float(state.get("pausedUntil") or 0) >= until * 1000:  # type: ignore[arg-type]
                return None
            return {**state, "pausedUntil": round(until * 1000)}, etag

        try:
            guarded_update(lambda: self._read(user), decide, lambda change: self._write(user, *change),
                           what="the BC budget")
        except Exception as exc:  # noqa: BLE001 - the local pause still holds; the budget row is advice
            log.warning("Could not record BC's throttling in the budget row: %s", exc)

    # -- internals ----------------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _local(self, user: str) -> _Local:
        with self._lock:
            local = self._users.get(user)
            if local is None:
                local = self._users[user] = _Local(threading.Condition(threading.Lock()))
            return local

    def _wait_or_raise(self, local: _Local, seconds: float, deadline: float) -> None:
        """Called holding local.cond."""
        if self.clock.monotonic() + seconds > deadline:
            self._exhausted(local, seconds)
        local.cond.wait(max(0.01, min(seconds, self.max_wait)))

    def _exhausted(self, local: _Local, seconds: float) -> None:
        """Raise BudgetExhausted. While the rate window is closed, refusals are given return times one
        request-interval apart from the opening on (at most `MAX_SPREAD` ahead), so deferred messages come
        back at about the pace the budget admits them instead of all at once (called holding local.cond)."""
        self.stats.exhausted += 1
        now = self._now()
        if local.closed_until > now:
            spacing = self.limits.window_seconds / self.limits.requests_per_window
            back = max(now + seconds, local.return_at)
            if back - now <= MAX_SPREAD:
                local.return_at = back + spacing
            seconds = min(back - now, MAX_SPREAD)
        raise BudgetExhausted(
            f"The Business Central request budget of this BC user is used up for now; it opens again in "
            f"{math.ceil(seconds)} s.", retry_after=max(0.001, seconds))

    def _apply(self, local: _Local, refill: _Refill, want_tokens: int) -> None:
        local.held, local.lease_until = refill.held, refill.lease_until
        if local.tokens_until <= self._now():
            local.tokens = 0
        if refill.tokens:
            local.tokens += refill.tokens
            local.tokens_until = refill.tokens_until
        local.paused_until = max(local.paused_until, refill.paused_until)

    def _release(self, user: str) -> None:
        local = self._local(user)
        with local.cond:
            local.in_flight -= 1
            local.cond.notify_all()
            idle = local.in_flight == 0 and local.waiters == 0 and local.held > 0 and not local.refilling
            if idle:
                local.refilling = True
        if not idle:
            return
        try:
            refill = self._refill(user, 0, 0, 0)
        except Exception as exc:  # noqa: BLE001 - the lease then lapses on its own within lease_seconds
            log.warning("Could not hand BC budget slots back: %s", exc)
            refill = None
        with local.cond:
            local.refilling = False
            if refill is not None:
                self._apply(local, refill, 0)
            local.cond.notify_all()

    def _read(self, user: str) -> tuple[JsonObject, str] | None:
        self.stats.reads += 1
        return self.rows.read(user)

    def _write(self, user: str, state: JsonObject, etag: str | None) -> str:
        self.stats.writes += 1
        try:
            return self.rows.write(user, state, etag)
        except ConflictError:
            self.stats.conflicts += 1
            raise

    def _refill(self, user: str, want_slots: int, want_tokens: int, in_flight: int) -> _Refill:
        """One guarded update of the user's row: lease up to `want_slots` slots (renewing ours), take up to
        `want_tokens` tokens; what we got and, if not enough, when room opens."""
        started = self.clock.monotonic()
        limits, owner = self.limits, self.owner
        result: list[_Refill] = []

        def decide(current: tuple[JsonObject, str] | None) -> tuple[JsonObject, str | None] | None:
            result.clear()
            now = self._now()
            now_ms = now * 1000
            state, etag = current if current is not None else ({}, None)
            leases_in = state.get("leases") if isinstance(state.get("leases"), dict) else {}
            grants_in = state.get("grants") if isinstance(state.get("grants"), dict) else {}
            leases = {k: v for k, v in leases_in.items()  # type: ignore[union-attr]
                      if isinstance(v, list) and len(v) == 2 and float(v[1]) > now_ms and k != owner}
            others = sum(int(v[0]) for v in leases.values())
            wants_in = state.get("wants") if isinstance(state.get("wants"), dict) else {}
            wants = {k: v for k, v in wants_in.items()  # type: ignore[union-attr]
                     if isinstance(v, (int, float)) and v > now_ms and k != owner}
            paused = float(state.get("pausedUntil") or 0) / 1000  # type: ignore[arg-type]
            until = now + self.lease_seconds
            # Fair shares: the slots are split evenly between the instances that hold or want some; an
            # instance may use more than its share only while no other instance is short of its own.
            members = sorted(set(leases) | set(wants) | {owner})
            base, extra = divmod(limits.max_in_flight, len(members))
            share = {m: base + (1 if i < extra else 0) for i, m in enumerate(members)}
            unmet = sum(max(0, share[o] - (int(leases[o][0]) if o in leases else 0)) for o in wants)
            free = limits.max_in_flight - others
            # After a 429 nobody gets anything until BC's Retry-After has passed.
            slots = 0 if paused > now else max(0, min(want_slots, max(min(share[owner], free), free - unmet)))
            held = max(slots, in_flight)  # requests still running keep their slots until they end
            if held:
                leases[owner] = [held, round(until * 1000)]
            if want_slots > slots:
                # Renewed by every look while short; lapses soon after the instance stops asking.
                wants[owner] = round((now + min(2.0, self.lease_seconds)) * 1000)
            life = self.bucket_seconds + self.token_seconds + TRIP_MARGIN + limits.window_seconds
            grants = {b: int(n) for b, n in grants_in.items()  # type: ignore[union-attr]
                      if (int(b) * self.bucket_seconds + life) > now}
            used = sum(grants.values())
            tokens = 0 if paused > now else max(0, min(want_tokens, limits.requests_per_window - used))
            bucket = int(now // self.bucket_seconds)
            if tokens:
                grants[str(bucket)] = grants.get(str(bucket), 0) + tokens
            opening = 0.0
            if paused > now:
                opening = paused
            if want_slots and slots <= in_flight:
                # Fair shares move at the holders' next refill (every few requests): look again soon.
                opening = max(opening, now + min(0.5, self.lease_seconds))
            if want_tokens and not tokens:
                # The budget opens when its oldest grant ages out: a request may go then (waiting for
                # a whole batch to free would hold requests back that the budget already admits).
                oldest = min((int(b) * self.bucket_seconds + life for b in grants),
                             default=now + self.bucket_seconds)
                opening = max(opening, oldest)
            result.append(_Refill(slots, until, tokens, now + self.token_seconds, opening, paused))
            new_state: JsonObject = {"leases": leases, "grants": grants, "wants": wants,  # type: ignore[dict-item]
                                     "pausedUntil": state.get("pausedUntil") or 0}
            if new_state == {"leases": leases_in, "grants": grants_in, "wants": wants_in,
                             "pausedUntil": state.get("pausedUntil") or 0} and etag is not None:
                return None  # nothing to change
            return new_state, etag

        try:
            guarded_update(lambda: self._read(user), decide, lambda change: self._write(user, *change),
                           what="the BC budget", attempts=20)
        finally:
            self.stats.seconds += self.clock.monotonic() - started
        return result[0]


class _TableRows(LazyTable):
    """Rows of one table, read and written under their ETags."""

    def read(self, user: str) -> tuple[JsonObject, str] | None:
        from azure.core.exceptions import ResourceNotFoundError

        from ._errors import storage_errors

        with storage_errors("table BcBudgets"):
            try:
                row = self._table.get_entity(user, BUDGET_ROW)
            except ResourceNotFoundError:
                return None
        try:
            state = json.loads(row.get("state") or "{}")
        except ValueError:
            state = {}
        return (state if isinstance(state, dict) else {}), row_etag(row)

    def write(self, user: str, state: JsonObject, etag: str | None) -> str:
        return write_if_unchanged(self._table, {"PartitionKey": user, "RowKey": BUDGET_ROW,
                                                "state": json.dumps(state, separators=(",", ":"))},
                                  etag=etag, what="the BC budget row")


class _MemoryRows:
    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        self._etags = itertools.count(1)

    def read(self, user: str) -> tuple[JsonObject, str] | None:
        with self._lock:
            current = self._rows.get(user)
        return (json.loads(current[0]), current[1]) if current else None

    def write(self, user: str, state: JsonObject, etag: str | None) -> str:
        with self._lock:
            current = self._rows.get(user)
            if (current[1] if current else None) != etag:
                raise ConflictError("the BC budget row changed meanwhile.")
            new = f'W/"{next(self._etags)}"'
            self._rows[user] = (json.dumps(state), new)
            return new


def TableRequestBudget(table: "TableClient | Callable[[], TableClient]", *, limits: BudgetLimits,
                       clock: Clock = SYSTEM_CLOCK, **options: float) -> SharedBudget:
    """The budget on table `BcBudgets` (a TableClient, or a function that makes it on first use)."""
    return SharedBudget(_TableRows(table), limits=limits, clock=clock, **options)  # type: ignore[arg-type]


def InMemoryRequestBudget(*, limits: BudgetLimits, clock: Clock = SYSTEM_CLOCK, rows: _MemoryRows | None = None,
                          **options: float) -> SharedBudget:
    """The same budget on a dict; pass one `rows` to several budgets to stand for several instances."""
    return SharedBudget(rows if rows is not None else _MemoryRows(), limits=limits, clock=clock,
                        **options)  # type: ignore[arg-type]


MemoryRows = _MemoryRows
