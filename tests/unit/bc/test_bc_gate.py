"""The per-connector gate is a step of every BC request: at most 5 in flight per connector per worker,
whichever client method sends them, and a gate that stays full lets the queue retry the message."""

from __future__ import annotations

import json
import threading
import time

import pytest
import requests

from shared.bc import BcClient, ConnectorGates, GateBusy
from shared.errors import TransientError, disposition
from tests.unit.bc._fakes import API_URL, COMPANY_ID, ENVIRONMENT, TENANT, FakeCredential


class SlowSession:
    """Stands in for requests.Session: each request takes 20 ms; counts how many run at once."""

    def __init__(self, pages: int = 1) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.pages = pages
        self.calls = 0

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        with self.lock:
            self.running += 1
            self.calls += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        page = int(url.rsplit("$skiptoken=", 1)[1]) if "$skiptoken=" in url else 0
        body: dict = {"value": [{"n": page}]} if "/customers" in url and method == "GET" else {"id": "x"}
        if "/customers" in url and method == "GET" and page + 1 < self.pages:
            body["@odata.nextLink"] = url.split("?", 1)[0] + f"?$skiptoken={page + 1}"
        if url.endswith("$batch"):
            body = {"responses": [{"id": "1", "status": 200, "body": {}}]}
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(body).encode()
        response.url = url
        return response


def _client(session: SlowSession, gates: ConnectorGates, connector: str = "acme") -> BcClient:
    return BcClient(api_url=API_URL, tenant=TENANT, environment=ENVIRONMENT, credential=FakeCredential(),
                    session=session, gate=gates.gate(connector))  # type: ignore[arg-type]


def _run_at_once(calls: list) -> None:
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_at_most_five_bc_calls_of_one_connector_run_at_once_whatever_the_threads():
    gates, session = ConnectorGates(), SlowSession()
    client = _client(session, gates)
    _run_at_once([lambda: client.create_entity(COMPANY_ID, "customers", {}) for _ in range(15)])
    assert session.peak == 5 == gates.peak["acme"]


def test_every_client_method_takes_a_slot_batch_and_each_page_of_a_list_included():
    gates, session = ConnectorGates(limit=1), SlowSession(pages=3)
    client = _client(session, gates)
    _run_at_once([
        lambda: client.batch([{"method": "GET", "url": f"companies({COMPANY_ID})/taxGroups"}]),
        lambda: list(client.list_entities(COMPANY_ID, "customers")),
        lambda: client.list_companies(),
        lambda: client.invoke_action(COMPANY_ID, f"salesInvoices({COMPANY_ID})", "Microsoft.NAV.post"),
        lambda: client.update_odata("CRONUS", "Customer_Card", "C1", {}, etag="*"),
    ])
    assert session.peak == 1 == gates.peak["acme"]
    assert session.calls == 7  # 3 pages + 4 single requests


def test_clients_of_one_connector_share_its_gate():
    gates, session = ConnectorGates(limit=2), SlowSession()
    clients = [_client(session, gates) for _ in range(6)]
    _run_at_once([lambda c=c: c.create_entity(COMPANY_ID, "customers", {}) for c in clients])
    assert session.peak == 2


def test_connectors_do_not_share_a_gate():
    gates, session = ConnectorGates(limit=1), SlowSession()
    _run_at_once([lambda name=name: _client(session, gates, name).create_entity(COMPANY_ID, "x", {})
                  for name in ("a", "b", "c")])
    assert session.peak >= 2


def test_a_list_holds_no_slot_between_pages():
    gates, session = ConnectorGates(limit=1, acquire_timeout=0.5), SlowSession(pages=2)
    client = _client(session, gates)
    rows = client.list_entities(COMPANY_ID, "customers")
    assert next(rows) == {"n": 0}
    client.create_entity(COMPANY_ID, "customers", {})  # would wait for the slot if the list still held it
    assert next(rows) == {"n": 1}


def test_a_gate_that_stays_full_lets_the_queue_retry_the_message():
    gates = ConnectorGates(limit=1, acquire_timeout=0.01)
    started = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with gates.slot("acme"):
            started.set()
            release.wait(1)

    blocker = threading.Thread(target=hold)
    blocker.start()
    started.wait(1)
    with pytest.raises(GateBusy, match="connector 'acme'") as caught:
        _client(SlowSession(), gates).list_companies()
    assert isinstance(caught.value, TransientError) and disposition(caught.value).action == "retry"
    release.set()
    blocker.join()


class _ClosedBudget:
    def acquire(self, user: str) -> object:
        from shared.bc import BudgetExhausted

        raise BudgetExhausted("used up", retry_after=9)

    def throttled(self, user: str, seconds: float) -> None:
        pass


def test_a_used_up_budget_refuses_the_request_before_anything_is_sent_and_frees_the_local_slot():
    from shared.bc import BudgetExhausted

    gates, session = ConnectorGates(limit=1, budget=_ClosedBudget()), SlowSession()
    client = _client(session, gates)

    for _ in range(2):  # the local slot is given back each time
        with pytest.raises(BudgetExhausted) as refused:
            client.list_companies()
        assert refused.value.retry_after == 9
    assert session.calls == 0
    assert disposition(refused.value).retry_after == 9
