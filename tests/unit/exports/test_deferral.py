"""When the BC user's request budget is used up (or BC answers 429 anyway), an export message goes back to
its queue, unchanged and invisible until the budget opens, and the delivery completes: no outcome, no
failure, and the worker is free for other connectors' messages."""

from __future__ import annotations

import json

from shared.bc import BcThrottledError, BudgetExhausted
from shared.exports import Delivery
from tests.unit.exports._fakes import FakeBc, deps_for, record


def _text(host_id: str = "psa-1") -> str:
    return json.dumps({"connector": "acme", "type": "customer", "version": 1,
                       "data": {"id": host_id, "name": "Northwind", "invoiceAddress": {"countryCode": "US"}}})


def test_a_used_up_budget_puts_the_same_text_back_with_the_budgets_opening_as_visibility_delay():
    bc = FakeBc()
    bc.fail["create_entity"] = [BudgetExhausted("used up", retry_after=12.2)]
    deps, sent = deps_for(record(), bc)

    result = deps.service.process(Delivery("bc-customers", _text(), "m-1", dequeue_count=3))

    assert result["status"] == "deferred"
    assert sent.requeue.texts("bc-customers") == [_text()]
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


def test_the_deferred_copy_is_exported_once_when_it_comes_back():
    bc = FakeBc()
    bc.fail["create_entity"] = [BudgetExhausted("used up", retry_after=1)]
    deps, sent = deps_for(record(), bc)
    deps.service.process(Delivery("bc-customers", _text(), "m-1"))

    [again] = sent.requeue.texts("bc-customers")
    first = deps.service.process(Delivery("bc-customers", again, "m-2"))
    duplicate = deps.service.process(Delivery("bc-customers", again, "m-3"))

    assert (first["status"], duplicate["status"]) == ("created", "unchanged")
    assert [o["status"] for o in sent.outcomes] == ["created", "unchanged"]


def test_a_message_whose_bc_users_budget_is_known_to_be_used_up_is_deferred_before_its_ledger_claim():
    bc = FakeBc()
    deps, sent = deps_for(record(), bc, budget_closed=BudgetExhausted("used up", retry_after=7.4))

    result = deps.service.process(Delivery("bc-customers", _text(), "m-1"))

    assert result["status"] == "deferred"
    assert sent.requeue.texts("bc-customers") == [_text()] and sent.requeue.delays["bc-customers"] == [7]
    assert deps.ledger.get("acme", "customer", "psa-1") is None  # no claim taken, nothing recorded
    assert bc.calls == [] and sent.outcomes == []
