"""The ledger claim: one attempt at a time per entity, and a BC look-up only after an unfinished attempt."""

from __future__ import annotations

import threading

import pytest

from shared.adapters.ledger import InMemoryLedger
from shared.errors import ConflictError
from shared.exports import (
    FAILED,
    PENDING,
    RETRY,
    SYNCED,
    ClaimBusy,
    Claims,
    EntityKey,
    ExportOptions,
    LedgerRow,
)
from tests._clock import LockstepClock

KEY = EntityKey("acme", "invoice", "PSA-1")


def claims(ledger, *, wait=0.0, stale=360.0, on_sleep=None, clock=None):
    clock = clock or LockstepClock(on_sleep=on_sleep)
    return Claims(ledger, clock, ExportOptions(claim_wait_seconds=wait, stale_claim_seconds=stale,
                                               claim_poll_seconds=0.01))


def claim(ledger, message_id="m-1", *, decide=lambda row: None, wait=0.0, stale=360.0, on_sleep=None, clock=None):
    return claims(ledger, wait=wait, stale=stale, on_sleep=on_sleep, clock=clock).acquire(
        KEY, message_id=message_id, decide=decide)


def finish(ledger, got, row):
    return claims(ledger).finish(got, row)


def release(ledger, got, **kwargs):
    return claims(ledger).release(got, **kwargs)


def seed(ledger, **fields) -> LedgerRow:
    return ledger.create(LedgerRow(connector="acme", type="invoice", host_id="PSA-1", **fields))


def test_a_new_entity_is_claimed_without_a_look_up():
    ledger = InMemoryLedger()
    decision, got = claim(ledger)
    assert decision is None
    assert (got.row.status, got.row.attempt_message_id, got.row.attempts, got.lookup_needed) == (PENDING, "m-1", 1,
                                                                                                 False)
    assert ledger.get("acme", "invoice", "PSA-1").status == PENDING


@pytest.mark.parametrize("status", [SYNCED, FAILED, RETRY])
def test_a_finished_attempt_needs_no_look_up(status):
    ledger = InMemoryLedger()
    seed(ledger, status=status, bc_id="b-1")
    _, got = claim(ledger)
    assert got.lookup_needed is False
    assert got.known_bc_id == "b-1"


def test_a_lost_answer_to_a_write_means_looking_up_first():
    ledger = InMemoryLedger()
    seed(ledger, status=RETRY, may_exist=True)
    assert claim(ledger)[1].lookup_needed is True


def test_the_same_message_redelivered_after_a_crash_takes_over_at_once_with_a_look_up():
    ledger = InMemoryLedger()
    seed(ledger, status=PENDING, attempt_message_id="m-1", attempt_started_at="2026-11-20T11:59:59Z")
    _, got = claim(ledger, "m-1")
    assert got.lookup_needed is True and got.row.attempt_message_id == "m-1"


def test_another_message_waits_for_a_fresh_claim_then_gives_the_queue_the_retry():
    ledger = InMemoryLedger()
    seed(ledger, status=PENDING, attempt_message_id="m-1", attempt_started_at="2026-11-20T11:59:59Z")
    clock = LockstepClock()
    with pytest.raises(ClaimBusy, match="Another worker is exporting invoice 'PSA-1'"):
        claim(ledger, "m-2", wait=0.05, clock=clock)
    assert clock.slept  # it polled before giving up
    assert ledger.get("acme", "invoice", "PSA-1").attempt_message_id == "m-1"


def test_a_stale_claim_of_a_dead_worker_is_taken_over_with_a_look_up():
    ledger = InMemoryLedger()
    seed(ledger, status=PENDING, attempt_message_id="m-1", attempt_started_at="2026-11-20T11:50:00Z")
    _, got = claim(ledger, "m-2", stale=300)
    assert got.lookup_needed is True and got.row.attempt_message_id == "m-2"


def test_a_waiting_duplicate_decides_again_once_the_other_attempt_finished():
    ledger = InMemoryLedger()
    _, first = claim(ledger, "m-1")
    done = first.row.copy(status=SYNCED, content_hash="h")

    def sleep(_seconds):
        finish(ledger, first, done)  # the other worker finishes while this one waits

    decision, got = claim(ledger, "m-2", wait=5, on_sleep=sleep,
                          decide=lambda row: "unchanged" if row and row.status == SYNCED else None)
    assert (decision, got) == ("unchanged", None)


def test_of_two_workers_racing_for_a_new_entity_exactly_one_claims_it():
    ledger = InMemoryLedger()
    barrier = threading.Barrier(2)
    results: list = []

    def worker(message_id):
        barrier.wait()
        try:
            results.append(claim(ledger, message_id, wait=0.0)[1].row.attempt_message_id)
        except ClaimBusy:
            results.append("busy")

    threads = [threading.Thread(target=worker, args=(f"m-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r == "busy" for r in results) == [False, True]


def test_release_remembers_that_bc_may_have_acted_until_an_attempt_finishes():
    ledger = InMemoryLedger()
    _, got = claim(ledger)
    release(ledger, got, may_exist=True, last_error={"code": "BcOutcomeUnknownError"})
    _, again = claim(ledger, "m-1")
    release(ledger, again, may_exist=False, last_error=None)
    row = ledger.get("acme", "invoice", "PSA-1")
    assert (row.status, row.may_exist) == (RETRY, True)


def test_finish_writes_over_a_claim_someone_took_over_meanwhile():
    ledger = InMemoryLedger()
    _, mine = claim(ledger, "m-1")
    _, theirs = claim(ledger, "m-2", stale=-1)
    assert theirs is not None
    finish(ledger, mine, mine.row.copy(status=SYNCED, bc_id="b-1"))
    assert ledger.get("acme", "invoice", "PSA-1").bc_id == "b-1"


def test_the_ledger_refuses_a_stale_etag_and_a_second_create():
    ledger = InMemoryLedger()
    row = seed(ledger, status=SYNCED)
    ledger.update(row.copy(status=FAILED))
    with pytest.raises(ConflictError):
        ledger.update(row.copy(status=RETRY))
    with pytest.raises(ConflictError):
        seed(ledger)


def test_a_failed_message_of_any_size_is_kept_whole_and_listed_oldest_first():
    ledger = InMemoryLedger()
    big = "é" * 70_000
    ledger.create(LedgerRow(connector="acme", type="invoice", host_id="B", status=FAILED, queue="bc-invoices",
                            message=big, failed_at="2026-11-20T12:00:01Z"))
    ledger.create(LedgerRow(connector="acme", type="customer", host_id="A", status=FAILED, queue="bc-customers",
                            message="{}", failed_at="2026-11-20T12:00:00Z"))
    ledger.create(LedgerRow(connector="acme-2", type="customer", host_id="A", status=FAILED, queue="bc-customers",
                            message="other", failed_at="2026-11-20T11:00:00Z"))
    rows = ledger.list_failed("acme")
    assert [(r.queue, len(r.message)) for r in rows] == [("bc-customers", 2), ("bc-invoices", 70_000)]
    assert rows[1].message == big


def test_host_ids_with_characters_table_keys_refuse_are_stored_reversibly():
    ledger = InMemoryLedger()
    ledger.create(LedgerRow(connector="acme", type="invoice", host_id="INV/2026#7?x", status=SYNCED))
    assert ledger.get("acme", "invoice", "INV/2026#7?x").host_id == "INV/2026#7?x"
