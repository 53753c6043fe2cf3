"""Every log line about an export message carries its structured fields (Application Insights customDimensions)."""

from __future__ import annotations

import json
import logging

from shared.bc import BcUnavailableError, BcValidationError
from shared.exports import Delivery
from shared.logfields import FIELDS
from tests.unit.exports._fakes import FakeBc, deps_for, record

CUSTOMER = {"id": "c-1", "name": "Northwind", "invoiceAddress": {"countryCode": "US"}}
CORRELATION = "6f1c2d3e-4a5b-4c6d-8e7f-001122334455"
REQUEST_ID = "0a1b2c3d-0000-4000-8000-aabbccddeeff"


def _customer(deps, *, message_id: str = "m-1", dequeue_count: int = 1, data: dict = CUSTOMER,
              queue: str = "bc-customers") -> dict:
    text = json.dumps({"connector": "acme", "type": "customer", "version": 1, "data": data})
    return deps.service.process(Delivery(queue, text, message_id, dequeue_count))


def _export_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("shared.") and r.getMessage().startswith("Export ")]


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}


def test_a_created_customer_logs_its_connector_queue_message_id_host_id_attempt_and_outcome(caplog):
    caplog.set_level(logging.DEBUG)
    deps, _ = deps_for(record(), FakeBc())
    _customer(deps, message_id="msg-7", dequeue_count=2)
    (line,) = _export_lines(caplog)
    assert _fields(line) == {"operation": "export", "connector": "acme", "queue": "bc-customers",
                             "messageId": "msg-7", "attempt": 2, "returning": False, "kind": "customer",
                             "hostId": "c-1", "outcome": "created"}


def test_a_deferred_copy_coming_back_logs_that_it_is_returning_work(caplog):
    caplog.set_level(logging.DEBUG)
    deps, _ = deps_for(record(), FakeBc())
    text = json.dumps({"connector": "acme", "type": "customer", "version": 1, "data": CUSTOMER})
    deps.service.process(Delivery("bc-customers", text, "m-2", deferred=True))
    (line,) = _export_lines(caplog)
    assert (_fields(line)["returning"], _fields(line)["outcome"]) == (True, "created")


def test_a_refused_customer_logs_failed_with_the_error_code_and_bcs_ids_for_support(caplog):
    caplog.set_level(logging.DEBUG)
    bc = FakeBc()
    bc.fail["create_entity"] = [BcValidationError("Name is too long.", status=400, code="BadRequest",
                                                  correlation_id=CORRELATION, request_id=REQUEST_ID,
                                                  client_request_id="our-id-1")]
    deps, _ = deps_for(record(), bc)
    assert _customer(deps)["status"] == "failed"
    failed = [r for r in _export_lines(caplog) if " failed: " in r.getMessage()]
    assert len(failed) == 1
    fields = _fields(failed[0])
    assert (fields["outcome"], fields["errorCode"], fields["hostId"]) == ("failed", "BadRequest", "c-1")
    assert (fields["correlationId"], fields["bcRequestId"]) == (CORRELATION, REQUEST_ID)


def test_a_transient_failure_logs_the_attempt_and_no_outcome_because_the_queue_retries(caplog):
    caplog.set_level(logging.DEBUG)
    bc = FakeBc()
    bc.fail["create_entity"] = [BcUnavailableError("Service unavailable.", status=503)]
    deps, _ = deps_for(record(), bc)
    try:
        _customer(deps, dequeue_count=3)
    except BcUnavailableError:
        pass
    (line,) = [r for r in _export_lines(caplog) if "transient failure" in r.getMessage()]
    fields = _fields(line)
    assert (fields["attempt"], fields["errorCode"]) == (3, "BcUnavailableError")
    assert "outcome" not in fields


def test_a_message_that_is_not_json_still_logs_its_queue_and_message_id(caplog):
    caplog.set_level(logging.DEBUG)
    deps, _ = deps_for(record(), FakeBc())
    deps.service.process(Delivery("bc-customers", "{not json", "m-bad", 1))
    (line,) = _export_lines(caplog)
    assert {k: v for k, v in _fields(line).items() if k in ("queue", "messageId", "outcome")} == {
        "queue": "bc-customers", "messageId": "m-bad", "outcome": "failed"}
    assert "connector" not in _fields(line)


def test_a_poison_message_logs_the_poison_queue_and_failed(caplog):
    caplog.set_level(logging.DEBUG)
    deps, _ = deps_for(record(), FakeBc())
    text = json.dumps({"connector": "acme", "type": "customer", "version": 1, "data": CUSTOMER})
    deps.service.process_poison(Delivery("bc-customers-poison", text, "m-p", 1))
    (line,) = [r for r in _export_lines(caplog) if "moved to" in r.getMessage()]
    fields = _fields(line)
    assert (fields["operation"], fields["queue"], fields["outcome"], fields["connector"], fields["hostId"]) == (
        "poison", "bc-customers-poison", "failed", "acme", "c-1")


def test_no_field_is_left_on_lines_logged_after_the_message(caplog):
    caplog.set_level(logging.DEBUG)
    deps, _ = deps_for(record(), FakeBc())
    _customer(deps)
    logging.getLogger("shared.exports").info("after the message")
    assert _fields(caplog.records[-1]) == {}
