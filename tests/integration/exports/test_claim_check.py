"""Invoices larger than a queue message (docs/contract.md §4 "Claim check"), on Azurite and the sandbox: the
host uploads the `data` object to container `bc-payloads` and sends `dataRef: {blob, sha256}`."""

from __future__ import annotations

import hashlib
import json

from azure.storage.blob import BlobServiceClient

from shared.messages import MAX_MESSAGE_CHARS
from tests.integration.exports._helpers import deliver, describe, invoice_data, line


def upload(services, blob: str, data: dict) -> str:
    """Upload `data` as UTF-8 JSON to bc-payloads; its SHA-256."""
    content = json.dumps(data).encode("utf-8")
    service = BlobServiceClient.from_connection_string(services.environ["AzureWebJobsStorage"])
    service.get_blob_client("bc-payloads", blob).upload_blob(content, overwrite=True)
    return hashlib.sha256(content).hexdigest()


def by_reference(exp, blob: str, sha256: str, host_id: str | None = None) -> dict:
    ref = {"blob": blob, "sha256": sha256, **({"id": host_id} if host_id else {})}
    before = len(exp.outcomes.of(exp.name))
    deliver("bc-invoices", json.dumps({"connector": exp.name, "type": "invoice", "version": 1, "dataRef": ref}))
    outcomes = exp.outcomes.of(exp.name)
    assert len(outcomes) == before + 1
    return outcomes[-1]


def test_an_invoice_of_1000_lines_sent_by_reference_is_one_deep_insert(exp, services):
    exp.save()
    exp.send("invoice", invoice_data("psa-small"))  # steady state: customer and the G/L setup are known
    lines = [line(f"Consulting day {n}: analysis, workshops and the written report for the steering group", 1,
                  100 + n % 7) for n in range(1000)]
    data = invoice_data("psa-big", lines=lines)
    assert len(json.dumps({"data": data})) > MAX_MESSAGE_CHARS  # it could not be sent inline
    digest = upload(services, f"{exp.name}/invoice/psa-big/1.json", data)
    mark = exp.mark()
    outcome = by_reference(exp, f"{exp.name}/invoice/psa-big/1.json", digest)
    assert (outcome["status"], outcome["id"]) == ("created", "psa-big"), outcome
    assert describe(exp.bc_since(mark)) == [f"POST v2.0/companies({exp.company_id})/salesInvoices"]
    assert len(exp.invoice(outcome["bc"]["id"])["salesInvoiceLines"]) == 1000


def test_a_blob_that_is_not_there_is_a_failed_outcome_payload_missing(exp):
    exp.save()
    mark = exp.mark()
    outcome = by_reference(exp, f"{exp.name}/never-uploaded.json", "0" * 64, host_id="psa-404")
    assert (outcome["status"], outcome["id"]) == ("failed", "psa-404")
    assert (outcome["error"]["code"], outcome["error"]["field"]) == ("PayloadMissing", "dataRef")
    assert exp.bc_since(mark) == []


def test_a_blob_replaced_after_sending_is_a_failed_outcome_payload_altered(exp, services):
    exp.save()
    blob = f"{exp.name}/invoice/psa-7/1.json"
    digest = upload(services, blob, invoice_data("psa-7"))
    upload(services, blob, invoice_data("psa-7", yourReference="someone changed it"))
    mark = exp.mark()
    outcome = by_reference(exp, blob, digest)
    assert (outcome["status"], outcome["error"]["code"], outcome["error"]["field"]) == ("failed", "PayloadAltered",
                                                                                         "dataRef")
    assert exp.bc_since(mark) == []
