"""A message may carry `dataRef: {blob, sha256}` instead of `data` (docs/contract.md §4 "Claim check"): the
export reads the blob from `bc-payloads`, checks its SHA-256, and exports it like `data`; a blob that is
missing or was changed is a `failed` outcome on field `dataRef`, with no BC request."""

from __future__ import annotations

import hashlib
import json

from shared.exports import Delivery
from shared.messages import MAX_PAYLOAD_BYTES
from tests.unit.exports._fakes import FakeBc, deps_for, record
from tests.unit.exports.test_export_rules import deep_insert, invoice


def by_reference(blob: str, content: bytes, *, version=1, host_id: str | None = None) -> str:
    ref = {"blob": blob, "sha256": hashlib.sha256(content).hexdigest()}
    if host_id is not None:
        ref["id"] = host_id
    return json.dumps({"connector": "acme", "type": "invoice", "version": version, "dataRef": ref})


def deliver(deps, text: str) -> dict:
    return deps.service.process(Delivery("bc-invoices", text, "m-1"))


def test_an_invoice_sent_by_reference_is_exported_like_one_sent_inline():
    bc = FakeBc()
    deps, sent = deps_for(record(), bc)
    content = json.dumps(invoice()).encode("utf-8")
    deps.payloads.put("invoice/psa-1/1.json", content)
    result = deliver(deps, by_reference("invoice/psa-1/1.json", content))
    assert (result["status"], result["id"]) == ("created", "psa-1")
    assert deep_insert(bc)["externalDocumentNumber"] == "PSA-1"


def test_a_missing_blob_fails_as_payload_missing_without_asking_bc():
    bc = FakeBc()
    deps, sent = deps_for(record(), bc)
    result = deliver(deps, by_reference("invoice/gone.json", b"{}", host_id="psa-9"))
    assert result["status"] == "failed"
    assert (result["error"]["code"], result["error"]["field"], result["error"]["retryable"]) == \
        ("PayloadMissing", "dataRef", True)
    assert result["id"] == "psa-9"
    assert "invoice/gone.json" in result["error"]["message"]
    assert bc.calls == []


def test_a_blob_changed_after_the_message_was_sent_fails_as_payload_altered():
    bc = FakeBc()
    deps, sent = deps_for(record(), bc)
    original = json.dumps(invoice()).encode("utf-8")
    deps.payloads.put("invoice/psa-1/1.json", json.dumps(invoice(yourReference="changed")).encode("utf-8"))
    result = deliver(deps, by_reference("invoice/psa-1/1.json", original))
    assert (result["status"], result["error"]["code"], result["error"]["field"]) == ("failed", "PayloadAltered",
                                                                                      "dataRef")
    assert bc.calls == []


def test_a_blob_that_is_not_a_json_object_is_an_invalid_message_on_data_ref():
    deps, _ = deps_for(record(), FakeBc())
    content = b"[1, 2]"
    deps.payloads.put("x.json", content)
    result = deliver(deps, by_reference("x.json", content))
    assert (result["error"]["code"], result["error"]["field"]) == ("InvalidMessage", "dataRef")


def test_a_blob_larger_than_the_limit_is_refused_on_data_ref():
    deps, _ = deps_for(record(), FakeBc())
    content = b" " * (MAX_PAYLOAD_BYTES + 10)
    deps.payloads.put("big.json", content)
    result = deliver(deps, by_reference("big.json", content))
    assert (result["error"]["code"], result["error"]["field"]) == ("InvalidMessage", "dataRef")
    assert "larger than" in result["error"]["message"]


def test_a_field_error_inside_the_blob_names_the_data_field():
    deps, _ = deps_for(record(), FakeBc())
    content = json.dumps(invoice(lines=[{"quantity": "two", "unitPrice": 1}])).encode("utf-8")
    deps.payloads.put("b.json", content)
    result = deliver(deps, by_reference("b.json", content))
    assert result["error"]["field"] == "data.lines[0].quantity"
