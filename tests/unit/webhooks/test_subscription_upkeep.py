"""WebhookSubscriptions against a fake BC: what a save creates, what BC's refusal leaves, when a renewal is
due, and that the clientState never leaves Key Vault."""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field

from shared.adapters.connector_store import InMemoryConnectorStore
from shared.adapters.secrets import InMemorySecretStore, webhook_state_name
from shared.adapters.webhook_subscriptions import InMemorySubscriptionStore
from shared.bc import BcValidationError
from shared.clock import iso
from shared.connectors import ConnectorRecord, parse_connector_settings
from shared.webhooks import WebhookOptions, WebhookSubscriptions
from tests._clock import FixedClock

COMPANY = "11111111-2222-3333-4444-555555555555"
NOW = _dt.datetime(2026, 11, 2, 10, tzinfo=_dt.timezone.utc)



@dataclass
class _Bc:
    clock: FixedClock
    refuse: bool = False
    subs: dict[str, dict] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def for_record(self, record: ConnectorRecord) -> "_Bc":
        return self

    def _answer(self, sid: str, url: str, resource: str) -> dict:
        sub = {"subscriptionId": sid, "notificationUrl": url, "resource": resource, "@odata.etag": f'W/"{sid}"',
               "expirationDateTime": iso(self.clock.now() + _dt.timedelta(days=3))}
        self.subs[sid] = sub
        return sub

    def create_subscription(self, *, notification_url: str, resource: str, client_state: str) -> dict:
        self.calls.append("POST")
        if self.refuse:
            raise BcValidationError("The subscription could not be validated.", status=400, method="POST",
                                    path="/subscriptions")
        return self._answer(f"s{len(self.calls)}", notification_url, resource)

    def get_subscription(self, subscription_id: str) -> dict | None:
        self.calls.append("GET")
        return self.subs.get(subscription_id)

    def renew_subscription(self, subscription_id: str, *, etag: str, notification_url: str, resource: str,
                           client_state: str) -> dict:
        self.calls.append("PATCH")
        return self._answer(subscription_id, notification_url, resource)

    def delete_subscription(self, subscription_id: str, *, etag: str = "*") -> bool:
        self.calls.append("DELETE")
        return self.subs.pop(subscription_id, None) is not None


def _world(refuse: bool = False, **expenses):
    clock = FixedClock(NOW)
    record = ConnectorRecord(
        name="acme", status="connected", company_id=COMPANY, company_name="CRONUS", tax_mode="salesTax",
        refresh_token_expires_at=None,
        settings=parse_connector_settings({
            "tenantId": "contoso.onmicrosoft.com", "environment": "Production", "company": "CRONUS",
            "auth": {"mode": "clientCredentials"}, "projects": {"dimension": "PROJECT"},
            "expenses": {"enabled": True, "fromDate": "2026-09-01", "activity": "Purchases", **expenses}}))
    store, secrets, bc = InMemorySubscriptionStore(), InMemorySecretStore(), _Bc(clock, refuse=refuse)
    use = WebhookSubscriptions(connectors=InMemoryConnectorStore([record]), store=store, secrets=secrets,
                               bc_clients=bc, clock=clock,
                               options=WebhookOptions(public_base_url="https://app.example.com",
                                                      bc_api_url="https://api.businesscentral.dynamics.com"))
    return use, record, store, secrets, bc, clock


def test_a_save_subscribes_the_source_with_a_client_state_kept_only_in_key_vault():
    use, record, store, secrets, bc, _ = _world()
    checks = use.sync(record)
    assert checks and "created" in checks[0]
    [row] = store.list("acme")
    assert (row.entity_set, row.state) == ("purchaseInvoices", "active")
    assert row.notification_url == "https://app.example.com/api/bc/notifications?connector=acme"
    state = secrets.get_secret(webhook_state_name("acme"))
    assert state and len(state) == 64
    assert state not in json.dumps(use.view(record)) and state not in repr(row)


def test_bcs_refusal_is_kept_on_the_row_and_does_not_fail_the_save():
    use, record, store, _secrets, _bc, _ = _world(refuse=True)
    checks = use.sync(record)
    assert "failed" in checks[0]
    [row] = store.list("acme")
    assert row.state == "failed" and "could not be validated" in row.error
    assert use.view(record)["realtime"]["subscriptions"][0]["state"] == "failed"


def test_the_keep_alive_checks_daily_but_renews_only_with_less_than_two_days_left():
    use, record, _store, _secrets, bc, clock = _world()
    use.sync(record)
    bc.calls.clear()
    clock.at += _dt.timedelta(hours=23)
    assert use.keep_alive().renewed == [] and bc.calls == ["GET"]
    clock.at += _dt.timedelta(hours=2)
    assert use.keep_alive().renewed == ["acme/purchaseInvoices"]
    assert bc.calls == ["GET", "GET", "PATCH"]


def test_a_failed_subscription_is_tried_again_by_the_keep_alive():
    use, record, store, _secrets, bc, _ = _world(refuse=True)
    use.sync(record)
    bc.refuse = False
    assert use.keep_alive().created == ["acme/purchaseInvoices"]
    assert store.list("acme")[0].state == "active"


def test_real_time_off_means_no_bc_call_at_all():
    use, record, store, _secrets, bc, _ = _world(realtime=False)
    assert use.sync(record) == [] and bc.calls == [] and store.list("acme") == []
