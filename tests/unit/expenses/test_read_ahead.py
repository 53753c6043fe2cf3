"""Reading one page ahead (`shared.expenses._ahead.ReadAhead`): order, the one-page bound, failures, closing."""

from __future__ import annotations

import threading
import time

import pytest

from shared.expenses._ahead import ReadAhead
from shared.logfields import current, log_scope


class Source:
    """Pages 1..n, counting how many were read; page `fail_at` raises instead; `gate` holds page `hold`."""

    def __init__(self, n: int, *, fail_at: int | None = None, hold: int | None = None) -> None:
        self.n, self.fail_at, self.hold = n, fail_at, hold
        self.read = 0
        self.gate = threading.Event()
        self.finished: list[int] = []
        self.fields: list[dict] = []

    def __iter__(self):
        for page in range(1, self.n + 1):
            self.fields.append(dict(current()))
            if page == self.hold:
                self.gate.wait(5)
            if page == self.fail_at:
                raise ConnectionError(f"page {page} could not be read")
            self.read = page
            self.finished.append(page)
            yield [page]


def settle(source: Source, expected: int) -> None:
    deadline = time.monotonic() + 5
    while source.read < expected and time.monotonic() < deadline:
        time.sleep(0.001)


def test_pages_come_out_in_order_and_the_next_one_is_read_while_the_caller_holds_one():
    source = Source(4)
    with ReadAhead(iter(source)) as pages:
        first = next(pages)
        settle(source, 2)
        assert (first, source.read) == ([1], 2)
        assert list(pages) == [[2], [3], [4]]


def test_never_more_than_one_page_is_read_ahead_of_the_page_the_caller_holds():
    source = Source(6)
    with ReadAhead(iter(source)) as pages:
        for held, page in enumerate(pages, start=1):
            time.sleep(0.005)  # time for a reader that would run further ahead
            assert page == [held]
            assert source.read <= held + 1


def test_a_failed_read_is_raised_when_its_page_is_taken_after_the_pages_before_it():
    source = Source(5, fail_at=3)
    taken = []
    with ReadAhead(iter(source)) as pages:
        with pytest.raises(ConnectionError, match="page 3"):
            for page in pages:
                taken.append(page)
    assert taken == [[1], [2]]


def test_closing_waits_for_the_read_in_flight_and_drops_its_page():
    source = Source(3, hold=2)
    pages = ReadAhead(iter(source))
    assert next(pages) == [1]
    threading.Timer(0.05, source.gate.set).start()
    pages.close()  # the caller stops after page 1 (time budget, failure)
    assert source.finished == [1, 2]  # page 2's read had ended before close returned
    assert next(pages, None) is None


def test_an_empty_source_ends_at_once():
    with ReadAhead(iter(Source(0))) as pages:
        assert next(pages, None) is None
        assert next(pages, None) is None


def test_the_reads_carry_the_runs_log_fields():
    source = Source(2)
    with log_scope(operation="expense_import", connector="contoso"):
        with ReadAhead(iter(source)) as pages:
            assert list(pages) == [[1], [2]]
    assert all(f.get("connector") == "contoso" and f.get("operation") == "expense_import" for f in source.fields)
