"""Timer triggers in the dev host: run_on_startup, retry policies, past_due (no storage needed)."""

from __future__ import annotations

import datetime as dt
import time

import azure.functions as func

from devtools._invoke import FunctionInvoker
from devtools._storage import send_outputs
from devtools._timers import TimerRunner
from devtools.devhost import DevHost, NCrontabSchedule

NEVER_SOON = "0 0 0 1 1 *"  # midnight on 1 January


def timer_app(calls: list, *, run_on_startup: bool = False, fail: bool = False, retries: int | None = None):
    app = func.FunctionApp()

    def body(timer: func.TimerRequest, context: func.Context) -> None:
        calls.append({"past_due": timer.past_due, "retry_count": context.retry_context.retry_count})
        if fail:
            raise RuntimeError("token endpoint unavailable")

    decorated = app.schedule(schedule="%SCHEDULE%", arg_name="timer", run_on_startup=run_on_startup)(body)
    if retries is not None:
        decorated = app.retry(strategy="fixed_delay", max_retry_count=str(retries),
                              delay_interval="00:00:00")(decorated)
    app.function_name("keepalive")(decorated)
    return app


def test_run_on_startup_fires_once_when_the_host_starts() -> None:
    calls: list = []
    host = DevHost(timer_app(calls, run_on_startup=True), {"SCHEDULE": NEVER_SOON}, port=0, queues=False).start()
    try:
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        host.stop()
    assert calls == [{"past_due": False, "retry_count": 0}]


def test_a_failing_timer_is_retried_as_its_retry_policy_says() -> None:
    calls: list = []
    host = DevHost(timer_app(calls, fail=True, retries=2), {"SCHEDULE": NEVER_SOON}, port=0, queues=False)

    invocation = host.run_timer("keepalive")

    assert [c["retry_count"] for c in calls] == [0, 1, 2]
    assert not invocation.succeeded
    assert str(invocation.error) == "token endpoint unavailable"


def test_an_invocation_later_than_its_schedule_is_past_due() -> None:
    calls: list = []
    (function,) = timer_app(calls).get_functions()
    scheduled = dt.datetime(2026, 11, 23, 3, 0, 0, tzinfo=dt.timezone.utc)
    runner = TimerRunner(FunctionInvoker(function), NCrontabSchedule.parse("0 0 3 * * *"),
                         send_outputs=lambda invoker, inv: send_outputs(None, invoker, inv),
                         clock=lambda: scheduled + dt.timedelta(minutes=5))

    runner.fire(scheduled=scheduled)

    assert calls == [{"past_due": True, "retry_count": 0}]


def test_a_timer_fires_on_demand_with_post_admin_functions_name_as_core_tools_does() -> None:
    import requests

    calls: list = []
    host = DevHost(timer_app(calls), {"SCHEDULE": NEVER_SOON}, port=0, queues=False).start()
    try:
        answer = requests.post(host.base_url + "/admin/functions/keepalive", json={"input": ""}, timeout=10)
        assert answer.status_code == 202
        deadline = time.monotonic() + 5
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(calls) == 1
        assert requests.post(host.base_url + "/admin/functions/nosuch", json={}, timeout=10).status_code == 404
    finally:
        host.stop()
