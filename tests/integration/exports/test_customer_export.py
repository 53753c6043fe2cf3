"""Customers end to end: the queue function, Azurite (ledger, outcomes) and the sandbox over HTTPS.

Mapping per docs/contract.md §4; posting groups by domestic/abroad through Customer_Card; US tax fields only
in the sales-tax company.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox import constants
from tests.integration.exports._helpers import customer_data, describe

pytestmark = pytest.mark.integration


def test_a_new_customer_is_created_with_every_mapped_field_in_two_requests(exp):
    exp.save()
    mark = exp.mark()
    outcome = exp.send("customer", customer_data(type="Person", blocked=True))
    assert outcome["status"] == "created"
    assert outcome["error"] is None and outcome["attempts"] == 1 and outcome["version"] == 1
    assert [r["method"] for r in exp.bc_since(mark)] == ["POST", "PATCH"]
    customer = exp.customer(outcome["bc"]["id"])
    assert customer["number"] == outcome["bc"]["number"]
    assert (customer["displayName"], customer["type"], customer["email"], customer["phoneNumber"],
            customer["website"], customer["taxRegistrationNumber"], customer["blocked"]) == (
        "Northwind Traders", "Person", "ap@northwind.example", "+1 404 555 0199", "https://northwind.example",
        "US-123", "All")
    assert (customer["addressLine1"], customer["addressLine2"], customer["city"], customer["state"],
            customer["postalCode"], customer["country"]) == ("1 Main Street", "Suite 5", "Atlanta", "GA",
                                                             "30301", "US")


def test_a_domestic_customer_gets_the_domestic_posting_groups_and_is_tax_liable(exp):
    exp.save()
    outcome = exp.send("customer", customer_data())
    card = exp.customer_card(outcome["bc"]["number"])
    assert (card["Gen_Bus_Posting_Group"], card["Customer_Posting_Group"]) == ("DOMESTIC", "DOMESTIC")
    assert exp.customer(outcome["bc"]["id"])["taxLiable"] is True


def test_a_customer_abroad_gets_the_abroad_posting_groups(exp):
    exp.save()
    data = customer_data(invoiceAddress={"line1": "Hafenstrasse 1", "city": "Hamburg", "countryCode": "de"},
                         currencyCode="EUR")
    outcome = exp.send("customer", data)
    card = exp.customer_card(outcome["bc"]["number"])
    assert (card["Gen_Bus_Posting_Group"], card["Customer_Posting_Group"]) == ("EXPORT", "FOREIGN")
    assert exp.customer(outcome["bc"]["id"])["currencyCode"] == "EUR"


def test_with_taxes_disabled_a_us_customer_is_not_tax_liable(exp):
    exp.save(defaults__taxGroupCode=None)
    outcome = exp.send("customer", customer_data())
    assert exp.customer(outcome["bc"]["id"])["taxLiable"] is False


def test_the_vat_company_with_special_characters_gets_no_us_tax_fields(exp):
    exp.save("vat")
    data = customer_data(invoiceAddress={"line1": "Elbchaussee 1", "city": "Hamburg", "countryCode": "DE"})
    mark = exp.mark()
    outcome = exp.send("customer", data)
    assert outcome["status"] == "created", outcome
    post = [r for r in exp.bc_since(mark) if r["method"] == "POST"]
    assert len(post) == 1
    card = exp.customer_card(outcome["bc"]["number"])
    assert (card["Gen_Bus_Posting_Group"], card["Customer_Posting_Group"]) == ("DOMESTIC", "DOMESTIC")
    assert card["VAT_Bus_Posting_Group"] == "DOMESTIC"  # BC's default from the Gen. Bus. group
    assert card["Tax_Liable"] is False


def test_a_changed_customer_is_updated_with_only_the_part_that_changed(exp):
    exp.save()
    first = exp.send("customer", customer_data(), version=1)
    mark = exp.mark()
    outcome = exp.send("customer", customer_data(phone="+1 404 555 0000"), version=2)
    assert outcome["status"] == "updated"
    assert outcome["bc"] == first["bc"]
    assert describe(exp.bc_since(mark)) == [f"PATCH v2.0/companies({exp.company_id})/customers({first['bc']['id']})"]
    assert exp.customer(first["bc"]["id"])["phoneNumber"] == "+1 404 555 0000"


def test_moving_a_customer_abroad_changes_only_its_posting_groups(exp):
    exp.save()
    first = exp.send("customer", customer_data(), version=1)
    moved = customer_data()
    moved["invoiceAddress"]["countryCode"] = "CA"
    mark = exp.mark()
    assert exp.send("customer", moved, version=2)["status"] == "updated"
    requests = exp.bc_since(mark)
    assert len(requests) == 2 and all(r["method"] == "PATCH" for r in requests)
    assert exp.customer_card(first["bc"]["number"])["Gen_Bus_Posting_Group"] == "EXPORT"


def test_unchanged_content_and_a_stale_version_cost_no_bc_request(exp):
    exp.save()
    exp.send("customer", customer_data(), version="2026-11-20T10:00:00Z")
    mark = exp.mark()
    same = exp.send("customer", customer_data(), version="2026-11-20T11:00:00Z")
    stale = exp.send("customer", customer_data(name="Old name"), version="2026-11-19T09:00:00Z")
    assert (same["status"], stale["status"]) == ("unchanged", "unchanged")
    assert exp.bc_since(mark) == []
    assert exp.ledger("customer", "cust-1").version == '"2026-11-20T11:00:00Z"'


def test_a_customer_with_a_number_bc_already_has_is_adopted_not_duplicated(exp):
    exp.save()
    outcome = exp.send("customer", customer_data("host-c10000", number="c10000", name="Adatum Corporation"))
    assert outcome["status"] == "updated"
    assert outcome["bc"]["number"] == "C10000"
    matches = list(exp.client().list_entities(exp.company_id, "customers", filter="number eq 'C10000'"))
    assert len(matches) == 1


def test_a_number_without_manual_nos_fails_on_the_number_with_bcs_message(exp):
    exp.save()
    exp.admin.set_manual_nos(constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY, "CUST", False)
    outcome = exp.send("customer", customer_data(number="NW-1"))
    assert outcome["status"] == "failed"
    error = outcome["error"]
    assert error["field"] == "data.number"
    assert error["code"] == "Application_DialogException"
    assert "You may not enter numbers manually" in error["message"]
    assert error["retryable"] is False
    [note] = exp.notifications()
    assert note["recipients"] == ["ops@example.com"] and "data.number" in note["message"]


def test_a_posting_group_bc_refuses_names_the_settings_field(exp):
    exp.save()
    from shared.adapters.connector_store import TableConnectorStore

    store = TableConnectorStore(exp.services.table("connectors"))
    record = store.get(exp.name)
    record.settings = replace(record.settings, customers_domestic=replace(record.settings.customers_domestic,
                                                                          customer_posting_group="GONE"))
    store.update(record)
    outcome = exp.send("customer", customer_data())
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "customers.domestic.customerPostingGroup"
    assert "GONE" in outcome["error"]["message"]
    # The customer itself was created: the outcome says which one, and a replay will not duplicate it.
    assert outcome["bc"]["number"]
    assert exp.ledger("customer", "cust-1").bc_id == outcome["bc"]["id"]


def test_a_customer_message_for_a_connector_without_customer_export_fails_and_is_kept_for_replay(exp):
    exp.save(customers__enabled=False)
    outcome = exp.send("customer", customer_data())
    assert outcome["status"] == "failed"
    assert (outcome["error"]["code"], outcome["error"]["field"]) == ("ExportDisabled", "customers.enabled")
    [(queue, text)] = exp.services.exports().list_failed(exp.name)
    assert queue == "bc-customers" and '"cust-1"' in text


def test_the_connector_shows_its_last_export_and_counts_by_outcome(exp):
    from tests._app import call_http, json_of

    exp.save()
    exp.send("customer", customer_data("act-1"))
    exp.send("customer", customer_data("act-1"))  # same content again: unchanged
    view = json_of(call_http("get_connector", route_params={"name": exp.name}))
    last = view["lastExports"]["customer"]
    assert (last["status"], last["id"]) == ("unchanged", "act-1")
    assert last["counts"]["created"] == 1 and last["counts"]["unchanged"] == 1
    assert last["at"]
