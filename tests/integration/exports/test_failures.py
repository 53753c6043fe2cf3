"""Failures end to end: throttling storms deferred by Retry-After, the poison path, revoked consent
(parked, not failed), and malformed messages (failed at once, never retried)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from devtools.devhost import DevHost, HostConfig
from sandbox import constants
from shared.auth import ReconnectRequiredError
from tests._app import FUNCTIONS
from tests.integration.exports._helpers import customer_data, deliver, invoice_data

pytestmark = pytest.mark.integration

MINE = ["export_customer", "export_project", "export_invoice", "customers_poison", "projects_poison",
        "invoices_poison"]
QUEUES = ["bc-customers", "bc-projects", "bc-invoices", "bc-customers-poison", "bc-projects-poison",
          "bc-invoices-poison"]
FAST = replace(HostConfig.load(Path(__file__).resolve().parents[3] / "host.json").queues,
               visibility_timeout=0.0, max_polling_interval=0.2, max_dequeue_count=3)


@pytest.fixture
def host(exp, azurite):
    for name in QUEUES:
        exp.services.queue_service.get_queue_client(name).clear_messages() if _exists(exp, name) else None
    devhost = DevHost([FUNCTIONS[n] for n in MINE], {"AzureWebJobsStorage": azurite}, port=0, queues=False,
                      timers=False, queue_settings=FAST)
    yield devhost
    devhost.stop()


def _exists(exp, name: str) -> bool:
    from shared.adapters import ensure_queue

    ensure_queue(exp.services.queue_service.get_queue_client(name))
    return True


def test_a_429_storm_defers_the_message_by_retry_after_and_ends_in_one_invoice(exp, host):
    exp.save()
    exp.send("customer", customer_data())
    exp.admin.add_fault("429", count=4, retry_after=1, path="salesInvoices")
    exp.services.send_text("bc-invoices", exp.text("invoice", invoice_data("PSA-429")))
    before = len(exp.outcomes.of(exp.name))
    first = host.poll_queues_once()
    # BC kept answering 429: the message went back to the queue, invisible for about Retry-After, and
    # this delivery completed without an outcome (a deferral is neither a failure nor an attempt).
    assert [o.outcome for o in first] == ["succeeded"]
    assert len(exp.outcomes.of(exp.name)) == before
    second: list = []
    deadline = time.monotonic() + 15
    while not second and time.monotonic() < deadline:
        time.sleep(0.5)
        second = host.poll_queues_once()
    assert [(o.outcome, o.dequeue_count) for o in second] == [("succeeded", 1)]
    outcome = exp.outcomes.last(exp.name)
    assert (outcome["status"], outcome["attempts"]) == ("created", 1)
    invoices = list(exp.client().list_entities(exp.company_id, "salesInvoices",
                                               filter="externalDocumentNumber eq 'PSA-429'"))
    assert len(invoices) == 1


def test_a_503_storm_is_absorbed_by_the_clients_retries_within_one_delivery(exp, host):
    exp.save()
    exp.admin.add_fault("503", count=3, retry_after=0)
    exp.services.send_text("bc-customers", exp.text("customer", customer_data()))
    assert [o.outcome for o in host.poll_queues_once()] == ["succeeded"]
    assert exp.outcomes.last(exp.name)["status"] == "created"


def test_a_message_that_keeps_failing_ends_on_the_poison_queue_as_a_failed_outcome(exp, host):
    exp.save()
    exp.send("customer", customer_data())
    exp.admin.add_fault("503", count=1000, retry_after=0, path="salesInvoices")
    text = exp.text("invoice", invoice_data("PSA-503"))
    exp.services.send_text("bc-invoices", text)
    results = [o for _ in range(FAST.max_dequeue_count + 1) for o in host.poll_queues_once()]
    assert [(o.function, o.outcome) for o in results] == [
        ("export_invoice", "retry"), ("export_invoice", "retry"), ("export_invoice", "poisoned"),
        ("invoices_poison", "succeeded")]
    outcome = exp.outcomes.last(exp.name)
    assert (outcome["status"], outcome["id"], outcome["attempts"]) == ("failed", "PSA-503", 3)
    assert outcome["error"]["code"] == "RetriesExhausted"
    assert "503" in outcome["error"]["message"] and outcome["error"]["retryable"] is True
    [note] = exp.notifications()
    assert note["details"]["queue"] == "bc-invoices-poison"
    assert exp.ledger("invoice", "PSA-503").status == "failed"
    assert exp.services.exports().list_failed(exp.name) == [("bc-invoices", text)]
    # Replayed once BC is back: created once, and no longer listed as failed.
    exp.admin.clear_faults()
    deliver("bc-invoices", text)
    assert exp.outcomes.last(exp.name)["status"] == "created"
    assert exp.services.exports().list_failed(exp.name) == []


def test_revoked_consent_parks_the_message_marks_the_connector_and_tells_people_once(exp, monkeypatch):
    exp.save()
    calls = []

    def revoked(record):
        calls.append(record.name)
        raise ReconnectRequiredError("Business Central must be reconnected: the grant was revoked (AADSTS50173).",
                                     error="invalid_grant", error_codes=[50173])

    monkeypatch.setattr(exp.services.adapters.bc_clients, "for_record", revoked)
    first_text = exp.text("invoice", invoice_data("PSA-1"))
    deliver("bc-invoices", first_text)
    outcome = exp.outcomes.last(exp.name)
    assert outcome["status"] == "parked"
    assert (outcome["error"]["code"], outcome["error"]["retryable"]) == ("ReconnectRequired", True)
    from shared.adapters.connector_store import TableConnectorStore

    assert TableConnectorStore(exp.services.table("connectors")).get(exp.name).status == "reconnect_required"
    [note] = exp.notifications("reconnect_required")
    assert f"POST /api/connectors/{exp.name}/consent" in note["message"]
    # The next message is parked without asking for a BC client at all.
    deliver("bc-customers", exp.text("customer", customer_data("cust-9")))
    assert exp.outcomes.last(exp.name)["status"] == "parked"
    assert len(calls) == 1
    assert len(exp.notifications("reconnect_required")) == 1
    parked = exp.services.parking().list(exp.name)
    assert [(p.queue, p.message) for p in parked][0] == ("bc-invoices", first_text)
    assert [p.queue for p in parked] == ["bc-invoices", "bc-customers"]


def test_revoked_consent_surfacing_from_a_bc_call_parks_too(exp, monkeypatch):
    exp.save()
    real = exp.services.adapters.bc_clients.for_record

    class RevokedCredential:
        def get_token(self, *scopes):
            raise ReconnectRequiredError("Business Central must be reconnected (AADSTS70008).",
                                         error="invalid_grant", error_codes=[70008])

    def client_with_revoked_token(record):
        client = real(record)
        client._credential = RevokedCredential()
        return client

    monkeypatch.setattr(exp.services.adapters.bc_clients, "for_record", client_with_revoked_token)
    mark = exp.mark()
    deliver("bc-invoices", exp.text("invoice", invoice_data("PSA-2")))
    assert exp.outcomes.last(exp.name)["status"] == "parked"
    assert exp.bc_since(mark) == []
    assert exp.services.parking().list(exp.name)[0].queue == "bc-invoices"


def test_a_connector_awaiting_consent_parks_messages_without_calling_bc(exp):
    from tests.integration.exports._helpers import save_connector

    save_connector(exp.name, auth__mode="delegated")
    mark = exp.mark()
    deliver("bc-projects", exp.text("project", {"id": "p", "number": "P-1", "name": "x"}))
    assert exp.outcomes.last(exp.name)["status"] == "parked"
    assert exp.bc_since(mark) == []


@pytest.mark.parametrize("text, field", [
    ("{not json", "(message)"),
    ('["a list"]', "(message)"),
    ('{"type": "invoice", "version": 1, "data": {}}', "connector"),
    ('{"connector": "CON", "type": "invoice", "version": 1, "data": {}}', "connector"),
    ('{"connector": "{name}", "type": "customer", "version": 1, "data": {}}', "type"),
    ('{"connector": "{name}", "type": "invoice", "version": true, "data": {}}', "version"),
    ('{"connector": "{name}", "type": "invoice", "version": 1, "data": []}', "data"),
    ('{"connector": "{name}", "type": "invoice", "version": 1, "data": {"customer": {}}}', "data.id"),
    ('{"connector": "{name}", "type": "invoice", "version": 1, "data": {"id": "X", "customer": {"id": 1},'
     ' "lines": [{"quantity": 1, "unitPrice": 2}]}}', "data.customer.name"),
    ('{"connector": "{name}", "type": "invoice", "version": 1, "data": {"id": "X", "customer": {"id": 1, "name": "n"},'
     ' "lines": [{"quantity": "1", "unitPrice": 2}]}}', "data.lines[0].quantity"),
    ('{"connector": "nobody-here", "type": "invoice", "version": 1, "data": {"id": "X"}}', "connector"),
])
def test_malformed_messages_fail_at_once_naming_the_field_and_are_never_retried(exp, text, field):
    exp.save()
    mark = exp.mark()
    text = text.replace("{name}", exp.name)
    seen = len(exp.outcomes.everything())
    deliver("bc-invoices", text)  # returns normally: the queue completes the message
    [outcome] = exp.outcomes.everything()[seen:]
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == field
    assert outcome["error"]["retryable"] is False
    assert exp.bc_since(mark) == []


def test_a_malformed_message_is_kept_in_the_ledger_but_not_offered_for_replay(exp):
    exp.save()
    text = json.dumps({"connector": exp.name, "type": "invoice", "version": 1, "data": {"id": "BROKEN-1"}})
    deliver("bc-invoices", text)
    assert exp.outcomes.last(exp.name)["error"]["field"] == "data.customer"
    row = exp.ledger("invoice", "BROKEN-1")
    assert (row.status, row.message, row.last_error["code"]) == ("failed", text, "InvalidMessage")
    assert exp.services.exports().list_failed(exp.name) == []  # the same text can only fail again
    [note] = exp.notifications()
    assert note["details"]["id"] == "BROKEN-1"


def test_the_special_character_company_works_end_to_end_through_the_queues(exp, host):
    exp.save("vat")
    assert exp.connector["companyName"] == constants.VAT_COMPANY
    data = invoice_data(customer=customer_data(invoiceAddress={"city": "Malmö", "countryCode": "SE"}),
                        project={"id": "p1", "number": "P-4001", "name": "Brücke"})
    exp.services.send_text("bc-invoices", exp.text("invoice", data))
    assert [o.outcome for o in host.poll_queues_once()] == ["succeeded"]
    outcome = exp.outcomes.last(exp.name)
    assert outcome["status"] == "created", outcome
    customer = exp.ledger("customer", "cust-1")
    card = exp.customer_card(customer.bc_number)
    assert (card["Gen_Bus_Posting_Group"], card["Customer_Posting_Group"]) == ("EU", "FOREIGN")
    assert exp.dimension_value("PROJECT", "P-4001")["Name"] == "Brücke"
