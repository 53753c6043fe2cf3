"""The import use case on G/L entries (expenses.source = generalLedger): entry-number cursor, overlap,
late commits, reversals and fromDate changes, against a fake BC and in-memory stores."""

from __future__ import annotations

import datetime as _dt
from collections import Counter

from tests.unit.expenses._fakes import COMPANY_ID, NAME, World


def ledger_world(**kwargs):
    return World(source="generalLedger", **kwargs)


def key(entry):
    return f"{COMPANY_ID}:gl:{entry['entryNumber']}"


def cursor(world):
    return world.cursors.load(NAME, "generalLedger")


def test_expense_entries_are_sent_with_reversals_negative_and_other_accounts_skipped():
    world = ledger_world()
    cost = world.bc.post_entry(debit=120, project="P-1")
    world.bc.post_entry(account="18100", credit=120, project=None)
    reversal = world.bc.post_entry(credit=120, project="P-1")
    cogs = world.bc.post_entry(account="50100", debit=80, project="P-2")
    summary = world.run()
    assert world.keys == [key(cost), key(reversal), key(cogs)]
    assert [m["amount"] for m in world.outbox.messages] == [120, -120, 80]
    assert summary.counts("generalLedger").skipped == Counter({"notExpenseAccount": 1})


def test_an_entry_committed_late_with_a_lower_number_is_imported_once():
    world = ledger_world()
    world.bc.post_entry(number=1, debit=10)
    world.bc.post_entry(number=3, debit=30)
    world.run()
    world.clock.advance(minutes=2)
    late = world.bc.post_entry(number=2, debit=20, modified=world.clock.now() - _dt.timedelta(minutes=1))
    world.run()
    world.clock.advance(minutes=30)
    world.run()
    assert sorted(world.keys) == sorted([f"{COMPANY_ID}:gl:1", key(late), f"{COMPANY_ID}:gl:3"])
    assert len(world.keys) == 3


def test_the_cursor_moves_past_entries_once_they_are_older_than_the_overlap():
    world = ledger_world()
    for n in range(1, 6):
        world.bc.post_entry(number=n, debit=n)
    world.run()
    assert (cursor(world)["low"], cursor(world)["high"], cursor(world)["seen"]) == (0, 5, [[1, 5]])
    world.clock.advance(minutes=11)
    world.run()
    assert (cursor(world)["low"], cursor(world)["seen"]) == (5, [])
    world.bc.requests.clear()
    world.run()
    assert ("GET", "generalLedgerEntries?$filter=entryNumber gt 5 and postingDate ge 2026-11-01") in world.bc.requests


def test_gaps_in_entry_numbers_are_kept_open_within_the_overlap():
    world = ledger_world()
    for n in (1, 2, 5, 6):
        world.bc.post_entry(number=n, debit=n)
    world.run()
    assert cursor(world)["seen"] == [[1, 2], [5, 6]]


def test_moving_from_date_earlier_backfills_only_the_missing_posting_dates_once():
    world = ledger_world()
    october = world.bc.post_entry(debit=10, posting_date="2026-10-20")
    november = world.bc.post_entry(debit=20, posting_date="2026-11-05")
    world.clock.advance(minutes=30)
    world.run()
    world.run()
    assert world.keys == [key(november)]
    world.set_expenses(fromDate="2026-10-01")
    world.clock.advance(minutes=30)
    world.run()
    world.run()
    assert sorted(world.keys) == sorted([key(october), key(november)])
    assert cursor(world)["segments"] == [[None, "2026-10-01"]]


def test_moving_from_date_later_then_back_imports_each_entry_once():
    world = ledger_world()
    first = world.bc.post_entry(debit=10, posting_date="2026-11-05")
    world.run()
    world.set_expenses(fromDate="2026-11-10")
    skipped = world.bc.post_entry(debit=20, posting_date="2026-11-06")
    later = world.bc.post_entry(debit=30, posting_date="2026-11-12")
    world.clock.advance(minutes=30)
    world.run()
    assert world.keys == [key(first), key(later)]
    world.set_expenses(fromDate="2026-11-01")
    world.clock.advance(minutes=30)
    world.run()
    assert sorted(world.keys) == sorted([key(first), key(skipped), key(later)])


def test_a_crash_after_sending_and_before_the_cursor_is_saved_re_sends_at_most_one_page():
    world = ledger_world()
    entries = [world.bc.post_entry(debit=n + 1) for n in range(7)]  # pages of 3
    saved = Counter()
    real_save = world.cursors.save

    def crash_on_second_page(connector, name, state, **kwargs):
        saved[name] += 1
        if name == "generalLedger" and saved[name] == 2:
            raise OSError("worker died")
        real_save(connector, name, state, **kwargs)

    world.cursors.save = crash_on_second_page
    assert world.run().status == "failed"
    world.cursors.save = real_save
    world.run()
    repeats = [k for k, n in Counter(world.keys).items() if n > 1]
    assert len(repeats) == 3
    assert set(world.keys) == {key(e) for e in entries}


def test_a_backfill_interrupted_by_the_time_budget_continues_without_repeats():
    world = ledger_world(tick=1.0)
    old = [world.bc.post_entry(debit=n + 1, posting_date="2026-10-15") for n in range(7)]
    world.run()
    world.set_expenses(fromDate="2026-10-01")
    world.clock.advance(minutes=30)
    assert world.run(budget_seconds=2.5).status == "partial"
    world.run()
    assert sorted(world.keys) == sorted(key(e) for e in old)


def test_entries_answered_out_of_order_stop_the_run_before_anything_is_sent():
    world = ledger_world()
    for n in (1, 2, 3):
        world.bc.post_entry(number=n, debit=n)
    real_list = world.bc.list_entities

    def shuffled(*args, **kwargs):
        return iter(reversed(list(real_list(*args, **kwargs))))

    world.bc.list_entities = shuffled
    summary = world.run()
    assert (summary.status, summary.error["code"]) == ("failed", "OutOfOrder")
    assert world.keys == []


def test_entries_on_a_value_that_becomes_a_host_project_later_are_sent_once_and_no_longer_reported():
    world = ledger_world()
    early = [world.bc.post_entry(debit=10 * n, project="P-9") for n in (1, 2)]
    known = world.bc.post_entry(debit=5, project="P-1")
    first = world.run()
    assert world.keys == [key(known)] and first.to_dict()["unknownProjectValues"] == ["P-9"]
    world.projects.set(NAME, "host-9", "P-9")
    world.clock.advance(minutes=1)
    world.run()
    world.clock.advance(minutes=1)
    again = world.run()
    assert sorted(world.keys) == sorted([key(known)] + [key(e) for e in early])
    assert "P-9" not in again.to_dict().get("unknownProjectValues", [])
