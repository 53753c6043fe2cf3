"""A retried BC call logs its status, attempt and client-request-id as fields, with the message's own fields,
and neither the token nor the request body ever reaches a log record."""

from __future__ import annotations

import logging

from tests.unit.bc._fakes import COMPANY, COMPANY_ID, TOKEN, bc_error

from shared.logfields import FIELDS, log_scope

SECRET_IN_BODY = "s3cr3t-value-in-body"


def test_a_retried_call_logs_bc_status_attempt_and_client_request_id_inside_the_messages_scope(
        client, fake_bc, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    fake_bc.get(f"{COMPANY}/customers", status=429, json=bc_error("Application_TooManyRequests", "Too many."),
                headers={"Retry-After": "1"})
    fake_bc.get(f"{COMPANY}/customers", json={"value": []})
    with log_scope(connector="acme", messageId="m-1"):
        list(client.list_entities(COMPANY_ID, "customers"))
    (retry,) = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert (retry.bcStatus, retry.bcAttempt, retry.connector, retry.messageId) == ("429", 1, "acme", "m-1")
    sent_id = fake_bc.calls[0].request.headers["client-request-id"]
    assert retry.clientRequestId == sent_id


def test_no_log_record_of_a_call_holds_the_token_or_the_body(client, fake_bc, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    fake_bc.post(f"{COMPANY}/customers", status=503, json=bc_error("Unknown", "Unavailable"),
                 headers={"Retry-After": "1"})
    fake_bc.post(f"{COMPANY}/customers", status=201, json={"id": "x"})
    with log_scope(connector="acme"):
        client.create_entity(COMPANY_ID, "customers", {"displayName": SECRET_IN_BODY})
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(str(getattr(record, f)) for f in FIELDS if hasattr(record, f))
        assert TOKEN not in text and SECRET_IN_BODY not in text
