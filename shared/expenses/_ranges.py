"""A set of whole numbers kept as sorted, disjoint, inclusive ranges: G/L entry numbers already processed.

Entry numbers of one run are almost contiguous (gaps only where BC's number sequence skipped or an entry
has not committed yet), so 100,000 processed entries usually take one range, and the set fits in a
table column as JSON (`[[first, last], ...]`).
"""

from __future__ import annotations

import bisect
from typing import Iterable

__all__ = ["RangeSet"]


class RangeSet:
    """Sorted disjoint inclusive ranges; adjacent ranges merge."""

    def __init__(self, ranges: Iterable[Iterable[int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for first, last in ranges:
            self.add_range(int(first), int(last))

    def __contains__(self, n: int) -> bool:
        i = bisect.bisect_right(self._starts, n) - 1
        return i >= 0 and n <= self._ends[i]

    def __len__(self) -> int:
        """The number of ranges (not of numbers)."""
        return len(self._starts)

    def __repr__(self) -> str:
        return f"RangeSet({self.to_json()!r})"

    def add(self, n: int) -> None:
        self.add_range(n, n)

    def add_range(self, first: int, last: int) -> None:
        if last < first:
            raise ValueError(f"empty range {first}..{last}")
        starts, ends = self._starts, self._ends
        # The common case: a number just after the last range.
        if starts and first >= starts[-1]:
            if first <= ends[-1] + 1:
                ends[-1] = max(ends[-1], last)
                return
            starts.append(first)
            ends.append(last)
            return
        i = bisect.bisect_left(ends, first - 1)  # first range that ends at or after first-1
        j = bisect.bisect_right(starts, last + 1)  # ranges before j start at or before last+1
        if i < j:
            first, last = min(first, starts[i]), max(last, ends[j - 1])
        starts[i:j] = [first]
        ends[i:j] = [last]

    def discard_through(self, n: int) -> None:
        """Forget every number up to and including n."""
        i = bisect.bisect_right(self._ends, n)
        del self._starts[:i]
        del self._ends[:i]
        if self._starts and self._starts[0] <= n:
            self._starts[0] = n + 1

    def start_of(self, index: int) -> int:
        return self._starts[index]

    def end_of(self, index: int) -> int:
        return self._ends[index]

    def to_json(self) -> list[list[int]]:
        return [[a, b] for a, b in zip(self._starts, self._ends)]
