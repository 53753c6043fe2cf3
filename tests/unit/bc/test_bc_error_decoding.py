"""One decode function turns BC's error answers into typed errors an operator can act on."""

from __future__ import annotations

import pytest
import requests

from shared.bc import (
    BcAuthorizationError,
    BcConflictError,
    BcError,
    BcNotFoundError,
    BcOutcomeUnknownError,
    BcPermanentError,
    BcThrottledError,
    BcTransientError,
    BcUnavailableError,
    BcValidationError,
    decode_error,
)
from shared.errors import PermanentError, TransientError, disposition
from tests.unit.bc._fakes import COMPANY, COMPANY_ID, bc_error

CORRELATION = "e5c26ced-1111-4222-8333-944455556666"
MANUAL_NOS = ("You may not enter numbers manually. If you want to enter numbers manually, please activate "
              "Manual Nos. in No. Series S-INV.")


def _response(status: int, body=None, *, text: str | None = None, headers=None, method="POST",
              url=f"{COMPANY}/salesInvoices?$filter=x eq 'secret'") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = (text if text is not None else __import__("json").dumps(body)).encode()
    response.headers.update(headers or {"Content-Type": "application/json", "request-id": "req-42"})
    response.request = requests.Request(method, url, headers={"client-request-id": "ours-1"}).prepare()
    response.url = url
    return response


def test_decode_error_strips_the_correlation_suffix_and_keeps_the_id_apart():
    err = decode_error(_response(400, bc_error("Application_DialogException", MANUAL_NOS)))

    assert isinstance(err, BcValidationError)
    assert err.message == MANUAL_NOS
    assert err.correlation_id == CORRELATION
    assert "CorrelationId" not in err.message


def test_decode_error_keeps_status_code_request_id_and_our_client_request_id():
    err = decode_error(_response(400, bc_error("BadRequest_InvalidToken", "Could not validate the client "
                                                                         "concurrency token required by the service.")))
    assert (err.status, err.code, err.request_id, err.client_request_id) == (
        400, "BadRequest_InvalidToken", "req-42", "ours-1")
    assert err.method == "POST"
    assert err.path.endswith("/salesInvoices")  # no query: filters can hold customer data


@pytest.mark.parametrize("status,code,cls,group", [
    (400, "BadRequest", BcValidationError, BcPermanentError),
    (404, "Internal_RecordNotFound", BcNotFoundError, BcPermanentError),
    (409, "Request_EntityChanged", BcConflictError, BcPermanentError),
    (412, "Unknown", BcConflictError, BcPermanentError),
    (400, "Request_EntityChanged", BcConflictError, BcPermanentError),
    (409, "Internal_EntityWithSameKeyExists", BcConflictError, BcPermanentError),
    (401, "Authentication_InvalidCredentials", BcAuthorizationError, BcPermanentError),
    (403, "Unknown", BcAuthorizationError, BcPermanentError),
    (405, "BadRequest_MethodNotAllowed", BcPermanentError, BcPermanentError),
    (429, "Application_TooManyRequests", BcThrottledError, BcTransientError),
    (500, "Internal_ServerError", BcUnavailableError, BcTransientError),
    (502, "Unknown", BcUnavailableError, BcTransientError),
    (503, "Unknown", BcUnavailableError, BcTransientError),
])
def test_decode_error_groups_answers_by_what_the_caller_should_do(status, code, cls, group):
    err = decode_error(_response(status, bc_error(code, "Something."), method="GET"))
    assert type(err) is cls
    assert isinstance(err, group)
    assert isinstance(err, TransientError) is issubclass(group, BcTransientError)


@pytest.mark.parametrize("method,cls", [("GET", BcUnavailableError), ("DELETE", BcUnavailableError),
                                         ("POST", BcOutcomeUnknownError), ("PATCH", BcOutcomeUnknownError)])
def test_a_504_means_outcome_unknown_only_for_post_and_patch(method, cls):
    assert type(decode_error(_response(504, text="Gateway Timeout", method=method))) is cls


def test_a_retry_after_header_is_kept_on_the_error():
    err = decode_error(_response(429, bc_error("Application_TooManyRequests", "Too many requests."),
                                 headers={"Retry-After": "30"}))
    assert err.retry_after == 30.0


def test_decode_error_reads_an_inner_response_of_a_batch():
    inner = {"id": "2", "status": 400, "headers": {"request-id": "inner-7"},
             "body": bc_error("Unknown", "Unable to convert value to Date")}
    err = decode_error(inner)
    assert isinstance(err, BcValidationError)
    assert (err.message, err.correlation_id, err.request_id) == ("Unable to convert value to Date", CORRELATION,
                                                                 "inner-7")


def test_an_answer_without_bcs_envelope_still_decodes_to_a_readable_error():
    err = decode_error(_response(502, text="<html><body>Bad Gateway</body></html>", method="GET",
                                 headers={"Content-Type": "text/html"}))
    assert isinstance(err, BcUnavailableError)
    assert err.message == "Bad Gateway." and err.bc_code is None and err.code == "BcUnavailableError"
    assert "<html>" not in str(err)


def test_str_reads_well_in_an_operators_notification():
    err = decode_error(_response(400, bc_error("Application_DialogException", MANUAL_NOS)))
    assert str(err) == (f"Business Central answered 400 Application_DialogException: {MANUAL_NOS} "
                        f"(correlation id {CORRELATION}, request id req-42)")


def test_repr_names_the_type_status_and_ids():
    err = decode_error(_response(404, bc_error("Internal_RecordNotFound", "The Customer does not exist.")))
    assert repr(err) == (f"BcNotFoundError(status=404, code='Internal_RecordNotFound', "
                         f"correlation_id='{CORRELATION}', request_id='req-42')")


def test_an_inner_batch_answer_decodes_to_the_error_a_plain_answer_would_give():
    err = decode_error({"id": "1", "status": 404, "body": bc_error("BadRequest_ResourceNotFound",
                                                                   "Resource not found for the segment 'x'.")})
    assert type(err) is BcNotFoundError and err.status == 404
    assert isinstance(decode_error({"id": "2", "status": 409, "body": bc_error(
        "Request_EntityChanged", "Another user has already changed the record.")}), BcConflictError)


@pytest.mark.parametrize("status,action,http", [(400, "failed", 502), (404, "failed", 502), (409, "failed", 502),
                                                (401, "failed", 502), (429, "retry", 503), (503, "retry", 503)])
def test_bc_errors_are_errors_of_the_tree_with_the_same_answers_as_before(status, action, http):
    err = decode_error({"status": status, "body": bc_error("Some_Code", "Text."), "headers": {"Retry-After": "7"}})
    assert isinstance(err, BcError) and isinstance(err, (PermanentError, TransientError))
    assert (disposition(err).action, disposition(err).http_status) == (action, http)
    assert err.code == "Some_Code" and err.details["status"] == status


def test_a_bc_error_from_the_client_carries_the_request_ids(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers({COMPANY_ID})", status=404,
           json=bc_error("Internal_RecordNotFound", "The Customer does not exist."), headers={"request-id": "r-9"})
    with pytest.raises(BcNotFoundError) as caught:
        client.get_entity(COMPANY_ID, f"customers({COMPANY_ID})")
    err = caught.value
    assert err.request_id == "r-9" and err.client_request_id == fake_bc.calls[0].request.headers["client-request-id"]
    assert err.message == "The Customer does not exist."
