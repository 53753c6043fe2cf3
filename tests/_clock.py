"""The test clocks: every test that injects a `shared.clock.Clock` takes one of these.

- `ManualClock`: wall time moves only when told, monotonic time stands still (so nothing waits on a deadline).
- `FixedClock`: wall time stands until a test sets it; monotonic time is real and `sleep` returns at once.
- `LockstepClock`: wall and monotonic time move together, only when told (use cases that wait on a deadline).
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import Callable

__all__ = ["FixedClock", "LockstepClock", "ManualClock", "T0"]

#: The moment the test clocks start at unless told otherwise.
T0 = _dt.datetime(2026, 11, 20, 12, 0, tzinfo=_dt.timezone.utc)


class ManualClock:
    """Wall time that moves only when told (`advance`, `sleep`, or setting `moment`); monotonic time stands
    still."""

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


class LockstepClock:
    """Wall and monotonic time that move together, only when told (`advance(minutes=15)`, or `sleep`).

    Why a third clock: use cases that poll or keep to a time budget (the export's claim wait, the expense
    import's run budget) loop until a `monotonic` deadline and `sleep` between tries. Under ManualClock the
    deadline never comes (the loop never ends); under FixedClock it comes in real time (the test busy-waits).
    Here each `sleep` moves both clocks by what was asked, so the loop ends after the tries a real run makes,
    at once.

    `tick`: seconds each `monotonic` read costs (a budget check that takes time). `slept`: every sleep asked
    for, in order. `on_sleep(seconds)`: runs after each sleep (another worker acting meanwhile). Setting
    `moment` moves only wall time.
    """

    def __init__(self, moment: _dt.datetime = T0, *, tick: float = 0.0,
                 on_sleep: Callable[[float], None] | None = None) -> None:
        self.moment = moment
        self.seconds = 0.0
        self.tick = tick
        self.on_sleep = on_sleep
        self.slept: list[float] = []

    def now(self) -> _dt.datetime:
        return self.moment

    def monotonic(self) -> float:
        self.seconds += self.tick
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)

    def advance(self, seconds: float = 0.0, **delta: float) -> None:
        step = _dt.timedelta(seconds=seconds, **delta)
        self.moment += step
        self.seconds += step.total_seconds()
