"""UTC time and its text form in tables and messages: one way to read the clock and to write a moment.

Every use case takes an injectable `now`/`clock` (tests move time); `utc_now` is the real one. Moments are
stored as ISO 8601 text in UTC with a `Z`, so they sort as text and table filters can compare them. The
precision is the caller's: existing rows keep the one they were written with (`timespec`, as in
`datetime.isoformat`).
"""

from __future__ import annotations

import datetime as _dt

__all__ = ["utc_now", "iso", "parse_iso"]


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
