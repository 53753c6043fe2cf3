"""Real-time expenses without BC or storage: where BC can notify, the clientState check, and the coalescing
of import requests (in-memory twins of the ImportRequests table and the bc-import-requests queue)."""

from __future__ import annotations

import datetime as _dt
import json
import threading
from dataclasses import dataclass, field

import pytest

from shared.adapters.secrets import InMemorySecretStore, webhook_state_name
from shared.adapters.webhook_subscriptions import InMemoryImportRequestRows, InMemoryRequestQueue
from shared.errors import InvalidInput, NotFound
from shared.webhooks import ExpenseNotifications, notification_base
from tests._clock import FixedClock

NOW = _dt.datetime(2026, 11, 2, 10, tzinfo=_dt.timezone.utc)

SANDBOX = "https://127.0.0.1:8443"
CLOUD = "https://api.businesscentral.dynamics.com"


@pytest.mark.parametrize("public_base_url, bc_api_url, usable", [
    ("https://bc-connector.azurewebsites.net", CLOUD, True),
    ("http://bc-connector.azurewebsites.net", CLOUD, False),  # BC Online needs https
    ("http://127.0.0.1:7071", CLOUD, False),
    ("http://127.0.0.1:7071", SANDBOX, True),  # the sandbox on this machine reaches loopback
    ("http://localhost:7071", SANDBOX, True),
    ("https://10.1.2.3", CLOUD, False),
    ("https://192.168.1.5", SANDBOX, False),
    ("https://host.internal", CLOUD, False),
    (None, CLOUD, False),
])
def test_real_time_is_on_by_default_only_where_bc_can_reach_the_app(public_base_url, bc_api_url, usable):
    base, why = notification_base(public_base_url, bc_api_url)
    assert (base is not None) is usable, why
    assert why


@dataclass
class _Summary:
    status: str


@dataclass
class _Importer:
    statuses: list[str] = field(default_factory=lambda: ["completed"])
    runs: list[str] = field(default_factory=list)

    def import_one(self, name: str, *, budget_seconds: float | None = None) -> _Summary:
        self.runs.append(name)
        return _Summary(self.statuses.pop(0) if self.statuses else "completed")



def _intake(importer: _Importer | None = None, clock: FixedClock | None = None):
    secrets = InMemorySecretStore()
    secrets.set_secret(webhook_state_name("acme"), "s3cret-state")
    queue = InMemoryRequestQueue()
    rows = InMemoryImportRequestRows()
    intake = ExpenseNotifications(connectors=None, secrets=secrets, rows=rows, queue=queue,  # type: ignore[arg-type]
                                  importer=importer or _Importer(), clock=clock or FixedClock(NOW))
    return intake, queue, rows


def _body(*states: str) -> bytes:
    return json.dumps({"value": [{"subscriptionId": "a" * 32, "clientState": s, "changeType": "created"}
                                 for s in states]}).encode()


def test_a_notification_with_the_connectors_client_state_queues_one_run():
    intake, queue, _ = _intake()
    receipt = intake.receive("acme", _body("s3cret-state", "s3cret-state"))
    assert (receipt.items, receipt.queued, queue.sent) == (2, True, [("acme", 0)])


@pytest.mark.parametrize("states", [("wrong",), ("s3cret-state", "wrong"), ("",)])
def test_a_notification_with_any_wrong_client_state_is_refused_and_queues_nothing(states):
    intake, queue, rows = _intake()
    with pytest.raises(NotFound):
        intake.receive("acme", _body(*states))
    assert queue.sent == [] and rows.rows == {}


def test_a_connector_without_a_client_state_refuses_every_notification():
    intake, queue, _ = _intake()
    with pytest.raises(NotFound):
        intake.receive("other", _body("s3cret-state"))
    with pytest.raises(NotFound):
        intake.receive("../acme", _body("s3cret-state"))
    assert queue.sent == []


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"value": []}', b'{"value": ["x"]}'])
def test_a_body_that_is_not_bcs_shape_is_invalid_input(body):
    intake, queue, _ = _intake()
    with pytest.raises(InvalidInput):
        intake.receive("acme", body)
    assert queue.sent == []


def test_the_handshake_echoes_only_a_bounded_url_safe_token():
    assert ExpenseNotifications.handshake("7c1d-Ab_09~.") == "7c1d-Ab_09~."
    for bad in ("", "x" * 1025, "<b>", "a b", "a\nb"):
        with pytest.raises(InvalidInput):
            ExpenseNotifications.handshake(bad)


def test_concurrent_notifications_queue_exactly_one_run_until_it_starts():
    intake, queue, rows = _intake()
    barrier = threading.Barrier(16)

    def notify() -> None:
        barrier.wait()
        intake.request_run("acme")

    threads = [threading.Thread(target=notify) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert queue.sent == [("acme", 0)]
    assert rows.rows["acme"].queued is True


def test_a_notification_during_a_run_queues_one_further_run_and_no_more():
    importer = _Importer()
    intake, queue, _ = _intake(importer)
    intake.request_run("acme")
    during: list[bool] = []
    importer.import_one = lambda name, **kw: (during.extend([intake.request_run(name), intake.request_run(name)]),  # type: ignore[method-assign]
                                              _Summary("completed"))[1]
    intake.run_requested(json.dumps({"connector": "acme"}))
    assert during == [True, False]
    assert queue.sent == [("acme", 0), ("acme", 0)]


def test_a_queued_flag_whose_message_was_lost_stops_coalescing_after_ten_minutes():
    clock = FixedClock(NOW)
    intake, queue, _ = _intake(clock=clock)
    intake.request_run("acme")
    assert intake.request_run("acme") is False
    clock.at += _dt.timedelta(minutes=11)
    assert intake.request_run("acme") is True
    assert len(queue.sent) == 2


def test_a_run_that_finds_the_import_busy_asks_for_another_one_a_little_later():
    intake, queue, _ = _intake(_Importer(statuses=["busy"]))
    intake.request_run("acme")
    intake.run_requested(json.dumps({"connector": "acme"}))
    assert queue.sent == [("acme", 0), ("acme", 15)]


def test_a_requested_run_message_that_names_no_connector_is_dropped():
    importer = _Importer()
    intake, _queue, _ = _intake(importer)
    for text in ("", "{}", '{"connector": 5}', '{"connector": "../x"}'):
        assert intake.run_requested(text) is None
    assert importer.runs == []


class _CountingSecrets(InMemorySecretStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_secret(self, name: str) -> str | None:
        self.reads += 1
        return super().get_secret(name)


def test_refused_notifications_do_not_turn_into_a_key_vault_read_each():
    secrets = _CountingSecrets()
    secrets.set_secret(webhook_state_name("acme"), "s3cret-state")
    intake = ExpenseNotifications(connectors=None, secrets=secrets, rows=InMemoryImportRequestRows(),  # type: ignore[arg-type]
                                  queue=InMemoryRequestQueue(), importer=_Importer(), clock=FixedClock(NOW))
    intake.receive("acme", _body("s3cret-state"))
    for _ in range(20):
        with pytest.raises(NotFound):
            intake.receive("acme", _body("guess"))
        with pytest.raises(NotFound):
            intake.receive("nobody", _body("guess"))
    assert secrets.reads <= 3
