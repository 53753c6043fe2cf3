"""The per-connector gate keeps BC calls in flight at BC's 5, and BC's error texts are traced to host fields."""

from __future__ import annotations

import threading
import time

import pytest

from shared.exports import ConnectorGates, GateBusy, GatedClient
from shared.exports import attribute_field


class SlowClient:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0

    def create_entity(self, *args):
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return {"id": "x"}

    def list_entities(self, *args, **kwargs):
        yield from ({"n": i} for i in range(3))


def test_at_most_five_bc_calls_of_one_connector_run_at_once_whatever_the_threads():
    gates = ConnectorGates()
    client = SlowClient()
    gated = GatedClient(client, gates, "acme")
    threads = [threading.Thread(target=gated.create_entity, args=("c", "customers", {})) for _ in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.peak == 5 == gates.peak["acme"]


def test_connectors_do_not_share_a_gate():
    gates = ConnectorGates(limit=1)
    client = SlowClient()
    threads = [threading.Thread(target=GatedClient(client, gates, name).create_entity, args=("c", "x", {}))
               for name in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert client.peak >= 2


def test_list_calls_are_read_to_the_end_inside_the_gate():
    assert GatedClient(SlowClient(), ConnectorGates(), "acme").list_entities("c", "x") == [{"n": 0}, {"n": 1},
                                                                                          {"n": 2}]


def test_a_gate_that_stays_full_lets_the_queue_retry_the_message():
    gates = ConnectorGates(limit=1, acquire_timeout=0.01)
    started = threading.Event()
    release = threading.Event()
    blocker = threading.Thread(target=gates.run, args=("acme", lambda: (started.set(), release.wait(1))))
    blocker.start()
    started.wait(1)
    with pytest.raises(GateBusy, match="connector 'acme'"):
        gates.run("acme", lambda: None)
    release.set()
    blocker.join()


CANDIDATES = [
    ("data.number", ("enter numbers manually",), "NW-1"),
    ("customers.domestic.customerPostingGroup", ("Customer Posting Group",), "GONE"),
    ("data.currencyCode", ('"currencyCode"',), "XYZ"),
    ("data.lines[0].unitOfMeasure", (), "BOX"),
    ("data.lines[1].product.number", (), "1999-B"),
    ("data.project.number", (), "P-0999"),
]


@pytest.mark.parametrize("message, field", [
    ("You may not enter numbers manually. If you want to enter numbers manually, please activate Manual Nos. in "
     "No. Series CUST.", "data.number"),
    ("The field Customer Posting Group of table Customer contains a value (GONE) that cannot be found in the "
     "related table (Customer Posting Group).", "customers.domestic.customerPostingGroup"),
    ('The "currencyCode" does not match to a Currency.', "data.currencyCode"),
    ("The field Unit of Measure Code of table Sales Line contains a value (BOX) that cannot be found in the "
     "related table (Item Unit of Measure).", "data.lines[0].unitOfMeasure"),
    ("Blocked must be equal to 'No'  in Item: No.=1999-B. Current value is 'Yes'.", "data.lines[1].product.number"),
    ("Dimension Value PROJECT - P-0999 is blocked.", "data.project.number"),
    ("Something BC says about nothing we sent.", "data"),
])
def test_bcs_messages_are_traced_to_the_host_field_they_are_about(message, field):
    assert attribute_field(message, CANDIDATES, "data") == field
