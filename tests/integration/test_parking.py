"""Parked messages keep their order and text, and replay sends each before removing it."""

from __future__ import annotations

import pytest

from shared.adapters import ensure_table, table_service_from_settings
from shared.adapters.parking import InMemoryParkingLot, TableParkingLot
from shared.exports import replay_parked


@pytest.fixture(params=["memory", "table"])
def lot(request, azurite, unique_suffix):
    if request.param == "memory":
        return InMemoryParkingLot()
    service = table_service_from_settings({"AzureWebJobsStorage": azurite})
    return TableParkingLot(ensure_table(service.get_table_client(f"Parked{unique_suffix}")))


def test_parked_messages_are_listed_oldest_first_with_their_original_text(lot):
    for i in range(5):
        lot.park("acme", "bc-invoices", '{"n": %d}' % i, "AADSTS50173")
    assert [p.message for p in lot.list("acme")] == ['{"n": %d}' % i for i in range(5)]
    assert lot.list("other") == []


def test_replay_sends_in_order_and_leaves_nothing_parked(lot):
    lot.park("acme", "bc-customers", "first", "r")
    lot.park("acme", "bc-invoices", "second", "r")
    sent = []
    assert replay_parked(lot, "acme", lambda queue, text: sent.append((queue, text))) == 2
    assert sent == [("bc-customers", "first"), ("bc-invoices", "second")]
    assert lot.list("acme") == []


def test_a_failed_send_keeps_the_message_parked(lot):
    lot.park("acme", "bc-invoices", "kept", "r")

    def broken_send(queue, text):
        raise ConnectionError("queue unreachable")

    with pytest.raises(ConnectionError):
        replay_parked(lot, "acme", broken_send)
    assert [p.message for p in lot.list("acme")] == ["kept"]
