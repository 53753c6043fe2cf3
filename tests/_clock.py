"""A clock for tests of expiries: wall time moves only when told, monotonic time stands still (so nothing
waits on a deadline). Implements `shared.clock.Clock`."""

from __future__ import annotations

import datetime as _dt

__all__ = ["ManualClock", "T0"]

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
