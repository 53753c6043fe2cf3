"""A clock for tests of expiries: wall time moves only when told, monotonic time stands still (so nothing
waits on a deadline). Implements `shared.clock.Clock`."""

from __future__ import annotations

import datetime as _dt
import time

__all__ = ["FixedClock", "ManualClock", "T0"]

#: The moment a ManualClock starts at unless told otherwise.
T0 = _dt.datetime(2026, 11, 20, 12, 0, tzinfo=_dt.timezone.utc)


class ManualClock:
    """Wall time that moves only when told (`advance`, or `sleep`); monotonic time stands still."""

    def __init__(self, moment: _dt.datetime = T0) -> None:
        self.moment = moment

    def now(self) -> _dt.datetime:
        return self.moment

    def monotonic(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.moment += _dt.timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.moment += _dt.timedelta(seconds=seconds)


class FixedClock:
    """Wall time stands at `at` until a test sets it; monotonic time is real and `sleep` returns at once
    (use cases that pace themselves by `sleep` run without waiting)."""

    def __init__(self, at: _dt.datetime = T0) -> None:
        self.at = at

    def now(self) -> _dt.datetime:
        return self.at

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        pass
