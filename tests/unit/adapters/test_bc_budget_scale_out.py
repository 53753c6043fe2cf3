"""The BC request budget's economy across instances (`shared/adapters/bc_budget.py`, in-memory rows): tokens
taken and not used go back to the budget, refusals of every instance share one return schedule, and a budget
known to be closed refuses at once without a storage call. Several `SharedBudget`s on one `MemoryRows` stand
for several instances; the contract suite (tests/integration/adapters) runs the same rows on Azurite."""

from __future__ import annotations

import datetime as _dt

import pytest

from shared.adapters.bc_budget import MAX_BLOCK, InMemoryRequestBudget, MemoryRows
from shared.bc import BudgetExhausted, BudgetLimits, budget_user
from tests._clock import T0, ManualClock

USER = budget_user("contoso.onmicrosoft.com", client_id="11111111-2222-4333-8444-555555555555")


def _instances(count: int, limits: BudgetLimits, clock: ManualClock):
    rows = MemoryRows()
    return [InMemoryRequestBudget(limits=limits, clock=clock, rows=rows, max_wait=0.0) for _ in range(count)]


def _refused_at(budget, clock: ManualClock) -> float:
    """The epoch second a refusal tells the caller to come back at."""
    with pytest.raises(BudgetExhausted) as refused:
        budget.acquire(USER)
    return clock.now().timestamp() + refused.value.retry_after


def test_tokens_an_instance_took_and_did_not_use_go_back_to_the_budget_when_it_goes_idle():
    clock = ManualClock()
    first, second, third = _instances(3, BudgetLimits(max_in_flight=5, requests_per_window=3, window_seconds=60),
                                      clock)
    running = first.acquire(USER)  # 1 token
    second_request = first.acquire(USER)  # one in flight, one waiting: 2 tokens for the next term, 1 used
    with pytest.raises(BudgetExhausted):
        second.acquire(USER)  # 3 of 3 granted

    second_request.release()
    running.release()  # idle: the unused token goes back with the slots

    assert third.acquire(USER) is not None


def test_tokens_that_lapsed_unused_go_back_to_the_budget_in_the_next_write():
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=5, requests_per_window=6, window_seconds=60)
    first, second = _instances(2, limits, clock)
    held = [first.acquire(USER), first.acquire(USER)]  # 1 + 2 tokens granted, 1 left in hand
    clock.advance(first.token_seconds + 0.01)  # the token in hand lapses unused

    held.append(first.acquire(USER))  # two in flight + this one: 3 more; the lapsed one goes back

    # Granted: 1 + 2 - 1 + 3 = 5 of 6 (without the give-back, 6: the other instance would be refused).
    assert second.acquire(USER) is not None
    with pytest.raises(BudgetExhausted):
        second.acquire(USER)


def test_two_instances_refused_while_the_window_is_closed_share_one_return_schedule():
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60)
    first, second = _instances(2, limits, clock)
    for _ in range(10):
        first.acquire(USER).release()

    returns = [_refused_at(budget, clock) for budget in (first, second, first, second, second, first)]

    # Every return time lies on one grid, one request-interval apart, from the opening on; no two the same
    # (each instance reserves its times in small blocks, so they need not be consecutive).
    opening = min(returns)
    steps = [(t - opening) / first.spacing for t in returns]
    assert all(abs(step - round(step)) < 1e-6 for step in steps), steps
    assert len({round(step) for step in steps}) == len(returns)
    assert opening >= T0.timestamp() + limits.window_seconds  # none before the budget opens


def test_a_budget_known_to_be_closed_refuses_a_check_at_once_without_a_storage_call():
    clock = ManualClock()
    [budget] = _instances(1, BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60), clock)
    for _ in range(10):
        budget.acquire(USER).release()
    first_return = _refused_at(budget, clock)  # looks at storage: closed; reserves return times
    calls = budget.stats.transactions

    with pytest.raises(BudgetExhausted) as refused:
        budget.check(USER, new_work=False)

    assert budget.stats.transactions == calls
    assert round(clock.now().timestamp() + refused.value.retry_after - first_return, 3) == round(budget.spacing, 3)


def test_a_check_of_a_budget_with_room_or_never_seen_lets_the_work_go_on():
    clock = ManualClock()
    [budget] = _instances(1, BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60), clock)
    budget.check(USER, new_work=False)  # never seen: nothing known, nothing asked of storage
    budget.acquire(USER).release()

    budget.check(USER, new_work=False)

    assert budget.stats.exhausted == 0


def test_a_request_is_refused_rather_than_held_when_the_rate_window_opens_only_after_two_request_intervals():
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=5, requests_per_window=600, window_seconds=60)
    rows = MemoryRows()
    first = InMemoryRequestBudget(limits=limits, clock=clock, rows=rows, max_wait=2.0)
    for _ in range(600):
        first.acquire(USER).release()
    clock.advance(first.grant_life - 1.0)  # the window opens in 1 s: within max_wait, beyond rate_wait
    other = InMemoryRequestBudget(limits=limits, clock=clock, rows=rows, max_wait=2.0)

    with pytest.raises(BudgetExhausted) as refused:
        other.acquire(USER)

    assert other.rate_wait < 1.0
    assert 0.9 <= refused.value.retry_after <= 1.1  # the first return time: the opening


def _two_waiting_for_the_next_openings():
    """A budget whose rate window admits 2 requests within `rate_wait` from now, and 2 threads of this
    process already waiting for them; (budget, clock, threads, permits)."""
    import threading
    import time

    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60)
    budget = InMemoryRequestBudget(limits=limits, clock=clock, max_wait=2.0)
    for _ in range(10):  # one grant a second
        budget.acquire(USER).release()
        clock.advance(1.0)
    clock.moment = T0 + _dt.timedelta(seconds=budget.grant_life - 0.5)  # the first grant ages out in 0.5 s
    permits: list = []
    threads = [threading.Thread(target=lambda: permits.append(budget.acquire(USER))) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(200):
        if budget._local(USER).rate_waiting == 2:
            break
        time.sleep(0.01)
    assert budget._local(USER).rate_waiting == 2
    return budget, clock, threads, permits


def _let_them_through(clock: ManualClock, threads, permits) -> None:
    clock.advance(2.0)
    for t in threads:
        t.join(timeout=5)
    assert len(permits) == 2


def test_a_request_is_refused_at_once_when_what_the_rate_window_opens_next_is_already_waited_for():
    budget, clock, threads, permits = _two_waiting_for_the_next_openings()

    with pytest.raises(BudgetExhausted) as refused:
        budget.acquire(USER)

    assert refused.value.retry_after >= 0.5  # a return time from the schedule, not a wait holding the thread
    _let_them_through(clock, threads, permits)


def test_a_check_refuses_work_whose_turn_at_the_next_openings_is_taken_by_requests_already_waiting():
    budget, clock, threads, permits = _two_waiting_for_the_next_openings()

    with pytest.raises(BudgetExhausted):
        budget.check(USER, new_work=False)

    _let_them_through(clock, threads, permits)



def test_a_refusal_takes_the_earliest_return_time_another_instance_reserved_and_did_not_need():
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60)
    first, second, third = _instances(3, limits, clock)
    running = first.acquire(USER)
    for _ in range(9):
        second.acquire(USER).release()  # the window is used up
    first_return = _refused_at(first, clock)  # first reserves a block of 2 return times, hands out 1
    second_return = _refused_at(second, clock)  # second's block comes after first's
    running.release()  # first goes idle: the return time it did not hand out goes back to the schedule

    third_return = _refused_at(third, clock)

    # The hole first left between the two blocks, not a time after the end of the schedule.
    assert second_return == pytest.approx(first_return + 2 * first.spacing, abs=0.002)
    assert third_return == pytest.approx(first_return + first.spacing, abs=0.002)


def _booked_schedule(clock: ManualClock):
    """Two instances of a budget whose window was used up at T0 and whose first instance then refused 4
    requests (their return times, one request-interval apart from the opening on); the clock just past the
    opening, so the window has room again. (first, second, handed-out return times)."""
    limits = BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60)
    first, second = _instances(2, limits, clock)
    for _ in range(10):
        first.acquire(USER).release()
    handed = [_refused_at(first, clock) for _ in range(4)]
    clock.moment = T0 + _dt.timedelta(seconds=first.grant_life + 0.01)  # the grants of T0 aged out: room
    return first, second, handed


def test_new_work_goes_behind_the_work_deferred_before_even_when_the_window_has_room():
    clock = ManualClock()
    first, _second, handed = _booked_schedule(clock)

    with pytest.raises(BudgetExhausted) as refused:
        first.check(USER, new_work=True)

    assert clock.now().timestamp() + refused.value.retry_after > max(handed) + 0.001


def test_deferred_work_coming_back_in_its_turn_is_let_through_to_the_budget():
    clock = ManualClock()
    first, _second, _handed = _booked_schedule(clock)

    first.check(USER, new_work=False)  # returns: `acquire` decides

    assert first.acquire(USER) is not None


def test_another_instance_learns_the_booked_schedule_in_one_look_and_defers_new_work_without_storage_calls():
    clock = ManualClock()
    first, second, handed = _booked_schedule(clock)
    second.acquire(USER).release()  # its first look: the schedule reaches past the request-interval
    writes = second.stats.writes

    returns = []
    for _ in range(2):
        with pytest.raises(BudgetExhausted) as refused:
            second.check(USER, new_work=True)
        returns.append(clock.now().timestamp() + refused.value.retry_after)

    assert second.stats.writes == writes + 1  # one look reserved a block of return times at the end
    assert min(returns) > max(handed) and returns == sorted(set(returns))


def test_new_work_goes_straight_to_the_budget_once_the_schedule_end_has_passed():
    clock = ManualClock()
    first, _second, handed = _booked_schedule(clock)
    # Past the last return time handed out and the rest of the block reserved with it.
    clock.moment = T0 + _dt.timedelta(seconds=max(handed) + (MAX_BLOCK + 1) * first.spacing - T0.timestamp())

    first.check(USER, new_work=True)

    assert first.acquire(USER) is not None


def test_an_instance_alone_in_the_row_refills_from_its_own_last_write_without_reading_the_row():
    clock = ManualClock()
    [budget] = _instances(1, BudgetLimits(max_in_flight=5, requests_per_window=100, window_seconds=60), clock)
    budget.acquire(USER).release()  # a refill, then the idle hand-back
    reads, writes = budget.stats.reads, budget.stats.writes

    budget.acquire(USER).release()

    assert (budget.stats.reads - reads, budget.stats.writes - writes) == (0, 2)


def test_a_copy_of_the_row_made_stale_by_another_instance_fails_its_write_and_the_row_is_read_again():
    clock = ManualClock()
    first, second = _instances(2, BudgetLimits(max_in_flight=1, requests_per_window=100, window_seconds=60), clock)
    first.acquire(USER).release()  # first's copy: nobody holds a slot
    held = second.acquire(USER)  # second takes the only slot after that copy was made

    with pytest.raises(BudgetExhausted):
        first.acquire(USER)  # decided on the copy, the write fails; read again, the slot is taken

    assert first.stats.conflicts == 1
    held.release()


def test_an_instance_whose_copy_shows_another_instance_active_reads_the_row_before_writing():
    clock = ManualClock()
    first, second = _instances(2, BudgetLimits(max_in_flight=5, requests_per_window=100, window_seconds=60), clock)
    held = first.acquire(USER)
    second.acquire(USER).release()  # second's copy of the row shows first holding a slot
    held.release()  # first hands its slot back: second's copy is stale now
    conflicts = second.stats.conflicts

    second.acquire(USER).release()

    assert second.stats.conflicts == conflicts  # read first, so no write was decided on the stale copy
