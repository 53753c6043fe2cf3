"""JSON $batch: inner requests, the 100-operation limit, Isolation: snapshot."""

from __future__ import annotations

import json

from werkzeug.test import EnvironBuilder

from sandbox import constants as C

from ._client import US, company_path

BATCH = "api/v2.0/$batch"


def op(op_id: str, method: str, url: str, body=None, headers=None) -> dict:
    item = {"id": op_id, "method": method, "url": url, "headers": headers or {}}
    if body is not None:
        item["body"] = body
        item["headers"].setdefault("Content-Type", "application/json")
    return item


def customer_numbers(bc) -> set[str]:
    return {c["number"] for c in bc.get(company_path() + "/customers?$select=number").value}


def test_a_batch_answers_every_operation_with_id_status_and_body(bc):
    answer = bc.post(BATCH, {"requests": [
        op("1", "GET", "companies(%s)/customers?$top=1" % US),
        op("2", "POST", "companies(%s)/customers" % US, {"number": "B1", "displayName": "Batch one"}),
        op("3", "GET", bc.base_url + "/api/v2.0/companies(%s)/items?$filter=number eq 'WRITE-IN'" % US),
    ]})
    assert answer.status == 200
    responses = {r["id"]: r for r in answer.body["responses"]}
    assert [responses[i]["status"] for i in ("1", "2", "3")] == [200, 201, 200]
    assert responses["2"]["body"]["number"] == "B1"
    assert responses["2"]["headers"]["location"].endswith("/customers(%s)" % responses["2"]["body"]["id"])
    assert responses["3"]["body"]["value"][0]["displayName"] == "Write-in item"


def test_an_inner_failure_is_reported_in_bc_envelope_and_others_still_apply(bc):
    answer = bc.post(BATCH, {"requests": [
        op("ok", "POST", "companies(%s)/customers" % US, {"number": "B2", "displayName": "Kept"}),
        op("bad", "POST", "companies(%s)/customers" % US, {"number": "B3", "displayName": "x" * 101}),
    ]})
    responses = {r["id"]: r for r in answer.body["responses"]}
    assert responses["ok"]["status"] == 201
    assert responses["bad"]["status"] == 400
    assert responses["bad"]["body"]["error"]["code"] == "Application_StringExceededLength"
    assert "B2" in customer_numbers(bc) and "B3" not in customer_numbers(bc)


def test_isolation_snapshot_rolls_back_the_whole_batch_on_any_failure(bc):
    answer = bc.post(BATCH, {"requests": [
        op("1", "POST", "companies(%s)/customers" % US, {"number": "S1", "displayName": "Rolled back"}),
        op("2", "POST", "companies(%s)/salesInvoices" % US, {"customerNumber": "NOPE"}),
        op("3", "POST", "companies(%s)/customers" % US, {"number": "S3", "displayName": "Never run"}),
    ]}, headers={"Isolation": "snapshot"})
    responses = {r["id"]: r for r in answer.body["responses"]}
    assert responses["2"]["status"] == 400
    assert responses["2"]["body"]["error"]["message"].startswith("The sell-to customer cannot be found.")
    assert responses["1"]["status"] == 424 and responses["3"]["status"] == 424
    assert not {"S1", "S3"} & customer_numbers(bc)


def test_isolation_snapshot_commits_when_everything_succeeds(bc):
    answer = bc.post(BATCH, {"requests": [
        op("1", "POST", "companies(%s)/customers" % US, {"number": "S4", "displayName": "Kept"}),
        op("2", "POST", "companies(%s)/customers" % US, {"number": "S5", "displayName": "Kept too"}),
    ]}, headers={"Isolation": "snapshot"})
    assert [r["status"] for r in answer.body["responses"]] == [201, 201]
    assert {"S4", "S5"} <= customer_numbers(bc)


def test_more_than_100_operations_are_rejected(bc):
    requests = [op(str(n), "GET", "companies(%s)/customers?$top=1" % US) for n in range(101)]
    answer = bc.post(BATCH, {"requests": requests})
    assert answer.status == 400
    assert answer.message == "The batch request contains 101 operations, but the maximum allowed is 100."
    assert bc.post(BATCH, {"requests": requests[:100]}).status == 200


def test_an_inner_request_can_name_the_company_in_a_header(bc):
    answer = bc.post(BATCH, {"requests": [op("1", "GET", "customers?$select=number", headers={"Company": US})]})
    assert answer.body["responses"][0]["status"] == 200
    assert len(answer.body["responses"][0]["body"]["value"]) == 6


def test_batch_size_counts_operations_for_the_request_log(world):
    body = json.dumps({"requests": [op(str(n), "GET", "companies(%s)/items" % US) for n in range(7)]})
    request = EnvironBuilder(path="/v2.0/%s/%s/%s" % (C.TENANT_ID, C.ENVIRONMENT, BATCH), method="POST",
                             data=body, content_type="application/json").get_request()
    assert world.batch_size(request) == 7
    other = EnvironBuilder(path="/v2.0/%s/%s/api/v2.0/companies" % (C.TENANT_ID, C.ENVIRONMENT)).get_request()
    assert world.batch_size(other) == 1
