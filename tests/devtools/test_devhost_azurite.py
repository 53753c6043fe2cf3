"""The dev host end to end against Azurite: queue triggers with host.json semantics, outputs, HTTP, timers.

Each test builds a throwaway FunctionApp and uses its own queue names, so tests can share one Azurite.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import azure.functions as func
import pytest
import requests
from azure.storage.queue import QueueClient

from devtools.devhost import DevHost, HostConfig

pytestmark = pytest.mark.integration

#: host.json's queue settings with the waits shortened so a retry or a poll takes milliseconds.
FAST = replace(HostConfig.load(Path(__file__).resolve().parents[2] / "host.json").queues,
               visibility_timeout=0.0, max_polling_interval=0.2)


class Recorder:
    """What the throwaway functions saw, and how many ran at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[dict[str, Any]] = []
        self.running = 0
        self.max_running = 0

    def enter(self) -> int:
        """Count a start; returns how many invocations started before this one."""
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            self.started = getattr(self, "started", 0) + 1
            return self.started - 1

    def leave(self) -> None:
        with self.lock:
            self.running -= 1


def build_app(rec: Recorder, *, work_seconds: Callable[[int], float] = lambda started_before: 0.0
              ) -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.function_name("work")
    @app.queue_trigger(arg_name="msg", queue_name="%WORK_QUEUE%", connection="AzureWebJobsStorage")
    @app.queue_output(arg_name="done", queue_name="%DONE_QUEUE%", connection="AzureWebJobsStorage")
    def work(msg: func.QueueMessage, done: func.Out[str]) -> None:
        started_before = rec.enter()
        try:
            data = msg.get_json()
            rec.seen.append({"id": data["id"], "dequeue_count": msg.dequeue_count, "message_id": msg.id})
            time.sleep(work_seconds(started_before))
            if data.get("fail"):
                raise RuntimeError("BC answered 503")  # transient: the queue redelivers
            done.set(json.dumps({"id": data["id"], "status": "created"}))
        finally:
            rec.leave()

    @app.function_name("greet")
    @app.route(route="greet/{name}", methods=["GET"])
    def greet(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"hello": req.route_params["name"], "lang": req.params.get("lang")}),
                                 mimetype="application/json")

    @app.function_name("tick")
    @app.schedule(schedule="%TICK_SCHEDULE%", arg_name="timer", run_on_startup=False)
    def tick(timer: func.TimerRequest) -> None:
        rec.seen.append({"tick": True, "past_due": timer.past_due})

    return app


@pytest.fixture
def names() -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {"WORK_QUEUE": "devhost-work-%s" % suffix, "DONE_QUEUE": "devhost-done-%s" % suffix,
            "TICK_SCHEDULE": "0 0 0 1 1 *"}


@pytest.fixture
def environ(azurite: str, names: dict[str, str]) -> dict[str, str]:
    return {"AzureWebJobsStorage": azurite, **names}


@pytest.fixture
def make_host(environ: dict[str, str]) -> Callable[..., DevHost]:
    hosts: list[DevHost] = []

    def make(app: func.FunctionApp, **options: Any) -> DevHost:
        options.setdefault("queue_settings", FAST)
        host = DevHost(app, environ, port=0, **options)
        hosts.append(host)
        return host

    yield make
    for host in hosts:
        host.stop()


def queue(environ: dict[str, str], name: str) -> QueueClient:
    client = QueueClient.from_connection_string(environ["AzureWebJobsStorage"], name)
    try:
        client.create_queue()
    except Exception:
        pass
    return client


def texts(client: QueueClient) -> list[str]:
    return [m.content for m in client.receive_messages(max_messages=32, visibility_timeout=1)]


def wait_for(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("condition not met within %ss" % timeout)


def test_a_message_runs_the_function_and_its_output_reaches_the_output_queue(make_host, environ, names) -> None:
    rec = Recorder()
    make_host(build_app(rec), timers=False).start()
    queue(environ, names["WORK_QUEUE"]).send_message(json.dumps({"id": "c-1"}))

    done = wait_for(lambda: texts(queue(environ, names["DONE_QUEUE"])))

    assert [json.loads(t) for t in done] == [{"id": "c-1", "status": "created"}]
    assert rec.seen[0]["dequeue_count"] == 1
    assert wait_for(lambda: not texts(queue(environ, names["WORK_QUEUE"])) or None) is True


def test_a_failing_message_is_redelivered_then_moved_to_poison_after_max_dequeue_count(
        make_host, environ, names) -> None:
    rec = Recorder()
    host = make_host(build_app(rec), queues=False, timers=False)
    body = json.dumps({"id": "inv-9", "fail": True})
    host.poll_queues_once()  # creates the queues
    queue(environ, names["WORK_QUEUE"]).send_message(body)

    outcomes = [o for _ in range(FAST.max_dequeue_count) for o in host.poll_queues_once()]

    assert [(o.dequeue_count, o.outcome) for o in outcomes] == [
        (1, "retry"), (2, "retry"), (3, "retry"), (4, "retry"), (5, "poisoned")]
    assert outcomes[-1].error == "RuntimeError: BC answered 503"
    assert texts(queue(environ, names["WORK_QUEUE"] + "-poison")) == [body]
    assert texts(queue(environ, names["WORK_QUEUE"])) == []
    assert texts(queue(environ, names["DONE_QUEUE"])) == []  # outputs of failed runs are never sent
    assert [s["dequeue_count"] for s in rec.seen] == [1, 2, 3, 4, 5]


def test_a_failed_message_waits_for_the_visibility_timeout_before_it_returns(make_host, environ, names) -> None:
    rec = Recorder()
    host = make_host(build_app(rec), queues=False, timers=False,
                     queue_settings=replace(FAST, visibility_timeout=1.0))
    host.poll_queues_once()
    queue(environ, names["WORK_QUEUE"]).send_message(json.dumps({"id": "x", "fail": True}))

    assert [o.outcome for o in host.poll_queues_once()] == ["retry"]
    assert host.poll_queues_once() == []  # still invisible
    time.sleep(1.2)
    assert [(o.dequeue_count, o.outcome) for o in host.poll_queues_once()] == [(2, "retry")]


def test_at_most_batch_size_plus_new_batch_threshold_messages_run_at_once(make_host, environ, names) -> None:
    rec = Recorder()
    # The first invocation is slow, the others quick: once 3 of the first batch of 4 are done, the
    # listener fetches the next 4 while the slow one still runs.
    make_host(build_app(rec, work_seconds=lambda started_before: 1.0 if started_before == 0 else 0.05),
              timers=False).start()
    work = queue(environ, names["WORK_QUEUE"])
    for i in range(12):
        work.send_message(json.dumps({"id": "p-%d" % i}))

    wait_for(lambda: len(rec.seen) == 12 and rec.running == 0, timeout=20)

    assert rec.max_running == FAST.batch_size + FAST.threshold == 5


def test_base64_messages_are_decoded_when_host_json_says_base64(make_host, environ, names) -> None:
    rec = Recorder()
    host = make_host(build_app(rec), queues=False, timers=False,
                     queue_settings=replace(FAST, message_encoding="base64"))
    host.poll_queues_once()
    queue(environ, names["WORK_QUEUE"]).send_message(base64.b64encode(b'{"id": "b64"}').decode())

    assert [o.outcome for o in host.poll_queues_once()] == ["succeeded"]
    assert rec.seen[0]["id"] == "b64"
    done = texts(queue(environ, names["DONE_QUEUE"]))
    assert [json.loads(base64.b64decode(t)) for t in done] == [{"id": "b64", "status": "created"}]


def test_a_message_that_is_not_base64_goes_straight_to_poison(make_host, environ, names) -> None:
    host = make_host(build_app(Recorder()), queues=False, timers=False,
                     queue_settings=replace(FAST, message_encoding="base64"))
    host.poll_queues_once()
    queue(environ, names["WORK_QUEUE"]).send_message('{"id": "plain text"}')

    outcomes = host.poll_queues_once()

    assert [(o.outcome, o.error) for o in outcomes] == [
        ("poisoned", "message is not base64 but host.json says messageEncoding 'base64'")]
    assert texts(queue(environ, names["WORK_QUEUE"] + "-poison")) == ['{"id": "plain text"}']


def test_an_http_route_with_params_answers_over_a_real_socket(make_host) -> None:
    host = make_host(build_app(Recorder()), queues=False, timers=False).start()

    response = requests.get(host.base_url + "/api/greet/Ada%20Lovelace", params={"lang": "en"}, timeout=5)

    assert response.status_code == 200
    assert response.json() == {"hello": "Ada Lovelace", "lang": "en"}
    assert requests.get(host.base_url + "/api/greet", timeout=5).status_code == 404
    assert requests.post(host.base_url + "/api/greet/x", timeout=5).status_code == 405


def test_a_timer_fires_on_its_schedule_from_an_app_setting(make_host, environ) -> None:
    environ["TICK_SCHEDULE"] = "* * * * * *"  # every second
    rec = Recorder()
    make_host(build_app(rec), queues=False).start()

    ticks = wait_for(lambda: [s for s in rec.seen if s.get("tick")], timeout=5)

    assert ticks[0] == {"tick": True, "past_due": False}


def test_a_missing_queue_name_setting_is_named_when_the_host_starts(make_host, environ) -> None:
    del environ["WORK_QUEUE"]
    host = make_host(build_app(Recorder()), timers=False)

    with pytest.raises(LookupError, match=r"app setting 'WORK_QUEUE' \(used as %WORK_QUEUE% in the queue "
                                          r"trigger of work\) is not set"):
        host.start()
