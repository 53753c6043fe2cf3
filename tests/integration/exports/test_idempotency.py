"""No duplicates in BC: the same message twice at once, a crash after BC created the record but before
the ledger was written, and a lost answer to the create."""

from __future__ import annotations

import threading
import uuid

import pytest

from shared.exports import ClaimBusy, Claims, Delivery, ExportOptions
from tests.integration.exports._helpers import (
    customer_data,
    deliver,
    invoice_data,
    line,
)

pytestmark = pytest.mark.integration


class Crash(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing in the app catches it."""


def invoices_with_key(exp, key: str) -> list[dict]:
    return list(exp.client().list_entities(exp.company_id, "salesInvoices",
                                           filter=f"externalDocumentNumber eq '{key}'"))


def test_the_same_invoice_sent_twice_at_the_same_time_is_created_once(exp):
    exp.save()
    exp.send("customer", customer_data())  # so both race on the invoice itself
    text = exp.text("invoice", invoice_data("PSA-77"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            deliver("bc-invoices", text)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    statuses = sorted(o["status"] for o in exp.outcomes.of(exp.name) if o["type"] == "invoice")
    assert statuses == ["created", "unchanged"]
    assert len(invoices_with_key(exp, "PSA-77")) == 1


def test_a_crash_after_bc_created_the_invoice_is_healed_by_the_redelivery_without_a_duplicate(exp, monkeypatch):
    exp.save()
    exp.send("customer", customer_data())
    real_finish = Claims.finish
    calls = {"n": 0}

    def dying_finish(claims, claim, row):
        calls["n"] += 1
        if calls["n"] == 1:
            raise Crash("worker killed between the BC write and the ledger write")
        return real_finish(claims, claim, row)

    monkeypatch.setattr(Claims, "finish", dying_finish)
    text = exp.text("invoice", invoice_data("PSA-88"))
    with pytest.raises(Crash):
        deliver("bc-invoices", text, message_id="m-88", dequeue_count=1)
    assert len(invoices_with_key(exp, "PSA-88")) == 1
    assert exp.ledger("invoice", "PSA-88").status == "pending"

    mark = exp.mark()
    deliver("bc-invoices", text, message_id="m-88", dequeue_count=2)
    outcome = exp.outcomes.last(exp.name)
    assert (outcome["status"], outcome["attempts"]) == ("created", 2)
    assert [r["method"] for r in exp.bc_since(mark)] == ["GET"]  # the look-up by key found it
    assert len(invoices_with_key(exp, "PSA-88")) == 1
    row = exp.ledger("invoice", "PSA-88")
    assert (row.status, row.bc_id) == ("synced", outcome["bc"]["id"])


def test_a_crash_after_bc_created_the_customer_is_healed_too(exp, monkeypatch):
    exp.save()
    real_finish = Claims.finish
    state = {"crashed": False}

    def dying_finish(claims, claim, row):
        if not state["crashed"]:
            state["crashed"] = True
            raise Crash("killed")
        return real_finish(claims, claim, row)

    monkeypatch.setattr(Claims, "finish", dying_finish)
    text = exp.text("customer", customer_data(name="Unnumbered Ltd"))
    with pytest.raises(Crash):
        deliver("bc-customers", text, message_id="m-1")
    deliver("bc-customers", text, message_id="m-1", dequeue_count=2)
    assert exp.outcomes.last(exp.name)["status"] == "created"
    named = list(exp.client().list_entities(exp.company_id, "customers", filter="displayName eq 'Unnumbered Ltd'"))
    assert len(named) == 1


def test_a_duplicate_message_waits_for_a_fresh_claim_and_then_lets_the_queue_retry(exp, monkeypatch):
    exp.save()
    exp.send("customer", customer_data())
    real_finish = Claims.finish
    state = {"crashed": False}

    def dying_finish(claims, claim, row):
        if not state["crashed"]:
            state["crashed"] = True
            raise Crash("killed")
        return real_finish(claims, claim, row)

    monkeypatch.setattr(Claims, "finish", dying_finish)
    text = exp.text("invoice", invoice_data("PSA-99"))
    with pytest.raises(Crash):
        deliver("bc-invoices", text, message_id="first")
    service = exp.services.exports()
    service._options = ExportOptions(claim_wait_seconds=0.3)
    mark = exp.mark()
    with pytest.raises(ClaimBusy):
        service.process(Delivery("bc-invoices", text, "second", 1))
    assert exp.bc_since(mark) == []
    # Once the claim is stale (its worker is gone), the other message takes over with a look-up.
    service._options = ExportOptions(claim_wait_seconds=0.3, stale_claim_seconds=0)
    outcome = service.process(Delivery("bc-invoices", text, "second", 2))
    assert outcome["status"] == "created"
    assert len(invoices_with_key(exp, "PSA-99")) == 1


def test_a_lost_answer_to_the_create_is_retried_by_the_queue_and_looked_up_first(exp):
    exp.save()
    exp.send("customer", customer_data())
    exp.admin.add_fault("drop", count=1, method="POST", path="salesInvoices")
    text = exp.text("invoice", invoice_data("PSA-55"))
    from shared.bc import BcOutcomeUnknownError

    with pytest.raises(BcOutcomeUnknownError):
        deliver("bc-invoices", text, message_id="m-55")
    row = exp.ledger("invoice", "PSA-55")
    assert (row.status, row.may_exist) == ("retry", True)
    mark = exp.mark()
    deliver("bc-invoices", text, message_id="m-55", dequeue_count=2)
    outcome = exp.outcomes.last(exp.name)
    assert outcome["status"] in ("created", "updated")
    methods = [r["method"] for r in exp.bc_since(mark)]
    assert methods[0] == "GET"  # look-up by externalDocumentNumber before any write
    assert len(invoices_with_key(exp, "PSA-55")) == 1


def test_a_message_that_failed_on_throttling_is_retried_without_a_look_up(exp):
    exp.save()
    exp.send("customer", customer_data())
    exp.admin.add_fault("429", count=4, retry_after=0, path="salesInvoices")  # outlasts the client's 4 attempts
    text = exp.text("invoice", invoice_data("PSA-56"))
    from shared.bc import BcThrottledError

    with pytest.raises(BcThrottledError):
        deliver("bc-invoices", text, message_id="m-56")
    assert exp.ledger("invoice", "PSA-56").may_exist is False
    mark = exp.mark()
    deliver("bc-invoices", text, message_id="m-56", dequeue_count=2)
    assert exp.outcomes.last(exp.name)["status"] == "created"
    assert [r["method"] for r in exp.bc_since(mark)] == ["POST"]


def test_a_redelivered_message_that_already_succeeded_costs_nothing(exp):
    exp.save()
    text = exp.text("invoice", invoice_data("PSA-60", lines=[line()]))
    deliver("bc-invoices", text, message_id="m-60")
    mark = exp.mark()
    deliver("bc-invoices", text, message_id="m-60", dequeue_count=2)
    assert exp.outcomes.last(exp.name)["status"] == "unchanged"
    assert exp.bc_since(mark) == []


def test_ids_that_differ_only_in_their_message_ids_are_still_one_invoice(exp):
    exp.save()
    for _ in range(3):
        deliver("bc-invoices", exp.text("invoice", invoice_data("PSA-61")), message_id=uuid.uuid4().hex)
    assert [o["status"] for o in exp.outcomes.of(exp.name)] == ["created", "unchanged", "unchanged"]
    assert len(invoices_with_key(exp, "PSA-61")) == 1
