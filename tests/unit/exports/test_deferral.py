"""When the BC user's request budget is used up (or BC answers 429 anyway), an export message goes back to
its queue as a deferred copy (the same text, marked as returning work), invisible until the budget opens, and
the delivery completes: no outcome, no failure, and the worker is free for other connectors' messages."""

from __future__ import annotations

import json

import azure.functions as func

from functions._queue import delivery_of
from shared.bc import BcThrottledError, BudgetExhausted
from shared.exports import Delivery
from shared.messages import Received, unwrap_deferred
from tests.unit.exports._fakes import FakeBc, deps_for, record


def _text(host_id: str = "psa-1") -> str:
    return json.dumps({"connector": "acme", "type": "customer", "version": 1,
                       "data": {"id": host_id, "name": "Northwind", "invoiceAddress": {"countryCode": "US"}}})


def _returned(sent) -> list[Received]:
    return [unwrap_deferred(text) for text in sent.requeue.texts("bc-customers")]


def test_a_used_up_budget_puts_a_deferred_copy_of_the_text_back_with_the_budgets_opening_as_visibility_delay():
    bc = FakeBc()
    bc.fail["create_entity"] = [BudgetExhausted("used up", retry_after=12.2)]
    deps, sent = deps_for(record(), bc)

    result = deps.service.process(Delivery("bc-customers", _text(), "m-1", dequeue_count=3))

    assert result["status"] == "deferred"
    assert _returned(sent) == [Received(_text(), deferred=True)]
    [delay] = sent.requeue.delays["bc-customers"]
    assert delay == 12  # the budget's return time, to the queue's whole seconds (no jitter added)
    assert sent.outcomes == [] and sent.notifications == []


def test_a_429_that_arrives_anyway_defers_by_bcs_retry_after():
    bc = FakeBc()
    bc.fail["create_entity"] = [BcThrottledError("Too many requests", status=429, retry_after=40)]
    deps, sent = deps_for(record(), bc)

    result = deps.service.process(Delivery("bc-customers", _text(), "m-1"))

    assert result["status"] == "deferred"
    [delay] = sent.requeue.delays["bc-customers"]
    assert delay is not None and 40 <= delay <= 41
    assert sent.outcomes == []


def _deferred_once():
    """An export service on fakes that deferred one message (its BC request refused by the budget):
    (its ports, what it sent, the deferred copy it put back on the queue)."""
    bc = FakeBc()
    bc.fail["create_entity"] = [BudgetExhausted("used up", retry_after=1)]
    deps, sent = deps_for(record(), bc)
    deps.service.process(Delivery("bc-customers", _text(), "m-1"))
    [copy] = sent.requeue.texts("bc-customers")
    return deps, sent, copy


def test_the_deferred_copy_is_exported_once_when_it_comes_back():
    deps, sent, copy = _deferred_once()

    first = deps.service.process(Delivery.received("bc-customers", copy, "m-2"))
    duplicate = deps.service.process(Delivery.received("bc-customers", copy, "m-3"))

    assert (first["status"], duplicate["status"]) == ("created", "unchanged")
    assert [o["status"] for o in sent.outcomes] == ["created", "unchanged"]


def test_a_message_whose_bc_users_budget_is_known_to_be_used_up_is_deferred_before_its_ledger_claim():
    bc = FakeBc()
    deps, sent = deps_for(record(), bc, budget_closed=BudgetExhausted("used up", retry_after=7.4))

    result = deps.service.process(Delivery("bc-customers", _text(), "m-1"))

    assert result["status"] == "deferred"
    assert _returned(sent) == [Received(_text(), deferred=True)] and sent.requeue.delays["bc-customers"] == [7]
    assert deps.ledger.get("acme", "customer", "psa-1") is None  # no claim taken, nothing recorded
    assert bc.calls == [] and sent.outcomes == []


def test_the_budget_is_asked_about_a_hosts_message_as_new_work_and_about_a_deferred_copy_as_returning_work():
    deps, _sent = deps_for(record(), FakeBc())

    deps.service.process(Delivery("bc-customers", _text("psa-1"), "m-1"))
    deps.service.process(Delivery("bc-customers", _text("psa-2"), "m-2", deferred=True))

    assert deps.bc_clients.checks == [True, False]


def test_the_queue_trigger_hands_over_the_hosts_text_of_a_deferred_copy_and_marks_it_deferred():
    _deps, _sent, copy = _deferred_once()

    delivery = delivery_of("bc-customers", func.QueueMessage(id="m-2", body=copy.encode("utf-8")))

    assert (delivery.text, delivery.deferred) == (_text(), True)
