"""The outcome message keeps the contract's fields and formats, and `$batch` operations are built the
way BC takes them (URLs relative to the API root, If-Match on writes, query values percent-encoded)."""

from __future__ import annotations

import datetime as _dt
import json

import pytest

from shared.bc._batch import child_url, delete, entity_url, get, patch, post, query_url
from shared.errors import ReconnectRequired
from shared.messages import outcome

AT = _dt.datetime(2026, 11, 20, 12, 0, 1, 234000, tzinfo=_dt.timezone.utc)


def test_an_outcome_has_every_field_of_the_contract_in_its_form():
    sent = outcome(connector="acme", kind="invoice", host_id="PSA-1", version=3, status="created", bc_id="b-1",
                   bc_number="S-INV1", attempts=2, at=AT, warnings=["shortened"])
    assert json.dumps(sent) == json.dumps({
        "connector": "acme", "type": "invoice", "id": "PSA-1", "version": 3, "status": "created",
        "bc": {"id": "b-1", "number": "S-INV1"}, "error": None, "attempts": 2,
        "completedAt": "2026-11-20T12:00:01.234000Z", "warnings": ["shortened"]})


def test_a_parked_outcome_carries_the_reconnect_error_as_replayable():
    sent = outcome(connector="acme", kind="customer", host_id=None, version=None, status="parked",
                   error=ReconnectRequired("revoked").to_error(), at=AT)
    assert sent["error"] == {"code": "ReconnectRequired", "message": "revoked", "field": None, "retryable": True}
    assert sent["bc"] == {"id": None, "number": None} and sent["warnings"] == []


def test_an_outcome_status_outside_the_contract_is_refused():
    with pytest.raises(ValueError):
        outcome(connector="acme", kind="invoice", host_id="x", version=1, status="done", at=AT)


def test_batch_operations_name_relative_urls_and_guard_writes():
    invoice = entity_url("c-1", "salesInvoices", "i-1")
    assert invoice == "companies(c-1)/salesInvoices(i-1)"
    assert post(child_url(invoice, "salesInvoiceLines"), {"quantity": 1}).to_request() == {
        "method": "POST", "url": "companies(c-1)/salesInvoices(i-1)/salesInvoiceLines", "body": {"quantity": 1}}
    assert patch(invoice, {"dueDate": "2027-01-01"}, if_match='W/"7"').to_request() == {
        "method": "PATCH", "url": invoice, "headers": {"If-Match": 'W/"7"'}, "body": {"dueDate": "2027-01-01"}}
    assert delete(child_url(invoice, "dimensionSetLines", "d-1")).to_request() == {
        "method": "DELETE", "url": "companies(c-1)/salesInvoices(i-1)/dimensionSetLines(d-1)",
        "headers": {"If-Match": "*"}}


def test_query_values_keep_odata_syntax_and_encode_what_would_break_the_url():
    url = query_url(entity_url("c-1", "dimensions"), filter="code eq 'R&D #1'",
                    expand="dimensionValues($filter=code eq 'A+B';$select=code)", select="code")
    assert url == ("companies(c-1)/dimensions?$filter=code%20eq%20'R%26D%20%231'"
                   "&$expand=dimensionValues($filter=code%20eq%20'A%2BB';$select=code)&$select=code")
    assert get(url, id="0").to_request() == {"id": "0", "method": "GET", "url": url}
