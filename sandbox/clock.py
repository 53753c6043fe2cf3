"""The sandbox's notion of "now": real time plus an offset that tests can move forward.

Token lifetimes (1 h access tokens, 90-day refresh-token inactivity, 10-minute codes) and BC's 5-minute
rate window are all measured on this clock, so a test can jump past them with
`POST /_sandbox/clock {"advanceSeconds": n}` instead of waiting. Waiting in BC's request queue is real
time (a thread really waits), so it does not use this clock.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

__all__ = ["Clock"]


class Clock:
    """Wall-clock seconds (epoch) shifted by an adjustable, never-negative offset."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def utcnow(self) -> datetime:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc)

    @property
    def offset_seconds(self) -> float:
        return self._offset

    def advance(self, seconds: float) -> float:
        """Moves the clock forward (only forward: expired things must stay expired). Returns the new offset."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward; advanceSeconds must be >= 0")
        with self._lock:
            self._offset += float(seconds)
            return self._offset

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
