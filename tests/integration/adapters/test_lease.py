"""The lease of table `Locks` (shared.adapters), against Azurite (TableLeaseStore) and the in-memory fake.

One suite runs against both, so the fake the use-case tests rely on (expense import, replay) behaves like
the table: one holder at a time, ETag-guarded renew and release, an expired lease taken over.
"""

from __future__ import annotations

import datetime as _dt
import threading

import pytest

from shared.adapters import InMemoryLeaseStore, LeaseLost, TableLeaseStore, ensure_table
from tests._clock import T0, ManualClock

pytestmark = pytest.mark.integration

TTL = _dt.timedelta(minutes=6)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture(params=["table", "memory"])
def leases(request, clock):
    """`leases(name="expense-import")` -> a store of that lease; stores of one test share their rows, as
    two workers share table `Locks`."""
    if request.param == "table":
        locks = ensure_table(request.getfixturevalue("make_table_client")("Locks"))
        yield lambda name="expense-import": TableLeaseStore(locks, name=name, clock=clock)
    else:
        stores: dict[str, InMemoryLeaseStore] = {}
        yield lambda name="expense-import": stores.setdefault(name, InMemoryLeaseStore(name=name, clock=clock))


def test_only_one_of_two_concurrent_runs_gets_the_lease(leases):
    got: list[object] = []
    barrier = threading.Barrier(2)

    def take(owner: str) -> None:
        barrier.wait()
        got.append(leases().acquire("acme", owner, ttl=TTL))

    threads = [threading.Thread(target=take, args=(f"run-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(lease is not None for lease in got) == 1


def test_an_expired_lease_is_taken_over_and_its_old_holder_can_neither_renew_nor_release_it(leases, clock):
    store = leases()
    first = store.acquire("acme", "run-1", ttl=TTL)
    assert store.acquire("acme", "run-2", ttl=TTL) is None
    clock.moment += _dt.timedelta(minutes=7)
    second = store.acquire("acme", "run-2", ttl=TTL)
    assert second is not None

    with pytest.raises(LeaseLost, match="taken over by another run"):
        first.renew()
    first.release()
    assert store.holder("acme")["owner"] == "run-2"
    second.renew()
    second.release()
    assert store.holder("acme") is None


def test_the_lost_lease_error_names_the_lease_and_the_connector(leases, clock):
    store = leases("replay")
    first = store.acquire("acme", "replay-1", ttl=TTL)
    clock.moment += TTL + _dt.timedelta(seconds=1)
    assert store.acquire("acme", "replay-2", ttl=TTL) is not None

    with pytest.raises(LeaseLost) as lost:
        first.renew()
    assert str(lost.value) == "The replay lease of connector 'acme' was taken over by another run."


def test_a_held_lease_is_busy_for_another_run_and_its_row_says_who_holds_it_until_when(leases):
    store = leases()
    lease = store.acquire("acme", "run-1", ttl=TTL)

    assert store.acquire("acme", "run-2", ttl=TTL) is None
    assert store.holder("acme") == {"owner": "run-1", "expiresAt": "2026-11-20T12:06:00.000Z"}
    assert (lease.owner, lease.key, lease.expires_at) == ("run-1", ("acme", "expense-import"), T0 + TTL)


def test_a_renewed_lease_is_not_taken_over_when_its_first_expiry_passes(leases, clock):
    store = leases()
    lease = store.acquire("acme", "run-1", ttl=TTL)
    clock.moment += _dt.timedelta(minutes=5)
    lease.renew()
    clock.moment += _dt.timedelta(minutes=2)  # past the first expiry, within the renewed one

    assert store.acquire("acme", "run-2", ttl=TTL) is None
    assert lease.expires_at == T0 + _dt.timedelta(minutes=11)
    assert store.holder("acme")["expiresAt"] == "2026-11-20T12:11:00.000Z"


def test_a_released_lease_can_be_taken_at_once(leases):
    store = leases()
    store.acquire("acme", "run-1", ttl=TTL).release()

    again = store.acquire("acme", "run-2", ttl=TTL)
    assert again is not None and store.holder("acme")["owner"] == "run-2"


def test_leases_of_other_connectors_or_other_names_do_not_block_each_other(leases):
    assert leases().acquire("acme", "import-1", ttl=TTL) is not None

    assert leases().acquire("globex", "import-2", ttl=TTL) is not None
    assert leases("replay").acquire("acme", "replay-1", ttl=TTL) is not None


def test_a_lease_row_with_an_unreadable_expiry_is_taken_over_rather_than_blocking_forever(make_table_client):
    locks = ensure_table(make_table_client("Locks"))
    locks.create_entity({"PartitionKey": "acme", "RowKey": "replay", "owner": "someone", "expiresAt": "soon"})

    lease = TableLeaseStore(locks, name="replay").acquire("acme", "replay-1", ttl=TTL)
    assert lease is not None and locks.get_entity("acme", "replay")["owner"] == "replay-1"


def test_a_table_store_given_a_factory_connects_only_when_a_lease_is_first_taken(make_table_client):
    made: list[str] = []

    def locks():
        made.append("Locks")
        return ensure_table(make_table_client("Locks"))

    store = TableLeaseStore(locks, name="replay")
    assert made == []
    store.acquire("acme", "replay-1", ttl=TTL).release()
    store.acquire("acme", "replay-2", ttl=TTL)
    assert made == ["Locks"]
