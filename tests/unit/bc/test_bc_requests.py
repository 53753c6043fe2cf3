"""What each client method sends: headers, bodies, If-Match, bound actions and $batch splitting."""

from __future__ import annotations

import json

import pytest
import requests
from responses import matchers

from shared.auth import BC_SCOPE, ReconnectRequiredError
from shared.bc import BcClient, BcConflictError, BcNotFoundError, BcOutcomeUnknownError, decode_error
from tests.unit.bc._fakes import API, COMPANY, COMPANY_ID, ODATA, TENANT, TOKEN, bc_error, transport

ETAG = 'W/"JzQ0O2c4UTNaMTswMDsn"'
CUSTOMER = f"customers({COMPANY_ID})"


def test_every_request_carries_the_bearer_token_accept_json_and_a_client_request_id(client, fake_bc, credential):
    fake_bc.get(f"{COMPANY}/{CUSTOMER}", json={"id": COMPANY_ID})
    client.get_entity(COMPANY_ID, CUSTOMER)
    headers = fake_bc.calls[0].request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/json"
    assert len(headers["client-request-id"]) == 36
    assert credential.scopes == [(BC_SCOPE,)]


def test_get_entity_passes_select_and_expand(client, fake_bc):
    fake_bc.get(f"{COMPANY}/salesInvoices({COMPANY_ID})", json={"id": "1"}, match=[matchers.query_param_matcher(
        {"$select": "id,number", "$expand": "salesInvoiceLines"})])
    assert client.get_entity(COMPANY_ID, f"salesInvoices({COMPANY_ID})", select=["id", "number"],
                             expand="salesInvoiceLines") == {"id": "1"}


def test_create_entity_posts_json_and_returns_bcs_201_body(client, fake_bc):
    fake_bc.post(f"{COMPANY}/customers", status=201, json={"id": "c1", "number": "C00010"},
            match=[matchers.json_params_matcher({"displayName": "Müller & Söhne"}),
                   matchers.header_matcher({"Content-Type": "application/json"})])
    assert client.create_entity(COMPANY_ID, "customers", {"displayName": "Müller & Söhne"})["number"] == "C00010"


def test_update_entity_sends_if_match_and_returns_the_updated_entity(client, fake_bc):
    fake_bc.patch(f"{COMPANY}/{CUSTOMER}", json={"id": COMPANY_ID, "displayName": "B"},
             match=[matchers.header_matcher({"If-Match": ETAG}), matchers.json_params_matcher({"displayName": "B"})])
    assert client.update_entity(COMPANY_ID, CUSTOMER, {"displayName": "B"}, etag=ETAG)["displayName"] == "B"


def test_a_stale_etag_raises_a_conflict_the_caller_resolves_by_reading_again(client, fake_bc):
    fake_bc.patch(f"{COMPANY}/{CUSTOMER}", status=409,
             json=bc_error("Request_EntityChanged", "Another user has already changed the record."))
    with pytest.raises(BcConflictError, match="Another user has already changed the record"):
        client.update_entity(COMPANY_ID, CUSTOMER, {"displayName": "B"}, etag=ETAG)
    assert len(fake_bc.calls) == 1


@pytest.mark.parametrize("etag", ["", "  ", None])
def test_update_without_an_etag_is_refused_before_any_request(client, fake_bc, etag):
    with pytest.raises(ValueError, match="ETag is required"):
        client.update_entity(COMPANY_ID, CUSTOMER, {"displayName": "B"}, etag=etag)
    assert len(fake_bc.calls) == 0


def test_delete_entity_sends_if_match_star_by_default(client, fake_bc):
    fake_bc.delete(f"{COMPANY}/{CUSTOMER}", status=204, match=[matchers.header_matcher({"If-Match": "*"})])
    assert client.delete_entity(COMPANY_ID, CUSTOMER) is None


def test_delete_entity_succeeds_when_the_record_is_already_gone(client, fake_bc):
    fake_bc.delete(f"{COMPANY}/{CUSTOMER}", status=404,
              json=bc_error("Internal_RecordNotFound", "The Customer does not exist."))
    assert client.delete_entity(COMPANY_ID, CUSTOMER, etag=ETAG) is None


def test_delete_entity_still_reports_a_missing_company(client, fake_bc):
    fake_bc.delete(f"{COMPANY}/{CUSTOMER}", status=404, json=bc_error("Internal_CompanyNotFound", "Company not found."))
    with pytest.raises(BcNotFoundError):
        client.delete_entity(COMPANY_ID, CUSTOMER)


def test_invoke_action_posts_to_the_bound_action_without_a_body(client, fake_bc):
    url = f"{COMPANY}/salesInvoices({COMPANY_ID})/Microsoft.NAV.post"
    fake_bc.post(url, status=204)
    assert client.invoke_action(COMPANY_ID, f"salesInvoices({COMPANY_ID})", "Microsoft.NAV.post") is None
    assert fake_bc.calls[0].request.body is None


def test_an_action_name_that_is_not_an_identifier_is_refused(client):
    with pytest.raises(ValueError, match="bound action"):
        client.invoke_action(COMPANY_ID, f"salesInvoices({COMPANY_ID})", "Microsoft.NAV.post?x=1")


def test_create_and_update_odata_use_the_company_name_key_and_if_match(client, fake_bc):
    base = f"{ODATA}/Company('CRONUS%20USA%2C%20Inc.')/Customer_Card"
    fake_bc.post(base, status=201, json={"No": "C1"}, match=[matchers.json_params_matcher({"Name": "A"})])
    fake_bc.patch(f"{base}('C1')", json={"No": "C1", "Customer_Posting_Group": "DOMESTIC"},
             match=[matchers.header_matcher({"If-Match": ETAG})])
    assert client.create_odata("CRONUS USA, Inc.", "Customer_Card", {"Name": "A"}) == {"No": "C1"}
    assert client.update_odata("CRONUS USA, Inc.", "Customer_Card", "C1", {"Customer_Posting_Group": "DOMESTIC"},
                               etag=ETAG)["Customer_Posting_Group"] == "DOMESTIC"


def _echo_batch(request):
    """Answer a $batch the way BC does, in reverse order to prove the client restores the order."""
    body = json.loads(request.body)
    answers = [{"id": op["id"], "status": 200, "headers": {}, "body": {"url": op["url"]}} for op in body["requests"]]
    return 200, {"Content-Type": "application/json"}, json.dumps({"responses": answers[::-1]})


def test_batch_splits_250_operations_into_calls_of_at_most_100_and_keeps_the_order(client, fake_bc):
    fake_bc.add_callback("POST", f"{API}/$batch", callback=_echo_batch)
    ops = [{"method": "GET", "url": f"companies({COMPANY_ID})/items?$filter=number eq 'I{n}'"} for n in range(250)]

    answers = client.batch(ops)

    sizes = [len(json.loads(c.request.body)["requests"]) for c in fake_bc.calls]
    assert sizes == [100, 100, 50]
    assert [a["id"] for a in answers] == [str(n) for n in range(1, 251)]
    assert answers[249]["body"]["url"] == f"companies({COMPANY_ID})/items?$filter=number%20eq%20'I249'"


def test_batch_keeps_caller_ids_and_adds_content_type_to_inner_bodies(client, fake_bc):
    fake_bc.add_callback("POST", f"{API}/$batch", callback=_echo_batch)
    client.batch([{"id": "taxGroups", "method": "get", "url": f"companies({COMPANY_ID})/taxGroups"},
                  {"id": "new", "method": "POST", "url": f"companies({COMPANY_ID})/customers", "body": {"a": 1}}])
    sent = json.loads(fake_bc.calls[0].request.body)["requests"]
    assert sent[0] == {"id": "taxGroups", "method": "GET", "url": f"companies({COMPANY_ID})/taxGroups"}
    assert sent[1]["headers"] == {"Content-Type": "application/json"} and sent[1]["body"] == {"a": 1}


def test_batch_with_snapshot_isolation_sends_the_isolation_header(client, fake_bc):
    fake_bc.add_callback("POST", f"{API}/$batch", callback=_echo_batch,
                    match=[matchers.header_matcher({"Isolation": "snapshot"})])
    client.batch([{"method": "DELETE", "url": f"companies({COMPANY_ID})/{CUSTOMER}", "headers": {"If-Match": "*"}}],
                 isolation_snapshot=True)
    assert len(fake_bc.calls) == 1


def test_batch_refuses_snapshot_isolation_over_100_operations(client, fake_bc):
    ops = [{"method": "GET", "url": f"companies({COMPANY_ID})/items"}] * 101
    with pytest.raises(ValueError, match="at most 100"):
        client.batch(ops, isolation_snapshot=True)
    assert len(fake_bc.calls) == 0


def test_batch_returns_failed_inner_responses_for_decode_error(client, fake_bc):
    fake_bc.post(f"{API}/$batch", json={"responses": [
        {"id": "1", "status": 404, "headers": {}, "body": bc_error("Internal_RecordNotFound", "Not there.")}]})
    [inner] = client.batch([{"method": "GET", "url": f"companies({COMPANY_ID})/{CUSTOMER}"}])
    assert isinstance(decode_error(inner), BcNotFoundError)


def test_batch_answer_missing_an_operation_is_outcome_unknown(client, fake_bc):
    fake_bc.post(f"{API}/$batch", json={"responses": [{"id": "1", "status": 201, "body": {}}]})
    with pytest.raises(BcOutcomeUnknownError, match="no response for operation 2"):
        client.batch([{"method": "POST", "url": "companies(x)/customers", "body": {}},
                      {"method": "POST", "url": "companies(x)/customers", "body": {}}])


def test_a_token_error_from_the_credential_passes_through_unchanged(client, fake_bc, credential):
    def refuse(*scopes, **kwargs):
        raise ReconnectRequiredError("Business Central must be reconnected.", error="invalid_grant")

    credential.get_token = refuse
    with pytest.raises(ReconnectRequiredError):
        client.list_companies()
    assert len(fake_bc.calls) == 0


def test_a_batch_of_reads_whose_answer_timed_out_is_sent_again(client, fake_bc):
    fake_bc.post(f"{API}/$batch", body=requests.exceptions.ReadTimeout("read timed out"))
    fake_bc.add_callback("POST", f"{API}/$batch", callback=_echo_batch)
    answers = client.batch([{"method": "GET", "url": f"companies({COMPANY_ID})/taxGroups"}])
    assert answers[0]["status"] == 200 and len(fake_bc.calls) == 2


def test_a_batch_that_writes_is_not_sent_again_after_a_timeout(client, fake_bc):
    fake_bc.post(f"{API}/$batch", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(BcOutcomeUnknownError) as caught:
        client.batch([{"method": "GET", "url": f"companies({COMPANY_ID})/taxGroups"},
                      {"method": "POST", "url": f"companies({COMPANY_ID})/customers", "body": {"displayName": "A"}}])
    assert caught.value.method == "POST" and len(fake_bc.calls) == 1


def test_the_client_asks_the_credential_for_the_scope_it_was_given(credential, fake_bc):
    delegated = "https://api.businesscentral.dynamics.com/Financials.ReadWrite.All"
    client = BcClient(api_url="https://bc.test", tenant=TENANT, environment="Production", credential=credential,
                      scope=delegated, **transport())
    fake_bc.get(f"{client.api_base}/companies", json={"value": []})
    client.list_companies()
    assert credential.scopes == [(delegated,)]
