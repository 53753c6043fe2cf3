"""A grant revoked in the middle of a stream of exports: the rest is parked, one notification goes out, and
after the consent every parked message is replayed once, in order. Also `POST /connectors/{name}/replay`.

The exports are the real queue functions (`functions/exports.py`), called as the host calls them.
"""

from __future__ import annotations

import json
import threading

import pytest

from sandbox import constants
from shared.errors import ConflictError
from tests._app import call_http, json_of
from tests.integration.consent._helpers import consent, outcome, page_text, put_delegated
from tests.integration.exports._helpers import OutcomeReader, customer_data, deliver, message

pytestmark = pytest.mark.integration


def take_from_queue(services, connector: str) -> list[str]:
    """Receive and delete this connector's messages on `bc-customers`, oldest first (others are left)."""
    queue = services.queue("customers")
    mine: list[str] = []
    while True:
        batch = list(next(queue.receive_messages(messages_per_page=32, visibility_timeout=2).by_page(), []))
        batch = [m for m in batch if json.loads(m.content).get("connector") == connector]
        if not batch:
            return mine
        for item in batch:
            mine.append(item.content)
            queue.delete_message(item)


def test_a_revocation_mid_stream_parks_the_rest_and_replays_each_once_after_reconsent(
        services, connector_name, sandbox, bc, new_worker):
    outcomes = OutcomeReader(services)
    put_delegated(connector_name)
    assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
    texts = [message(connector_name, "customer", customer_data(f"c-{i:02d}", name=f"Stream customer {i}"))
             for i in range(1, 11)]
    take_from_queue(services, connector_name)

    for text in texts[:4]:
        deliver("bc-customers", text)
    bc.revoke_grant(constants.TENANT_ID, constants.DEMO_CLIENT_ID)
    new_worker()  # the worker's access token has expired: the next BC call needs the refresh token
    for text in texts[4:]:
        deliver("bc-customers", text)

    statuses = [(o["id"], o["status"]) for o in outcomes.of(connector_name)]
    assert statuses == [(f"c-{i:02d}", "created") for i in range(1, 5)] + \
                      [(f"c-{i:02d}", "parked") for i in range(5, 11)]
    assert services.store().get(connector_name).status == "reconnect_required"
    (notice,) = [n for n in services.notifications if n["event"] == "reconnect_required"]
    assert "AADSTS50173" in notice["message"]
    assert notice["details"]["consentUrl"].startswith(sandbox.url)  # a link a person can open at once
    assert [p.message for p in services.parking().list(connector_name)] == texts[4:]

    page = consent(connector_name, sandbox.ca_bundle)

    assert outcome(page) == "connected"
    assert "6 waiting messages sent again" in page_text(page)
    assert services.parking().list(connector_name) == []
    replayed = take_from_queue(services, connector_name)
    assert replayed == texts[4:]  # each parked message once, in order, byte for byte
    for text in replayed:
        deliver("bc-customers", text)
    final = [(o["id"], o["status"]) for o in outcomes.of(connector_name) if o["status"] != "parked"]
    assert final == [(f"c-{i:02d}", "created") for i in range(1, 11)]
    assert take_from_queue(services, connector_name) == []


def test_replay_is_refused_while_the_connector_needs_reconnecting(services, connector_name, sandbox):
    put_delegated(connector_name)

    response = call_http("replay_connector", route_params={"name": connector_name})

    assert response.status_code == 409
    message_text = json_of(response)["errors"][0]["message"]
    assert "consent_required" in message_text and "Complete the consent first" in message_text


def test_replay_on_demand_sends_parked_messages_in_order_and_failed_ones_after(services, connector_name, sandbox):
    put_delegated(connector_name, customers__enabled=False)
    assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
    take_from_queue(services, connector_name)
    failed_text = message(connector_name, "customer", customer_data("c-failed"))
    deliver("bc-customers", failed_text)  # customers.enabled is false: a failed message kept for replay
    parked = [message(connector_name, "customer", customer_data(f"p-{i}")) for i in range(3)]
    for text in parked:
        services.parking().park(connector_name, "bc-customers", text, "test")

    response = call_http("replay_connector", route_params={"name": connector_name})

    assert response.status_code == 200
    assert json_of(response) == {"connector": connector_name, "replayed": {"parked": 3, "failed": 1},
                                 "busy": False}
    assert take_from_queue(services, connector_name) == parked + [failed_text]
    assert services.parking().list(connector_name) == []


def test_two_replays_at_once_send_every_parked_message_exactly_once(services, connector_name, sandbox,
                                                                    monkeypatch):
    put_delegated(connector_name)
    assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
    texts = [f'{{"connector": "{connector_name}", "n": {i}}}' for i in range(30)]
    for text in texts:
        services.parking().park(connector_name, "bc-customers", text, "test")
    sent: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def send(queue, text):
        with lock:
            sent.append(text)

    monkeypatch.setattr(services.adapters.queues, "send_text", send)  # the consent's queue sender
    service = services.consent()
    busy: list[bool] = []

    def worker():
        barrier.wait()
        try:
            busy.append(service.replay(connector_name).busy)
        except ConflictError as err:  # POST /replay answers 409 while the other replay holds the lease
            assert "already running" in str(err)
            busy.append(True)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(sent) == sorted(texts) and len(sent) == 30
    assert sent == texts  # and in parking order
    assert sorted(busy) in ([False, True], [False, False])
    assert services.parking().list(connector_name) == []
