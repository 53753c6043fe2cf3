"""UTC time and its text form in tables and messages: one way to read the clock and to write a moment.

Every use case takes an injected `Clock` (tests move time); `SYSTEM_CLOCK` is the real one. Moments are
stored as ISO 8601 text in UTC with a `Z`, so they sort as text and table filters can compare them. The
precision is the caller's: existing rows keep the one they were written with (`timespec`, as in
`datetime.isoformat`).
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Clock", "SystemClock", "SYSTEM_CLOCK", "utc_now", "iso", "parse_iso"]


class Clock(Protocol):
    """What a use case needs of time; tests pass a fake that moves when they say so."""

    def now(self) -> _dt.datetime:
        """The current moment, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for budgets and timeouts."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a fake returns at once and moves its clocks)."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The real clock."""

    def now(self) -> _dt.datetime:
        return utc_now()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


def utc_now() -> _dt.datetime:
    """The current moment, timezone-aware, in UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


def iso(moment: _dt.datetime, *, timespec: str = "auto") -> str:
    """`moment` in UTC as ISO 8601 text ending in `Z`, e.g. `2026-11-20T12:00:00.000Z` with "milliseconds"."""
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec=timespec).replace("+00:00", "Z")


def parse_iso(text: str | None) -> _dt.datetime | None:
    """The moment `text` names (UTC when it names no zone); None for empty or unreadable text."""
    if not text:
        return None
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.timezone.utc)
