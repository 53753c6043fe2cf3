"""Timer triggers: fire on their NCRONTAB schedule (UTC), honour run_on_startup and the retry policy.

Like the host, one timer function never overlaps itself: the next occurrence is computed after an
invocation ends. Not emulated: ``use_monitor`` (no schedule status is persisted, so occurrences missed
while the dev host was down are not caught up) and singleton locks across instances.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any, Callable

from azure.functions.timer import TimerRequest

from devtools._config import parse_timespan
from devtools._invoke import FunctionInvoker, Invocation
from devtools._ncrontab import NCrontabSchedule

__all__ = ["TimerRunner"]

log = logging.getLogger("devhost")

#: An invocation that starts more than this after its scheduled time is reported as past due.
PAST_DUE_AFTER = dt.timedelta(seconds=1)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class TimerRunner:
    """One timer-triggered function."""

    def __init__(self, invoker: FunctionInvoker, schedule: NCrontabSchedule, *,
                 send_outputs: Callable[[FunctionInvoker, Invocation], list[str]],
                 clock: Callable[[], dt.datetime] = _utcnow) -> None:
        self.invoker = invoker
        self.schedule = schedule
        self.run_on_startup = bool(getattr(invoker.trigger, "run_on_startup", False))
        self._send_outputs = send_outputs
        self._clock = clock
        self._retry = _retry_policy(invoker.function)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: dt.datetime | None = None

    def next_occurrence(self) -> dt.datetime:
        return self.schedule.next_after(self._clock())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="timer-%s" % self.invoker.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        if self.run_on_startup:
            self.fire(reason="run on startup")
        while not self._stop.is_set():
            now = self._clock()
            due = self.schedule.next_after(now)
            if self._stop.wait(max(0.0, (due - now).total_seconds())):
                return
            self.fire(scheduled=due)

    def fire(self, *, scheduled: dt.datetime | None = None, reason: str = "schedule") -> Invocation:
        """Invoke now (with retries per the function's retry policy); returns the last invocation."""
        now = self._clock()
        past_due = scheduled is not None and now - scheduled > PAST_DUE_AFTER
        status = {"Last": (self._last or now).isoformat(), "Next": self.schedule.next_after(now).isoformat(),
                  "LastUpdated": now.isoformat()}
        timer = TimerRequest(past_due=past_due, schedule_status=status, schedule={"AdjustForDST": True})
        describe = "timerTrigger '%s', %s%s" % (self.schedule.expression, reason, ", past due" if past_due else "")
        max_retries = self._retry.max_retries if self._retry else 0
        attempt = 0
        while True:
            inv = self.invoker.invoke(timer, retry_count=attempt, max_retry_count=max_retries)
            if inv.succeeded:
                try:
                    written = self._send_outputs(self.invoker, inv)
                    if written:
                        describe += ", wrote " + ", ".join(written)
                except Exception as exc:
                    inv.succeeded, inv.error = False, exc
            self.invoker.log_result(inv, describe + (", retry %d" % attempt if attempt else ""))
            if inv.succeeded or self._retry is None or (0 <= max_retries <= attempt):
                break
            delay = self._retry.delay(attempt)
            log.info("Functions.%s: retrying in %.1fs (retry policy %s)", self.invoker.name, delay,
                     self._retry.strategy)
            if self._stop.wait(delay):
                break
            attempt += 1
        self._last = now
        return inv


class _RetryPolicy:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.strategy = str(settings.get("strategy"))
        self.max_retries = int(settings.get("max_retry_count", 0))
        if self.strategy == "fixed_delay":
            self._fixed = parse_timespan(settings.get("delay_interval", "00:00:00"))
        elif self.strategy == "exponential_backoff":
            self._min = parse_timespan(settings.get("minimum_interval", "00:00:01"))
            self._max = parse_timespan(settings.get("maximum_interval", "00:15:00"))
        else:
            raise ValueError("unknown retry strategy %r" % self.strategy)

    def delay(self, attempt: int) -> float:
        if self.strategy == "fixed_delay":
            return self._fixed
        return min(self._min * (2 ** attempt), self._max)


def _retry_policy(function: Any) -> _RetryPolicy | None:
    try:
        settings = function.get_settings_dict("retry_policy")
    except Exception:
        return None
    return _RetryPolicy(settings) if settings else None
