"""The app's deferred copy of an export message (docs/contract.md §4): it carries the host's text byte for
byte and marks it as returning work; any other text is taken as the host sent it."""

from __future__ import annotations

import datetime as _dt
import json

from shared.messages import MAX_MESSAGE_CHARS, Received, unwrap_deferred, wrap_deferred

AT = _dt.datetime(2026, 12, 7, 8, 0, 1, 300000, tzinfo=_dt.timezone.utc)


def test_a_deferred_copy_gives_back_the_hosts_text_byte_for_byte_marked_deferred():
    text = '{ "connector":"acme", "type":"invoice","version":1.50, "data":{"id":"INV-1","memo":"Müller \\u00e9 \\"x\\""}}\n'

    assert unwrap_deferred(wrap_deferred(text, return_at=AT, code="BudgetExhausted")) == Received(text, deferred=True)


def test_a_deferred_copy_says_when_it_returns_and_why_for_people_who_look_at_the_queue():
    copy = json.loads(wrap_deferred("{}", return_at=AT, code="BudgetExhausted"))

    assert copy == {"deferral": {"returnAt": "2026-12-07T08:00:01.300Z", "code": "BudgetExhausted"}, "message": "{}"}


def test_a_hosts_message_is_new_work_even_when_it_starts_like_a_deferred_copy():
    for text in ('{"connector":"acme","type":"invoice"}', '{"deferral":{},"message":"{}","connector":"acme"}',
                 '{"deferral":{"returnAt":1},"message":{"connector":"acme"}}', '{"deferral": broken', "not json"):
        assert unwrap_deferred(text) == Received(text, deferred=False)


def test_a_copy_that_would_not_fit_in_a_queue_message_is_the_hosts_text_itself():
    text = json.dumps({"connector": "acme", "data": {"notes": '"' * ((MAX_MESSAGE_CHARS - 200) // 2)}})
    assert len(text) <= MAX_MESSAGE_CHARS  # fits; its copy escapes every quote again, and would not

    assert wrap_deferred(text, return_at=AT, code="BudgetExhausted") == text
