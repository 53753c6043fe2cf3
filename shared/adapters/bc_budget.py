"""The BC request budget of each BC user, shared by every instance: one ETag-guarded row per user in table
`BcBudgets` (PartitionKey = the hashed user key `shared.bc.budget_user`, RowKey `budget`, column `state`:
JSON). `TableRequestBudget` keeps it in Table Storage, `InMemoryRequestBudget` in a dict with the same
ETag semantics; both are `SharedBudget` over a different `_Rows` (one contract suite runs both).

The row holds
- `leases`: `{instance: [slots, until]}`: in-flight slots leased by each worker process, until an epoch
  time in ms. At most `max_in_flight` slots are leased at once across all instances.
- `grants`: `{bucket: requests}`: rate tokens handed out, by the time bucket they were granted in.
- `pausedUntil`: a 429 seen by any instance holds everyone off until then.
- `returnAt`: the user's one return schedule: the next free return time (epoch ms) for work refused while
  the budget is closed; `returnFree`: return times before it that were reserved and handed back unused
  (epoch ms, ascending, at most `_MAX_FREE`), taken first by later refusals.

**Few storage round trips.** A process does not go to storage for every BC request: it leases slots for a
short term (`lease_seconds`, renewed by every refill) and takes rate tokens for the demand of the next token
term (the requests waiting and those in flight, whose threads usually come back for another; at most
`max_batch`). A request that finds a leased slot free and a token in hand costs no storage call; a refill
is one read and one conditional write (more when another instance wrote first), or the write alone while
the row as this process last wrote it shows no other instance active (`_update`). When the process has
nothing in flight and nobody waiting, it hands its slots back at once (one write), so an idle instance
never holds a slot other instances need.

**Unused tokens go back.** Tokens a process took and did not use are given back to the bucket they were
granted in: on the idle hand-back (all tokens in hand), and, when they lapsed unused, in the next write the
process makes anyway. A token given back never paid for a request and never will (the process drops it
from its hand before the write), so subtracting it from its bucket keeps "requests sent from bucket b <=
grants[b]"; a write that fails only leaves the grant counted (the safe side). Without this a trickle of
lone requests left a batch of tokens counting against the window for a whole window.

**Sliding window.** Tokens granted in bucket b (width `window/240`) may be used only until
`token_seconds` (`window/120`) after they were granted, so every request they pay for reaches BC before
the bucket's end + `token_seconds` (+ a margin for the trip to BC). A bucket therefore counts against the
budget until `bucket end + token_seconds + margin + window` (`grant_life` after its start): no sliding
window at BC ever sees more than `requests_per_window` (clock skew between instances aside: Azure hosts
keep NTP time, milliseconds apart). The price is ~1.3 % of the rate at BC Online's 5 minutes (window +
bucket + token term + margin instead of window; ~2 % at a 30 s window).

**Dead workers.** A process that dies keeps its slots only until its lease ends: at most `lease_seconds`
(15 s by default) after its last refill. That is safe against BC's limits: a request it had sent is
either finished or still running in BC; if still running, BC sees at most one request more than 5 for
the rest of that request and *queues* it (up to 95 queued, for up to 8 minutes) rather than failing it,
and the queued request waits only for one of the 5 running ones to finish, far less than 8 minutes.
Unused tokens of a dead worker lapse with their bucket like any other grant. The same bound covers a live
instance whose only request runs longer than `lease_seconds` without a refill in between (a busy
instance refills every few requests): its slot may be leased again, BC then sees one more request than
5 and queues it.

**Budget exhausted.** When no slot can be had, `acquire` waits up to `max_wait` seconds for one (slots free
as requests end, within milliseconds). When no rate token can be had, it waits only if the window opens
within `rate_wait` (two request-intervals, at most `max_wait`), else raises `BudgetExhausted(retry_after=
seconds to the return time)` and the queue functions put the message back with that visibility delay: a
worker thread is not held while the budget's room comes one request at a time, so other BC users' messages
behind it keep flowing. The local state remembers the opening so the next requests of this process raise at
once, without a storage call (`check(user)` does the same for work that has not started yet, before its
connector read and ledger claim). Each refusal gets its own return time from the user's **one** schedule
(`returnAt`, shared by every instance): the write that finds the window closed also reserves a small block
of return times (`spacing` = `grant_life / requests_per_window` apart, never before the opening, at most
`MAX_SPREAD` ahead; the block grows while refusals come fast, up to `MAX_BLOCK`), and the process hands them
to its refusals, earliest first. So a backlog comes back at the pace the budget admits it, whatever the
number of instances, rather than all at the opening (or N times too fast with one schedule per instance),
where most of it would be refused again. Return times a process reserved and no longer needs (a look found
room for it, or it went idle) go back in that write: the tail of the schedule shrinks when they are its
end, else they are kept in `returnFree`, and a block reserved later takes the earliest free ones (not
before the opening, not past) before it extends `returnAt`. So refusals that reserve while the schedule has
holes (a message refused again when its opening was taken, say) fill the earliest of them instead of going
to the back of the schedule, and an opening reserved by one process and not needed is used by another's
refusal rather than passing unused. The schedule is advice on when to come back; it never admits a request
(slots and tokens alone do), so it cannot put more than the window at BC nor more than `max_in_flight` in
flight. No return time is both handed back and handed to a refusal: the writing thread takes the unused
times out of the hand before the write, and puts them back if the look found no room.

**New work goes behind.** Deferred work comes back marked as such (`shared.messages.wrap_deferred`), and
`check(user, new_work=True)` refuses new work while the schedule is booked past `rate_wait` (the row's
`returnAt`, as this process's last look saw it), with a return time at the schedule's end (or the earliest
hole): the room the budget admits until then is promised to the work deferred before. A BC user's work is
so taken in turn, and each new message of a flooding user costs a cheap deferral (return times in hand, a
look per block of them), not a connector read, a ledger claim and a look; the hosts get through a flood to
other users' messages behind it at the rate they can re-send messages. Work coming back (`new_work=False`)
is judged by the window alone, as before. The end of the schedule passes with the time it stands for, so
new work meets an open budget again as soon as the deferred work is due.
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
from shared.guarded import DEFAULT_ATTEMPTS, guarded_update
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
#: At most this many return times are reserved from a user's schedule in one write.
MAX_BLOCK = 8
#: At most this many of the rate window's next openings are remembered from a look.
_MAX_OPENINGS = 64
#: At most this many free return times (handed back before `returnAt`) are kept in the row.
_MAX_FREE = 64


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
    tokens_bucket: int = -1  # the bucket the tokens in hand were granted in (to give unused ones back)
    in_flight: int = 0
    waiters: int = 0
    refilling: bool = False
    closed_until: float = 0.0  # no room before this (cached opening)
    next_look: float = 0.0  # (monotonic) a busy instance at its share asks storage for more not before
    paused_until: float = 0.0
    # Return times reserved from the user's one return schedule (row column `returnAt`), handed to refusals:
    returns: list[float] = field(default_factory=list)  # epoch seconds, ascending
    block: int = 2  # return times to reserve at once (doubles while refusals come fast, halves when left over)
    block_taken: float = 0.0  # (monotonic) when the block in hand was reserved
    # The rate window's next openings, as the last look found them closed:
    rate_known_until: float = 0.0  # epoch seconds: the knowledge is good until then
    rate_openings: tuple[float, ...] = ()  # when the window admits its next requests (epoch s, one per request)
    rate_waiting: int = 0  # this process's requests waiting for them
    schedule_end: float = 0.0  # epoch seconds: the end of the user's return schedule (`returnAt`), last look


@dataclass
class _Refill:
    held: int
    lease_until: float
    tokens: int
    tokens_until: float
    tokens_bucket: int
    opening: float  # epoch seconds when room opens again (0: room now)
    paused_until: float
    rate_closed: bool  # no token for us: the rate window is used up, or BC's Retry-After holds
    soon: int  # then: requests the window admits within `rate_wait` (grants aging out by then)
    openings: tuple[float, ...] = ()  # ... and when, within `2 * rate_wait` (one entry per request, at most 64)
    returns: tuple[float, ...] = ()  # return times reserved (epoch seconds, ascending)
    return_at: float = 0.0  # the end of the user's return schedule after the write (epoch seconds; 0: none)


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
        self._seen: dict[str, tuple[JsonObject, str]] = {}  # each user's row as this process last read or wrote it
        window = self.limits.window_seconds
        self.bucket_seconds = window / 240
        self.token_seconds = window / 120
        #: How long a grant counts against the budget (see "Sliding window").
        self.grant_life = self.bucket_seconds + self.token_seconds + TRIP_MARGIN + window
        #: The pace the budget admits requests at in the long run: one return time per `spacing`.
        self.spacing = self.grant_life / self.limits.requests_per_window
        #: How long a request waits for the rate window to open (two request-intervals, at most `max_wait`):
        #: beyond that it is refused with a return time, so a worker thread is not held while the budget's
        #: room comes one request at a time and other BC users' work waits behind it.
        self.rate_wait = min(self.max_wait, max(0.1, 2 * self.spacing))

    # -- the port ---------------------------------------------------------------------------------

    def acquire(self, user: str) -> Permit:
        local = self._local(user)
        deadline = self.clock.monotonic() + self.max_wait
        in_turn = False  # this thread waits for the rate window's next opening (counted in rate_waiting)
        waited = False  # ... or did: it keeps its turn over requests that came later
        with local.cond:
            local.waiters += 1
            try:
                while True:
                    if in_turn:
                        local.rate_waiting -= 1
                        in_turn, waited = False, True
                    now = self._now()
                    if self._room(local, now):
                        local.in_flight += 1
                        local.tokens -= 1
                        self.stats.permits += 1
                        return _Permit(self, user)
                    closed = max(local.closed_until, local.paused_until)
                    if closed > now:
                        if closed - now <= self.rate_wait and self.clock.monotonic() + (closed - now) <= deadline:
                            local.cond.wait(max(0.01, closed - now))
                            continue
                        self._drop_past_returns(local)
                        if local.returns:
                            self._refuse(local, closed - now, scheduled=True)
                        # No return time in hand: the refill below reserves some (and sees whether the budget
                        # opened meanwhile, e.g. another instance gave tokens back).
                    elif not waited and self._spoken_for(local, now):
                        self._refuse_in_turn(local, user)
                        continue  # the look found room after all
                    has_tokens = local.tokens > 0 and local.tokens_until > now
                    busy = 0 < local.held <= local.in_flight and local.lease_until > now
                    at_share = local.held >= self.limits.max_in_flight or self.clock.monotonic() < local.next_look
                    if local.refilling or (closed <= now and busy and has_tokens and at_share):
                        # Another thread is at storage, or all of the user's slots are ours and busy: wait
                        # for a release here, without a storage call.
                        local.cond.wait(0.05)
                        if self.clock.monotonic() > deadline + 30:
                            self._refuse(local, 1.0)
                        continue
                    refill = self._refill_locked(local, user, want_slots=min(
                        self.limits.max_in_flight, local.in_flight + local.waiters))
                    now = self._now()
                    if self._room(local, now):
                        continue
                    has_tokens = local.tokens > 0 and local.tokens_until > now
                    if 0 < local.held <= local.in_flight and local.lease_until > now and has_tokens:
                        # Our share of the slots is busy: wait for one of our own requests to end (a
                        # release wakes us); look at storage for a larger share again only in a while.
                        local.next_look = self.clock.monotonic() + 0.25
                        local.cond.wait(0.5)
                        if self.clock.monotonic() > deadline + 30:
                            self._refuse(local, 1.0)
                        continue
                    opening = max(refill.opening, now + 0.05)
                    if refill.rate_closed:
                        if opening - now > self.rate_wait:
                            local.closed_until = opening
                            self._refuse(local, opening - now, scheduled=True)
                        if self.clock.monotonic() + (opening - now) > deadline or \
                                local.rate_waiting >= max(1, refill.soon):
                            # What opens next is already waited for by this process's earlier requests.
                            self._refuse_in_turn(local, user)
                            continue
                        local.rate_waiting += 1
                        in_turn = True
                        local.cond.wait(max(0.01, opening - now))
                        continue
                    if self.clock.monotonic() + (opening - now) > deadline:
                        self._refuse(local, opening - now)
                    local.cond.wait(max(0.01, min(opening - now, self.max_wait)))
            finally:
                if in_turn:
                    local.rate_waiting -= 1
                local.waiters -= 1

    def check(self, user: str, *, new_work: bool) -> None:
        """Raise BudgetExhausted at once, with the next return time of the user's schedule, when the budget is
        known (from this process's last look) to stay closed for longer than `rate_wait`, or its next room is
        already waited for by this process's requests, or, for `new_work`, when the schedule is booked past
        `rate_wait`: work deferred before was promised the room until then, and new work goes behind it (in
        order within the BC user; and a flood of one user's messages costs the other users' messages behind
        it in the queue one cheap deferral each, not a connector read, a ledger claim and a look each). Else
        return. Costs no storage call while return times reserved earlier are in hand, one write when a block
        of them has to be reserved. For work that can be put back cheaply before it does anything (an export
        message before its connector read and ledger claim)."""
        with self._lock:
            local = self._users.get(user)
        if local is None:
            return
        deadline = self.clock.monotonic() + self.max_wait
        with local.cond:
            while local.refilling and self.clock.monotonic() < deadline:
                local.cond.wait(0.05)
            if local.refilling:
                return
            now = self._now()
            if new_work and local.schedule_end - now > self.rate_wait:
                self._drop_past_returns(local)
                if not local.returns:
                    self._probe(local, user, behind=True)
                    now = self._now()
                if local.schedule_end - now > self.rate_wait:  # still booked (the look reserved at its end)
                    # No return time in hand only when the schedule reaches `MAX_SPREAD` ahead: come back then.
                    self._refuse(local, 0.0 if local.returns else local.schedule_end - now, scheduled=True)
            closed = max(local.closed_until, local.paused_until)
            if closed - now > self.rate_wait:
                self._drop_past_returns(local)
                if not local.returns:
                    self._probe(local, user)
                    now = self._now()
                    closed = max(local.closed_until, local.paused_until)
                    if closed - now <= self.rate_wait:
                        return
                self._refuse(local, closed - now, scheduled=True)
            if self._spoken_for(local, now):
                self._refuse_in_turn(local, user)

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
            self._update(user, decide)
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

    @staticmethod
    def _room(local: _Local, now: float) -> bool:
        return local.in_flight < local.held and local.lease_until > now and local.tokens > 0 \
            and local.tokens_until > now

    def _refill_locked(self, local: _Local, user: str, *, want_slots: int, probe: bool = False,
                       behind: bool = False) -> _Refill:
        """One look at storage for `want_slots` slots and, when this process has no usable token, tokens for
        the requests waiting (called holding local.cond, which is released for the storage call). Tokens in
        hand that can no longer be used (lapsed) go back to their bucket in the same write; so do the return
        times in hand when the look finds room (this process no longer needs them). When the look finds the rate window closed, it
        reserves a block of return times from the user's schedule (`probe`: only that, no tokens; `behind`: also
        when the schedule is booked, for new work)."""
        now = self._now()
        usable = local.tokens > 0 and local.tokens_until > now
        # The demand of the next token term: the requests waiting now, and those in flight, whose threads
        # usually come back for another. What goes unused goes back (below, and on the idle hand-back).
        want_tokens = 0 if usable or probe else min(self.max_batch, max(1, local.waiters + local.in_flight))
        give_back = None
        if local.tokens > 0 and not usable:
            give_back, local.tokens = (local.tokens_bucket, local.tokens), 0  # lapsed: never used from here on
        self._drop_past_returns(local)
        want_returns = 0 if local.returns else local.block
        # Return times in hand go back if this look finds room; out of the hand meanwhile, so no other thread
        # hands one to a refusal while the write frees it.
        unused, local.returns = local.returns, []
        local.refilling = True
        local.cond.release()
        kept = unused  # until the write says they went back
        try:
            refill = self._refill(user, want_slots, want_tokens, local.in_flight, give_back=give_back,
                                  want_returns=want_returns, unused=unused, probe=probe, behind=behind)
            if refill.opening == 0:
                kept = []
        finally:
            local.cond.acquire()
            local.refilling = False
            if kept:
                local.returns = sorted(set(local.returns) | set(kept))  # not given back: still ours
            local.cond.notify_all()
        self._apply(local, refill, gave_back=bool(unused) and not kept)
        if probe:
            local.closed_until = refill.opening if refill.opening - self._now() > self.rate_wait else 0.0
        return refill

    def _probe(self, local: _Local, user: str, *, behind: bool = False) -> _Refill:
        """A look that takes no token: it renews the slots held, learns the window and the schedule, and
        reserves a block of return times when the window is closed (or, `behind`, the schedule booked)."""
        return self._refill_locked(local, user, want_slots=min(self.limits.max_in_flight, local.held), probe=True,
                                   behind=behind)

    def _drop_past_returns(self, local: _Local) -> None:
        """Return times in hand that have passed are no use to a refusal (they are holes in the schedule now)."""
        now = self._now()
        if local.returns and local.returns[0] < now:
            local.returns = [t for t in local.returns if t >= now]

    def _spoken_for(self, local: _Local, now: float) -> bool:
        """The rate window opens soon, but what opens is already waited for by this process's requests."""
        if local.rate_known_until <= now:
            return False
        due = sum(1 for t in local.rate_openings if now < t <= now + self.rate_wait)
        return local.rate_waiting >= max(1, due)

    def _refuse_in_turn(self, local: _Local, user: str) -> None:
        """Refuse with the next return time of the schedule (reserving a block when none is in hand; called
        holding local.cond). Returns instead when that look finds the rate window open after all."""
        seconds = 0.0
        self._drop_past_returns(local)
        if not local.returns:
            refill = self._probe(local, user)
            if not refill.rate_closed:
                return
            seconds = max(0.0, refill.opening - self._now())
        self._refuse(local, seconds, scheduled=True)

    def _refuse(self, local: _Local, seconds: float, *, scheduled: bool = False) -> None:
        """Raise BudgetExhausted (called holding local.cond). While the budget is closed, each refusal gets the
        next return time reserved from the user's one schedule (one `spacing` apart across every instance,
        never before the opening, at most `MAX_SPREAD` ahead), so deferred work comes back at the pace the
        budget admits it instead of all at once."""
        self.stats.exhausted += 1
        now = self._now()
        if scheduled and local.returns:
            back = max(local.returns.pop(0), now + seconds)
            if not local.returns and self.clock.monotonic() - local.block_taken < 1.0:
                local.block = min(MAX_BLOCK, local.block * 2)  # refusals come fast: reserve more at once
            seconds = back - now
        seconds = min(seconds, MAX_SPREAD)
        seconds = max(seconds, 0.001)
        raise BudgetExhausted(
            f"The Business Central request budget of this BC user is used up for now; it opens again in "
            f"{math.ceil(seconds)} s.", retry_after=max(0.001, seconds))

    def _apply(self, local: _Local, refill: _Refill, *, gave_back: bool = False) -> None:
        local.held, local.lease_until = refill.held, refill.lease_until
        local.schedule_end = refill.return_at
        if refill.tokens:
            local.tokens, local.tokens_until, local.tokens_bucket = \
                refill.tokens, refill.tokens_until, refill.tokens_bucket
        local.paused_until = max(local.paused_until, refill.paused_until)
        if refill.rate_closed:
            # When the window admits its next requests, as far as this look saw (`2 * rate_wait` ahead).
            horizon = self._now() + 2 * self.rate_wait
            if len(refill.openings) >= _MAX_OPENINGS:
                horizon = min(horizon, refill.openings[-1])
            local.rate_openings, local.rate_known_until = refill.openings, horizon
        elif refill.tokens:
            local.rate_known_until = 0.0
        if refill.returns:
            local.returns = sorted(set(local.returns) | set(refill.returns))
            local.block_taken = self.clock.monotonic()
        elif gave_back and refill.opening == 0:
            # Room again: the return times left over were not needed (they went back in the write).
            local.block = max(1, local.block // 2)

    def _release(self, user: str) -> None:
        local = self._local(user)
        with local.cond:
            local.in_flight -= 1
            local.cond.notify_all()
            idle = local.in_flight == 0 and local.waiters == 0 and local.held > 0 and not local.refilling
            if not idle:
                return
            # Idle: hand the slots back at once, and the tokens in hand with them (valid or not).
            give_back = (local.tokens_bucket, local.tokens) if local.tokens > 0 else None
            local.tokens = 0
            unused, local.returns = local.returns, []  # and the return times in hand (holes if the write fails)
            local.refilling = True
        try:
            refill: _Refill | None = self._refill(user, 0, 0, 0, give_back=give_back, unused=unused)
        except Exception as exc:  # noqa: BLE001 - the lease then lapses on its own within lease_seconds
            log.warning("Could not hand BC budget slots back: %s", exc)
            refill = None
        with local.cond:
            local.refilling = False
            if refill is not None:
                if unused and refill.opening != 0:  # not given back (BC's Retry-After holds): still ours
                    local.returns = sorted(set(local.returns) | set(unused))
                self._apply(local, refill)
            local.cond.notify_all()

    def _update(self, user: str, decide: Callable[[tuple[JsonObject, str] | None],
                                                  tuple[JsonObject, str | None] | None],
                *, attempts: int = DEFAULT_ATTEMPTS) -> None:
        """`guarded_update` of the user's row, starting from the row as this process last read or wrote it:
        when no other instance wrote since, the conditional write succeeds without a read first (its ETag
        proves the copy current), so work that runs one request at a time pays one storage call per
        refill, not two. Only while the copy shows no other instance active: a copy that is stale costs a
        failed write before the loop reads the row again, which is what happens where instances share it.
        A decision of "nothing to write" made on the copy is made again on a fresh read: the copy may be
        stale, and a look must see the row as it is."""
        with self._lock:
            seen = self._seen.get(user)
        if seen is not None and self._others_active(seen[0]):
            seen = None  # other instances write this row too: the copy is likely stale, read first
        pending = [seen]

        def read() -> tuple[JsonObject, str] | None:
            known, pending[0] = pending[0], None
            return known if known is not None else self._read(user)

        def decide_on(current: tuple[JsonObject, str] | None) -> tuple[JsonObject, str | None] | None:
            change = decide(current)
            if change is None and seen is not None and current is seen:
                change = decide(self._read(user))
            return change

        guarded_update(read, decide_on, lambda change: self._write(user, *change), what="the BC budget",
                       attempts=attempts)

    def _others_active(self, state: JsonObject) -> bool:
        """Whether the row shows another instance holding slots or asking for them now."""
        now_ms = self._now() * 1000
        for column in ("leases", "wants"):
            entries = state.get(column)
            if isinstance(entries, dict):
                for owner, value in entries.items():
                    until = value[1] if isinstance(value, list) and len(value) == 2 else value
                    if owner != self.owner and isinstance(until, (int, float)) and until > now_ms:
                        return True
        return False

    def _read(self, user: str) -> tuple[JsonObject, str] | None:
        self.stats.reads += 1
        row = self.rows.read(user)
        with self._lock:
            if row is None:
                self._seen.pop(user, None)
            else:
                self._seen[user] = row
        return row

    def _write(self, user: str, state: JsonObject, etag: str | None) -> str:
        self.stats.writes += 1
        try:
            new_etag = self.rows.write(user, state, etag)
        except ConflictError:
            self.stats.conflicts += 1
            with self._lock:
                self._seen.pop(user, None)
            raise
        with self._lock:
            self._seen[user] = (state, new_etag)  # `decide` builds new dicts: this one is not changed later
        return new_etag

    def _refill(self, user: str, want_slots: int, want_tokens: int, in_flight: int, *,
                give_back: tuple[int, int] | None = None, want_returns: int = 0,
                unused: list[float] | None = None, probe: bool = False, behind: bool = False) -> _Refill:
        """One guarded update of the user's row: lease up to `want_slots` slots (renewing ours), take up to
        `want_tokens` tokens, give `give_back` = (bucket, tokens) back unused; when the rate window is closed
        for longer than `rate_wait` (or `probe`), or (`behind`: for new work) the return schedule is booked
        past `rate_wait`, reserve `want_returns` return times (the earliest free ones first); when there is
        room, give the return times `unused` (epoch s) back to the schedule. What we got and, if not enough,
        when room opens."""
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
            return_at_in = int(state.get("returnAt") or 0)  # type: ignore[call-overload]
            free_in = state.get("returnFree") if isinstance(state.get("returnFree"), list) else []
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
            life = self.grant_life
            grants = {b: int(n) for b, n in grants_in.items()  # type: ignore[union-attr]
                      if (int(b) * self.bucket_seconds + life) > now}
            if give_back is not None and str(give_back[0]) in grants:
                # Tokens this process took and will never use: they never reach BC, so their grant stops
                # counting now rather than a whole window later.
                left = grants[str(give_back[0])] - give_back[1]
                if left > 0:
                    grants[str(give_back[0])] = left
                else:
                    del grants[str(give_back[0])]
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
            rate_closed = (want_tokens or probe) and not tokens and (paused > now or used >= limits.requests_per_window)
            if rate_closed and used >= limits.requests_per_window:
                # The budget opens when its oldest grant ages out: a request may go then (waiting for
                # a whole batch to free would hold requests back that the budget already admits).
                oldest = min((int(b) * self.bucket_seconds + life for b in grants),
                             default=now + self.bucket_seconds)
                opening = max(opening, oldest)
            openings: list[float] = []
            if rate_closed and paused <= now:
                for b in sorted(grants, key=int):
                    at = int(b) * self.bucket_seconds + life
                    if at > now + 2 * self.rate_wait or len(openings) >= _MAX_OPENINGS:
                        break
                    openings.extend([at] * min(grants[b], _MAX_OPENINGS - len(openings)))
            soon = sum(1 for at in openings if at <= now + self.rate_wait)
            return_at = return_at_in if return_at_in > now_ms else 0
            free = sorted(int(t) for t in free_in if isinstance(t, (int, float)) and now_ms <= t < return_at)
            reserved: list[float] = []
            # New work while work deferred before is promised the room up to the schedule's end: it goes behind.
            booked = behind and return_at - now_ms > self.rate_wait * 1000
            if want_returns and (booked or (rate_closed and (probe or opening - now > self.rate_wait))):
                # The user's one return schedule: the earliest free return times handed back by others (not
                # before the opening: work returning then finds the room the budget admits), then the next
                # ones at its end, one `spacing` apart, never before the opening.
                taken = [t for t in free if t >= opening * 1000][:want_returns]
                free = [t for t in free if t not in taken]
                reserved = [t / 1000 for t in taken]
                start = max(return_at / 1000, opening)
                if len(reserved) < want_returns and start - now <= MAX_SPREAD:
                    more = want_returns - len(reserved)
                    reserved += [start + i * self.spacing for i in range(more)]
                    return_at = round((start + more * self.spacing) * 1000)
            elif unused and opening == 0:
                # Room for us: the return times we reserved and did not hand out are free for others' refusals.
                free = sorted(set(free) | {round(t * 1000) for t in unused if now_ms <= t * 1000 < return_at})
                while free and return_at - free[-1] <= self.spacing * 1000 + 1:
                    return_at = free.pop()  # the end of the schedule: it shrinks
            free = free[-_MAX_FREE:]
            result.append(_Refill(slots, until, tokens, now + self.token_seconds, bucket, opening, paused,
                                  bool(rate_closed), soon, tuple(openings), tuple(reserved), return_at / 1000))
            new_state: JsonObject = {"leases": leases, "grants": grants, "wants": wants,  # type: ignore[dict-item]
                                     "pausedUntil": state.get("pausedUntil") or 0, "returnAt": return_at}
            if free or free_in:
                new_state["returnFree"] = free  # type: ignore[assignment]
            old_state = {"leases": leases_in, "grants": grants_in, "wants": wants_in,
                         "pausedUntil": state.get("pausedUntil") or 0, "returnAt": return_at_in}
            if free_in:
                old_state["returnFree"] = free_in
            if new_state == old_state and etag is not None:
                return None  # nothing to change
            return new_state, etag

        try:
            self._update(user, decide, attempts=20)
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
