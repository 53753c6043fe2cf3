"""Status transitions are decided once, however many workers see the same revoked grant, and people are told
once."""

from __future__ import annotations

import threading

import pytest

from shared.adapters import ensure_table, table_service_from_settings
from shared.adapters.connector_store import InMemoryConnectorStore, TableConnectorStore
from shared.clock import SYSTEM_CLOCK
from shared.connectors import ConnectorRecord, ConnectorStatuses, parse_connector_settings
from shared.bootstrap import bootstrap
from tests._settings import connector_settings
from tests._worker import memory_adapters


def _record(name: str) -> ConnectorRecord:
    return ConnectorRecord(name=name, settings=parse_connector_settings(connector_settings()),
                           status="connected", company_id="c1", company_name="CRONUS USA, Inc.",
                           tax_mode="salesTax", refresh_token_expires_at=None)


@pytest.fixture(params=["memory", "table"])
def store(request, azurite, unique_suffix):
    if request.param == "memory":
        return InMemoryConnectorStore()
    service = table_service_from_settings({"AzureWebJobsStorage": azurite})
    return TableConnectorStore(ensure_table(service.get_table_client(f"Status{unique_suffix}")))


def test_of_ten_workers_seeing_a_revoked_grant_exactly_one_makes_the_transition(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    statuses = ConnectorStatuses(store=store, clock=SYSTEM_CLOCK)
    won: list[bool] = []
    lock = threading.Lock()

    def worker():
        made = statuses.mark_reconnect_required(unique_connector_name, reason="AADSTS50173: grant revoked.")
        with lock:
            won.append(made)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(unique_connector_name).status == "reconnect_required"
    assert sorted(won) == [False] * 9 + [True]
    assert store.get(unique_connector_name).stats["reconnectReason"] == "AADSTS50173: grant revoked."


def test_ten_workers_reporting_a_revoked_grant_send_one_notification(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    adapters = memory_adapters({"PUBLIC_BASE_URL": "https://app.test", "BC_CLIENT_ID": "client-1"},
                               connector_store=store)
    consent = bootstrap(adapters=adapters).consent

    threads = [threading.Thread(target=consent.report, args=(unique_connector_name, "AADSTS50173: grant revoked."))
               for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sent = list(adapters.notifier)
    assert store.get(unique_connector_name).status == "reconnect_required"
    assert len(sent) == 1
    assert sent[0]["event"] == "reconnect_required"
    assert sent[0]["recipients"] == ["ops@example.com"]
    assert "AADSTS50173" in sent[0]["message"]


def test_a_connector_already_awaiting_reconnection_is_not_notified_again(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    adapters = memory_adapters({"PUBLIC_BASE_URL": "https://app.test", "BC_CLIENT_ID": "client-1"},
                               connector_store=store)
    consent = bootstrap(adapters=adapters).consent
    assert consent.report(unique_connector_name, "r")
    assert not consent.report(unique_connector_name, "r")
    assert len(adapters.notifier) == 1


def test_marking_connected_clears_the_reconnect_reason(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    statuses = ConnectorStatuses(store=store, clock=SYSTEM_CLOCK)
    statuses.mark_reconnect_required(unique_connector_name, reason="r")
    record = statuses.mark_connected(unique_connector_name, refresh_token_expires_at="2027-02-21T00:00:00Z")
    assert record.status == "connected"
    assert record.refresh_token_expires_at == "2027-02-21T00:00:00Z"
    assert "reconnectReason" not in record.stats
