"""The BC request budget on Table Storage and its in-memory twin (`shared/adapters/bc_budget.py`): one suite
runs both. Several `SharedBudget`s on the same rows stand for several instances of the app."""

from __future__ import annotations

import threading
import time

import pytest

from shared.adapters import ensure_table
from shared.adapters.bc_budget import InMemoryRequestBudget, MemoryRows, SharedBudget, TableRequestBudget
from shared.bc import BudgetExhausted, BudgetLimits, budget_user
from shared.clock import SYSTEM_CLOCK
from tests._clock import ManualClock

pytestmark = pytest.mark.integration

USER = budget_user("contoso.onmicrosoft.com", client_id="11111111-2222-4333-8444-555555555555")
OTHER_USER = budget_user("fabrikam.onmicrosoft.com", client_id="11111111-2222-4333-8444-555555555555")


@pytest.fixture(params=["table", "memory"])
def instances(request):
    """`instances(limits, clock=..., **options)` -> a new instance's budget; all share one set of rows."""
    if request.param == "table":
        table = ensure_table(request.getfixturevalue("make_table_client")("BcBudgets"))
        yield lambda limits, clock=SYSTEM_CLOCK, **options: TableRequestBudget(table, limits=limits, clock=clock,
                                                                               **options)
    else:
        rows = MemoryRows()
        yield lambda limits, clock=SYSTEM_CLOCK, **options: InMemoryRequestBudget(limits=limits, clock=clock,
                                                                                  rows=rows, **options)


def _hammer(budgets: list[SharedBudget], threads_each: int, requests_each: int) -> tuple[int, int]:
    """Threads on every instance send requests of 5 ms; (peak in flight across instances, requests sent)."""
    lock = threading.Lock()
    state = {"in_flight": 0, "peak": 0, "sent": 0}

    def work(budget: SharedBudget) -> None:
        done = 0
        while done < requests_each:
            try:
                permit = budget.acquire(USER)
            except BudgetExhausted:
                time.sleep(0.02)
                continue
            with lock:
                state["in_flight"] += 1
                state["peak"] = max(state["peak"], state["in_flight"])
                state["sent"] += 1
            time.sleep(0.005)
            with lock:
                state["in_flight"] -= 1
            permit.release()
            done += 1

    threads = [threading.Thread(target=work, args=(b,)) for b in budgets for _ in range(threads_each)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return state["peak"], state["sent"]


def test_instances_sharing_a_bc_user_never_have_more_requests_in_flight_than_its_limit(instances):
    limits = BudgetLimits(max_in_flight=3, requests_per_window=10_000, window_seconds=300)
    budgets = [instances(limits, lease_seconds=2.0, max_wait=0.5) for _ in range(3)]

    peak, sent = _hammer(budgets, threads_each=4, requests_each=15)

    assert sent == 3 * 4 * 15
    assert peak <= 3


def test_a_steady_stream_costs_less_than_one_storage_transaction_per_request(instances):
    budget = instances(BudgetLimits(max_in_flight=5, requests_per_window=10_000, window_seconds=300))

    _, sent = _hammer([budget], threads_each=5, requests_each=40)

    assert sent == 200
    assert budget.stats.transactions < sent / 2, budget.stats


def test_a_dead_instances_slots_are_free_again_when_its_lease_ends(instances):
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=2, requests_per_window=1000, window_seconds=300)
    dead = instances(limits, clock=clock, lease_seconds=15.0, max_wait=0.0)
    alive = instances(limits, clock=clock, lease_seconds=15.0, max_wait=0.0)
    dead.acquire(USER), dead.acquire(USER)  # never released: the instance died holding them

    with pytest.raises(BudgetExhausted) as refused:
        alive.acquire(USER)
    assert 0 < refused.value.retry_after <= 15.0

    clock.advance(15.001)
    alive._local(USER).closed_until = 0.0  # the cached opening has passed on the fake clock too
    assert alive.acquire(USER) is not None


def test_an_idle_instance_hands_its_slots_back_at_once(instances):
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=2, requests_per_window=1000, window_seconds=300)
    first = instances(limits, clock=clock, lease_seconds=60.0, max_wait=0.0)
    second = instances(limits, clock=clock, lease_seconds=60.0, max_wait=0.0)
    permits = [first.acquire(USER), first.acquire(USER)]
    for permit in permits:
        permit.release()

    assert second.acquire(USER) is not None and second.acquire(USER) is not None


def _two_with_the_window_used_up_by_the_first(instances, clock: ManualClock) -> tuple[SharedBudget, SharedBudget]:
    """Two instances of a budget of 10 requests per 60 s on `clock`; the first has sent all 10."""
    limits = BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60)
    first = instances(limits, clock=clock, max_wait=0.0)
    second = instances(limits, clock=clock, max_wait=0.0)
    for _ in range(10):
        first.acquire(USER).release()
    return first, second


def test_the_rate_window_is_shared_and_reopens_when_the_oldest_grant_ages_out(instances):
    clock = ManualClock()
    first, second = _two_with_the_window_used_up_by_the_first(instances, clock)

    with pytest.raises(BudgetExhausted) as refused:
        second.acquire(USER)
    assert 60 <= refused.value.retry_after <= 62

    clock.advance(refused.value.retry_after + 0.01)
    second._local(USER).closed_until = 0.0
    assert second.acquire(USER) is not None


def test_a_429_holds_every_instance_off_for_its_retry_after(instances):
    clock = ManualClock()
    limits = BudgetLimits()
    first = instances(limits, clock=clock, max_wait=0.0)
    second = instances(limits, clock=clock, max_wait=0.0)

    first.throttled(USER, 20)

    with pytest.raises(BudgetExhausted) as refused:
        second.acquire(USER)
    assert 19 <= refused.value.retry_after <= 20


def test_bc_users_have_budgets_of_their_own(instances):
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=1, requests_per_window=1, window_seconds=60)
    budget = instances(limits, clock=clock, max_wait=0.0)
    budget.acquire(USER)

    assert budget.acquire(OTHER_USER) is not None


def test_refusals_while_the_window_is_closed_are_spread_at_the_pace_the_budget_admits(instances):
    clock = ManualClock()
    limits = BudgetLimits(max_in_flight=5, requests_per_window=10, window_seconds=60)
    budget = instances(limits, clock=clock, max_wait=0.0)
    for _ in range(10):
        budget.acquire(USER).release()

    delays = []
    for _ in range(4):
        with pytest.raises(BudgetExhausted) as refused:
            budget.acquire(USER)
        delays.append(refused.value.retry_after)

    # One request-interval apart: a grant's life (the window + the accounting margin) / 10 requests.
    assert [round(b - a, 3) for a, b in zip(delays, delays[1:])] == [round(budget.spacing, 3)] * 3
    assert 6.0 <= budget.spacing <= 6.2


def test_new_work_on_another_instance_goes_behind_the_work_deferred_before_once_the_window_has_room(instances):
    clock = ManualClock()
    first, second = _two_with_the_window_used_up_by_the_first(instances, clock)
    promised = []
    for _ in range(3):
        with pytest.raises(BudgetExhausted) as refused:
            first.acquire(USER)
        promised.append(clock.now().timestamp() + refused.value.retry_after)
    second.check(USER, new_work=True)  # never looked: nothing known, so its first message takes the full path
    clock.advance(first.grant_life + 0.01)  # the window has room again; the deferred work is due from now on
    second.acquire(USER).release()  # that look sees the schedule booked

    with pytest.raises(BudgetExhausted) as refused:
        second.check(USER, new_work=True)

    assert clock.now().timestamp() + refused.value.retry_after > max(promised)
