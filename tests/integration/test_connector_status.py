"""Status transitions are decided once, however many workers see the same revoked grant."""

from __future__ import annotations

import threading

import pytest

from shared.adapters import ensure_table, table_service_from_settings
from shared.adapters.connector_store import InMemoryConnectorStore, TableConnectorStore
from shared.clock import SYSTEM_CLOCK
from shared.connectors import ConnectorRecord, ConnectorStatuses, parse_connector_settings
from tests._settings import connector_settings


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


def test_ten_workers_seeing_a_revoked_grant_send_one_notification(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    sent: list[dict] = []
    lock = threading.Lock()

    def notify(n):
        with lock:
            sent.append(n)

    statuses = ConnectorStatuses(store=store, notify=notify, clock=SYSTEM_CLOCK)

    def worker():
        statuses.mark_reconnect_required(unique_connector_name, reason="AADSTS50173: grant revoked.",
                                         consent_hint="Reconnect: POST /api/connectors/x/consent.")

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(unique_connector_name).status == "reconnect_required"
    assert len(sent) == 1
    assert sent[0]["event"] == "reconnect_required"
    assert sent[0]["recipients"] == ["ops@example.com"]
    assert "AADSTS50173" in sent[0]["message"]


def test_a_connector_already_awaiting_reconnection_is_not_notified_again(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    sent: list[dict] = []
    statuses = ConnectorStatuses(store=store, notify=sent.append, clock=SYSTEM_CLOCK)
    assert statuses.mark_reconnect_required(unique_connector_name, reason="r", consent_hint="h")
    assert not statuses.mark_reconnect_required(unique_connector_name, reason="r", consent_hint="h")
    assert len(sent) == 1


def test_marking_connected_clears_the_reconnect_reason(store, unique_connector_name):
    store.create(_record(unique_connector_name))
    statuses = ConnectorStatuses(store=store, notify=lambda n: None, clock=SYSTEM_CLOCK)
    statuses.mark_reconnect_required(unique_connector_name, reason="r", consent_hint="h")
    record = statuses.mark_connected(unique_connector_name, refresh_token_expires_at="2027-02-21T00:00:00Z")
    assert record.status == "connected"
    assert record.refresh_token_expires_at == "2027-02-21T00:00:00Z"
    assert "reconnectReason" not in record.stats
