"""The export use case against in-memory fakes: what is sent to BC for each rule, and what is not sent."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.bc import BcValidationError
from shared.exports import Delivery
from tests.unit.exports._fakes import FakeBc, deps_for, record


def message(kind: str, data: dict, version=1, connector: str = "acme") -> str:
    return json.dumps({"connector": connector, "type": kind, "version": version, "data": data})


def invoice(**changes) -> dict:
    data = {"id": "psa-1", "invoiceDate": "2026-11-20", "customer": {"id": "c-1", "name": "Northwind",
                                                                     "invoiceAddress": {"countryCode": "US"}},
            "lines": [{"description": "Work", "product": None, "quantity": 2, "unitPrice": 50},
                      {"description": "Desk", "product": {"number": "1896-S"}, "quantity": 1, "unitPrice": 900,
                       "unitOfMeasure": "BOX"}]}
    data.update(changes)
    return data


def run(deps, kind: str, data: dict, version=1, message_id: str = "m-1") -> dict:
    queue = {"customer": "bc-customers", "project": "bc-projects", "invoice": "bc-invoices"}[kind]
    return deps.service.process(Delivery(queue, message(kind, data, version), message_id))


def deep_insert(bc: FakeBc) -> dict:
    return next(body for (name, args, _) in bc.calls if name == "create_entity" and args[1] == "salesInvoices"
                for body in [args[2]])


def test_a_us_invoice_sends_the_tax_group_write_in_item_and_default_unit():
    bc = FakeBc()
    deps, _ = deps_for(record(), bc)
    run(deps, "invoice", invoice(department={"code": "ADM"}, project={"id": "p", "number": "P-1"}))
    body = deep_insert(bc)
    assert body["externalDocumentNumber"] == "PSA-1"
    assert (body["invoiceDate"], body["postingDate"]) == ("2026-11-20", "2026-11-20")
    assert [(ln["lineObjectNumber"], ln["unitOfMeasureCode"], ln["taxCode"], ln["sequence"]) for ln in
            body["salesInvoiceLines"]] == [("WRITE-IN", "PCS", "TAXABLE", 10000), ("1896-S", "BOX", "TAXABLE", 20000)]
    assert (body["shortcutDimension1Code"], body["shortcutDimension2Code"]) == ("ADM", "P-1")
    assert "dimensionSetLines" not in body
    assert "number" not in body


def test_a_vat_invoice_and_its_customer_carry_no_us_tax_fields():
    bc = FakeBc()
    deps, _ = deps_for(record(tax_mode="vat", country="DE", defaults__taxGroupCode=None), bc)
    run(deps, "invoice", invoice(customer={"id": "c", "name": "Müller", "invoiceAddress": {"countryCode": "DE"}}))
    customer = next(args[2] for name, args, _ in bc.calls if name == "create_entity" and args[1] == "customers")
    assert "taxLiable" not in customer and "taxAreaId" not in customer
    assert all("taxCode" not in ln for ln in deep_insert(bc)["salesInvoiceLines"])


def test_with_taxes_disabled_us_lines_get_no_tax_code_and_customers_are_not_tax_liable():
    bc = FakeBc()
    deps, _ = deps_for(record(defaults__taxGroupCode=None), bc)
    run(deps, "invoice", invoice())
    customer = next(args[2] for name, args, _ in bc.calls if name == "create_entity" and args[1] == "customers")
    assert customer["taxLiable"] is False
    assert all("taxCode" not in ln for ln in deep_insert(bc)["salesInvoiceLines"])


def test_a_dimension_that_is_not_global_is_a_header_dimension_set_line():
    bc = FakeBc()
    deps, _ = deps_for(record(invoices__departmentDimension="AREA"), bc)
    run(deps, "invoice", invoice(department={"code": "10"}))
    assert deep_insert(bc)["dimensionSetLines"] == [{"code": "AREA", "valueCode": "10"}]


def test_a_customer_default_dimension_in_the_way_is_overwritten_after_the_create():
    bc = FakeBc()
    bc.fail["create_entity"] = []
    deps, sent = deps_for(record(invoices__departmentDimension="AREA"), bc)
    run(deps, "customer", {"id": "c-1", "name": "Northwind", "invoiceAddress": {"countryCode": "US"}})
    bc.calls.clear()
    bc.fail["create_entity"] = [BcValidationError(
        "The dimension set line already exists. Check existing dimension set lines and the default dimension set "
        "lines on the parent.", status=400, code="Application_DialogException")]
    bc.lists = {}
    original_list = bc.list_entities

    def list_entities(company_id, entity_set, **kwargs):
        if entity_set.endswith("/dimensionSetLines"):
            bc.calls.append(("list_entities", (company_id, entity_set), kwargs))
            return [{"id": "dim-area", "code": "AREA", "valueCode": "20"}]
        return original_list(company_id, entity_set, **kwargs)

    bc.list_entities = list_entities  # type: ignore[method-assign]
    outcome = run(deps, "invoice", invoice(department={"code": "10"}), message_id="m-2")
    assert outcome["status"] == "created", outcome
    creates = [args[2] for name, args, _ in bc.calls if name == "create_entity"]
    assert "dimensionSetLines" in creates[0] and "dimensionSetLines" not in creates[1]
    [ops] = [args[0] for name, args, _ in bc.calls if name == "batch"]
    assert [(op["method"], op["body"]) for op in ops] == [("PATCH", {"valueCode": "10"})]
    assert ops[0]["url"].endswith("/dimensionSetLines(dim-area)")


def test_the_host_invoice_number_is_sent_only_with_the_setting():
    bc = FakeBc()
    deps, _ = deps_for(record(defaults__useHostInvoiceNumber=True), bc)
    run(deps, "invoice", invoice())
    assert deep_insert(bc)["number"] == "PSA-1"


def test_a_host_invoice_number_longer_than_bcs_twenty_characters_fails_on_the_id():
    deps, sent = deps_for(record(defaults__useHostInvoiceNumber=True))
    outcome = run(deps, "invoice", invoice(id="INV-" + "7" * 20))
    assert (outcome["status"], outcome["error"]["field"], outcome["error"]["code"]) == ("failed", "data.id",
                                                                                         "HostNumberTooLong")
    assert outcome["error"]["retryable"] is True  # replayable once the setting is off


def test_posting_asks_bc_to_post_and_reads_the_posted_number_back():
    bc = FakeBc()
    deps, _ = deps_for(record(invoices__post=True), bc)
    outcome = run(deps, "invoice", invoice())
    assert [n for n in bc.names() if n in ("invoke_action", "get_entity")] == ["invoke_action", "get_entity"]
    assert outcome["bc"]["number"] == "PS-INV1"


def test_an_unchanged_or_stale_message_sends_nothing_to_bc():
    bc = FakeBc()
    deps, sent = deps_for(record(), bc)
    run(deps, "invoice", invoice(), version=5)
    bc.calls.clear()
    assert run(deps, "invoice", invoice(), version=6, message_id="m-2")["status"] == "unchanged"
    assert run(deps, "invoice", invoice(lines=[{"quantity": 1, "unitPrice": 1}]), version=4,
               message_id="m-3")["status"] == "unchanged"
    assert bc.calls == []


def test_a_change_to_a_posted_invoice_fails_without_asking_bc():
    bc = FakeBc()
    deps, sent = deps_for(record(invoices__post=True), bc)
    run(deps, "invoice", invoice(), version=1)
    bc.calls.clear()
    outcome = run(deps, "invoice", invoice(dueDate="2027-01-01"), version=2, message_id="m-2")
    assert (outcome["status"], outcome["error"]["code"]) == ("failed", "InvoicePosted")
    assert bc.calls == []
    assert sent["notifications"][-1]["event"] == "export_failed"


def test_an_export_that_is_switched_off_fails_and_keeps_the_message():
    deps, sent = deps_for(record(projects__enabled=False))
    outcome = run(deps, "project", {"id": "p", "number": "P-1", "name": "n"})
    assert (outcome["error"]["code"], outcome["error"]["field"], outcome["error"]["retryable"]) == (
        "ExportDisabled", "projects.enabled", True)
    [row] = deps.ledger.list_failed("acme")
    assert (row.queue, json.loads(row.message)["data"]["id"]) == ("bc-projects", "p")


def test_a_connector_needing_consent_parks_without_a_bc_client():
    deps, sent = deps_for(record(status="reconnect_required"))
    outcome = run(deps, "customer", {"id": "c", "name": "n"})
    assert outcome["status"] == "parked"
    assert [p.queue for p in deps.parking.list("acme")] == ["bc-customers"]


# -- malformed messages, generated -----------------------------------------------------------------

_values = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | \
    st.text(max_size=60) | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=5),
                                                                                st.integers(), max_size=2)


def _mutations(base: dict) -> st.SearchStrategy[dict]:
    """The valid invoice with one field dropped or replaced by a random value, at any depth."""
    paths: list[tuple] = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                paths.append(path + (key,))
                walk(value, path + (key,))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                paths.append(path + (i,))
                walk(value, path + (i,))
    walk(base, ())

    @st.composite
    def mutate(draw):
        doc = json.loads(json.dumps(base))
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_values)
        return doc
    return mutate()


_VALID = {"connector": "acme", "type": "invoice", "version": 3, "data": invoice(
    department={"code": "ADM"}, project={"id": "p", "number": "P-1", "name": "n"}, yourReference="PO")}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_mutations(_VALID))
def test_a_mutated_message_ends_as_one_clear_outcome_and_never_raises(doc):
    bc = FakeBc()
    bc.fail["create_entity"] = [BcValidationError("Rejected by BC.", status=400, code="BadRequest")] * 3
    deps, sent = deps_for(record(), bc)
    outcome = deps.service.process(Delivery("bc-invoices", json.dumps(doc), "m"))
    assert sent["outcomes"] == [outcome]
    assert outcome["status"] in ("failed", "created", "parked")
    if outcome["status"] == "failed":
        assert outcome["error"]["message"] and outcome["error"]["code"]
        assert outcome["error"]["field"] is None or isinstance(outcome["error"]["field"], str)
        assert sent["notifications"] and sent["notifications"][-1]["event"] == "export_failed"


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_on_a_queue_ends_as_a_failed_outcome_without_bc(text):
    deps, sent = deps_for(record())
    outcome = deps.service.process(Delivery("bc-customers", text, "m"))
    assert outcome["status"] == "failed" and outcome["error"]["retryable"] is False
    assert outcome["error"]["field"]


@pytest.mark.parametrize("text", ["", "null", "[]", '{"connector": "acme"}', "\ufeff{}", "é" * 70000])
def test_edge_texts_fail_cleanly(text):
    deps, _ = deps_for(record())
    assert deps.service.process(Delivery("bc-invoices", text, "m"))["status"] == "failed"


def test_a_revoked_grant_during_an_export_is_reported_once_and_parks_the_message():
    from shared.auth import ReconnectRequiredError

    bc = FakeBc()
    bc.fail["create_entity"] = [ReconnectRequiredError("The grant was revoked (AADSTS50173).")]
    deps, sent = deps_for(record(), bc)
    outcome = run(deps, "customer", {"id": "c", "name": "n"})
    assert (outcome["status"], outcome["error"]["code"], outcome["error"]["retryable"]) == (
        "parked", "ReconnectRequired", True)
    assert sent.reconnects == [("acme", "The grant was revoked (AADSTS50173).")]
    assert [p.queue for p in deps.parking.list("acme")] == ["bc-customers"]
    assert deps.ledger.get("acme", "customer", "c").status == "parked"


def test_a_poisoned_message_fails_replayably_and_is_listed_for_replay():
    deps, sent = deps_for(record())
    text = message("invoice", invoice())
    outcome = deps.service.process_poison(Delivery("bc-invoices-poison", text, "m"))
    assert (outcome["status"], outcome["error"]["code"], outcome["error"]["retryable"]) == (
        "failed", "RetriesExhausted", True)
    assert sent.notifications[-1]["details"]["queue"] == "bc-invoices-poison"
    assert deps.service.list_failed("acme") == [("bc-invoices", text)]
