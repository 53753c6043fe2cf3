"""The cursor rules, without BC or storage: ranges of processed entry numbers, `low` and fromDate segments."""

from __future__ import annotations

import datetime as _dt

from shared.expenses import Backfill, DocumentCursor, LedgerCursor, RangeSet
from shared.expenses._state import MAX_SEEN_RANGES


def test_contiguous_numbers_collapse_into_one_range():
    seen = RangeSet()
    for n in range(1, 100_001):
        seen.add(n)
    assert seen.to_json() == [[1, 100_000]]


def test_a_gap_splits_ranges_and_a_late_number_fills_it():
    seen = RangeSet([[1, 3], [5, 6]])
    assert 4 not in seen and 5 in seen
    seen.add(4)
    assert seen.to_json() == [[1, 6]]


def test_ranges_added_out_of_order_merge_with_their_neighbours():
    seen = RangeSet()
    for first, last in ([20, 25], [1, 2], [10, 12], [3, 9], [13, 19]):
        seen.add_range(first, last)
    assert seen.to_json() == [[1, 25]]


def test_discarding_through_a_number_keeps_the_rest_of_its_range():
    seen = RangeSet([[1, 5], [8, 10]])
    seen.discard_through(9)
    assert seen.to_json() == [[10, 10]]


def test_a_document_cursor_reads_again_from_the_overlap_before_the_newest_stamp():
    cursor = DocumentCursor()
    assert cursor.read_from(_dt.timedelta(minutes=10)) is None
    cursor.advance("2026-11-20T12:00:00.000Z")
    cursor.advance("2026-11-20T11:00:00.000Z")  # older pages never move it back
    assert cursor.modified_since == "2026-11-20T12:00:00.000Z"
    assert cursor.read_from(_dt.timedelta(minutes=10)) == "2026-11-20T11:50:00.000Z"


def test_moving_the_document_from_date_earlier_reads_from_the_start_and_later_keeps_the_cursor():
    cursor = DocumentCursor(from_date="2026-10-01", modified_since="2026-11-20T12:00:00.000Z")
    assert cursor.apply_from_date("2026-11-01") == "later"
    assert cursor.modified_since == "2026-11-20T12:00:00.000Z"
    assert cursor.apply_from_date("2026-09-01") == "earlier"
    assert cursor.modified_since is None
    assert cursor.apply_from_date("2026-09-01") is None


def test_the_first_from_date_starts_one_open_segment_without_backfill():
    cursor = LedgerCursor()
    assert cursor.apply_from_date("2026-10-01") == []
    assert cursor.segments == [[None, "2026-10-01"]]


def test_a_later_from_date_closes_the_segment_at_the_highest_entry_and_needs_no_backfill():
    cursor = LedgerCursor(high=500, segments=[[None, "2026-10-01"]])
    assert cursor.apply_from_date("2026-11-01") == []
    assert cursor.segments == [[500, "2026-10-01"], [None, "2026-11-01"]]


def test_an_earlier_from_date_backfills_every_range_read_with_a_later_date():
    cursor = LedgerCursor(high=900, segments=[[300, "2026-09-15"], [600, "2026-11-01"], [None, "2026-10-01"]])
    backfills = cursor.apply_from_date("2026-09-01")
    assert backfills == [Backfill(0, 300, "2026-09-15"), Backfill(300, 600, "2026-11-01"),
                         Backfill(600, 900, "2026-10-01")]


def test_backfill_progress_splits_its_segment_and_completion_merges_it_away():
    cursor = LedgerCursor(high=600, segments=[[600, "2026-11-01"], [None, "2026-10-01"]])
    cursor.apply_from_date("2026-10-01")
    backfill = cursor.backfills()[0]
    cursor.backfilled(backfill, 250)
    assert cursor.segments == [[250, "2026-10-01"], [600, "2026-11-01"], [None, "2026-10-01"]]
    assert cursor.backfills() == [Backfill(250, 600, "2026-11-01")]
    cursor.backfilled(backfill, 600)
    assert cursor.segments == [[None, "2026-10-01"]]
    assert cursor.backfills() == []


def test_low_never_passes_high_and_forgets_the_numbers_below_it():
    cursor = LedgerCursor()
    cursor.processed([1, 2, 3, 5, 6])
    cursor.advance_low(3)
    assert (cursor.low, cursor.high, cursor.seen.to_json()) == (3, 6, [[5, 6]])
    cursor.advance_low(99)
    assert cursor.low == 6


def test_too_many_gaps_in_the_overlap_give_up_the_oldest_ones():
    cursor = LedgerCursor()
    cursor.processed(range(2, 2 * (MAX_SEEN_RANGES + 10), 2))
    cursor.advance_low(0)
    assert len(cursor.seen) == MAX_SEEN_RANGES
    assert cursor.low == cursor.seen.start_of(0) - 2


def test_a_ledger_cursor_survives_a_json_round_trip():
    cursor = LedgerCursor(low=10, high=20, seen=RangeSet([[12, 14], [16, 20]]), segments=[[None, "2026-10-01"]])
    assert LedgerCursor.from_state(cursor.to_state()).to_state() == cursor.to_state()
