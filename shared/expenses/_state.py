"""Where an import stands, per connector and source, and the rules that move it (pure; stored by `_cursors`).

Documents (purchase invoices, credit memos) are read by `lastModifiedDateTime`, G/L entries by
`entryNumber` (docs/business-central.md §8). Neither is a clean watermark:
timestamps tie, and entry numbers come from a number sequence that leaves gaps and commits out of order
(a posting that drew number 1000 may commit after 1001 is visible). So each read starts an *overlap*
before the cursor and drops what it has already done:

- documents: the read starts `overlap` before the newest `lastModifiedDateTime` processed; every posted
  document processed gets a marker row, so a re-read document (overlap, or modified later, e.g. paid) is
  recognised and not imported again;
- G/L entries: the read starts after `low`, the highest entry number below which nothing can still
  commit: an entry whose `lastModifiedDateTime` is older than `overlap` cannot be preceded by a number
  still uncommitted, because numbers are drawn in insert order and a transaction does not outlive
  BC's 10-minute request limit (docs/business-central.md §4). Entries above `low` already processed are kept in `seen`.

`fromDate` changes (see README "Expense import"): moved later, the new date applies from then on and
nothing imported is withdrawn; moved earlier, the expenses between the new and the old date are imported
once. Documents re-read everything from the new date (markers skip the ones done); G/L entries keep
`segments`, which fromDate each range of entry numbers was read with, and re-read only the ranges read
with a later date, only for the posting dates they missed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Iterable, Union

from shared.clock import iso
from shared.jsontypes import JsonObject

from ._ranges import RangeSet

__all__ = ["DocumentCursor", "LedgerCursor", "Backfill", "parse_stamp", "format_stamp", "MAX_SEEN_RANGES"]

#: More ranges than this in `seen` (a very gappy overlap window) and the oldest are given up: `low` moves
#: past them. Keeps the row far below Table Storage's 64 KiB per property.
MAX_SEEN_RANGES = 1000

#: `[up_to, fromDate]`: entry numbers up to `up_to` (None: open-ended) were read with that fromDate.
Segment = list[Union[int, str, None]]


def parse_stamp(value: str) -> _dt.datetime:
    """BC's DateTime ("2026-11-20T10:15:00.123Z") as an aware datetime."""
    return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def format_stamp(moment: _dt.datetime) -> str:
    """BC's DateTime form: UTC with milliseconds and Z, usable unquoted in a $filter."""
    return iso(moment, timespec="milliseconds")


@dataclass
class DocumentCursor:
    """Purchase invoices or credit memos: the newest `lastModifiedDateTime` of a fully processed page."""

    from_date: str | None = None
    modified_since: str | None = None

    @classmethod
    def from_state(cls, state: JsonObject | None) -> "DocumentCursor":
        state = state or {}
        return cls(from_date=state.get("fromDate"), modified_since=state.get("modifiedSince"))

    def to_state(self) -> JsonObject:
        return {"fromDate": self.from_date, "modifiedSince": self.modified_since}

    def describe(self) -> str:
        return f"lastModifiedDateTime {self.modified_since or '(start)'}, fromDate {self.from_date}"

    def apply_from_date(self, from_date: str) -> str | None:
        """Adopt the connector's fromDate; 'earlier' or 'later' when it changed since the last run.

        Earlier: read again from the start (markers skip what was imported, the rest is the gap). Later:
        carry on; the read's `postingDate` filter applies the new date.
        """
        previous, self.from_date = self.from_date, from_date
        if previous is None or previous == from_date:
            return None
        if from_date < previous:
            self.modified_since = None
            return "earlier"
        return "later"

    def read_from(self, overlap: _dt.timedelta) -> str | None:
        """The `lastModifiedDateTime ge` bound of the next read, or None for a first read."""
        if self.modified_since is None:
            return None
        return format_stamp(parse_stamp(self.modified_since) - overlap)

    def advance(self, stamp: str) -> None:
        if self.modified_since is None or parse_stamp(stamp) > parse_stamp(self.modified_since):
            self.modified_since = format_stamp(parse_stamp(stamp))


@dataclass(frozen=True)
class Backfill:
    """Entry numbers in (after, up_to] were read with fromDate `before`; re-read them for [new fromDate, before)."""

    after: int
    up_to: int
    before: str


@dataclass
class LedgerCursor:
    """G/L entries: `low`, `high`, the numbers in (low, high] already processed, and fromDate `segments`.

    `segments` is a list of `[up_to, fromDate]` (ascending; the last one open-ended, `up_to` None): entry
    numbers up to `up_to` (above the previous one) were read with that fromDate.
    """

    low: int = 0
    high: int = 0
    seen: RangeSet = field(default_factory=RangeSet)
    segments: list[Segment] = field(default_factory=list)

    @classmethod
    def from_state(cls, state: JsonObject | None) -> "LedgerCursor":
        state = state or {}
        return cls(low=int(state.get("low", 0)), high=int(state.get("high", 0)),
                   seen=RangeSet(state.get("seen", [])),
                   segments=[list(s) for s in state.get("segments", [])])

    def to_state(self) -> JsonObject:
        return {"low": self.low, "high": self.high, "seen": self.seen.to_json(), "segments": self.segments}

    def describe(self) -> str:
        return f"entryNumber {self.high} (re-read after {self.low}), fromDate {self.from_date}"

    @property
    def from_date(self) -> str | None:
        return self.segments[-1][1] if self.segments else None

    def apply_from_date(self, from_date: str) -> list[Backfill]:
        """Adopt the connector's fromDate; the ranges to re-read because they were read with a later one.

        Also returns the backfills a previous run left unfinished.
        """
        if not self.segments:
            self.segments = [[None, from_date]]
        elif self.segments[-1][1] != from_date:
            closed_at = self.segments[-2][0] if len(self.segments) > 1 else 0
            if self.high > closed_at:
                self.segments[-1][0] = self.high
            else:
                self.segments.pop()
            self.segments.append([None, from_date])
            self._merge()
        return self.backfills()

    def backfills(self) -> list[Backfill]:
        current = self.segments[-1][1]
        out, after = [], 0
        for up_to, used in self.segments[:-1]:
            if used > current:
                out.append(Backfill(after, up_to, used))
            after = up_to
        return out

    def backfilled(self, backfill: Backfill, through: int) -> None:
        """Entries in (backfill.after, through] are done for the current fromDate."""
        current = self.segments[-1][1]
        for index, (up_to, used) in enumerate(self.segments[:-1]):
            if up_to == backfill.up_to and used == backfill.before:
                if through >= up_to:
                    self.segments[index][1] = current
                else:
                    self.segments.insert(index, [through, current])
                break
        self._merge()

    def processed(self, numbers: Iterable[int]) -> None:
        for n in numbers:
            if n > self.low:
                self.seen.add(n)
                self.high = max(self.high, n)

    def advance_low(self, candidate: int) -> None:
        """Move `low` up to `candidate` (an entry old enough that nothing below it can still commit)."""
        if candidate > self.low:
            self.low = min(candidate, self.high)
            self.seen.discard_through(self.low)
        if len(self.seen) > MAX_SEEN_RANGES:
            self.low = self.seen.end_of(len(self.seen) - MAX_SEEN_RANGES - 1)
            self.seen.discard_through(self.low)

    def _merge(self) -> None:
        merged: list[Segment] = []
        for up_to, used in self.segments:
            if merged and merged[-1][1] == used:
                merged[-1][0] = up_to
            else:
                merged.append([up_to, used])
        self.segments = merged
