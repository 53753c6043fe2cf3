"""Retrying is one policy: Retry-After honoured, short waits inside the call, long ones left to the queue,
never a blind resend of a POST whose answer was lost, never a retry of 401/403."""

from __future__ import annotations

import dataclasses
import logging

import pytest
import requests
import urllib3.exceptions
from tests.unit.bc._fakes import API_URL, COMPANY, COMPANY_ID, ENVIRONMENT, TENANT, TOKEN, bc_error, transport

from shared.bc import (
    DEFAULT_RETRY,
    BcClient,
    BcAuthorizationError,
    BcOutcomeUnknownError,
    BcThrottledError,
    BcTransientError,
    BcUnavailableError,
    BcValidationError,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)
from shared.errors import TransientError

NOW = 1_700_000_000.0  # the policy fixture's clock
THROTTLED = bc_error("Application_TooManyRequests", "Too many requests reached. Actual (101). Maximum (100).")


def _connect_error() -> requests.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "Failed to establish a new connection: refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))


def test_retry_after_in_seconds_is_waited_before_the_next_attempt(client, fake_bc, sleeps):
    fake_bc.get(f"{COMPANY}/customers", status=429, json=THROTTLED, headers={"Retry-After": "7"})
    fake_bc.get(f"{COMPANY}/customers", json={"value": [{"n": 1}]})

    assert list(client.list_entities(COMPANY_ID, "customers")) == [{"n": 1}]
    assert sleeps.waits == [7.0]


def test_retry_after_as_an_http_date_is_waited_until_that_time(client, fake_bc, sleeps):
    # The policy's clock says 2023-11-14 22:13:20 GMT; BC asks to come back 12 seconds later.
    fake_bc.get(f"{COMPANY}/customers", status=503, json=bc_error("Unknown", "Service unavailable"),
           headers={"Retry-After": "Tue, 14 Nov 2023 22:13:32 GMT"})
    fake_bc.get(f"{COMPANY}/customers", json={"value": []})

    list(client.list_entities(COMPANY_ID, "customers"))
    assert sleeps.waits == [12.0]


def test_without_retry_after_the_wait_is_exponential_backoff_with_full_jitter(client, fake_bc, sleeps):
    for _ in range(3):
        fake_bc.get(f"{COMPANY}/customers", status=502, body="Bad gateway")
    fake_bc.get(f"{COMPANY}/customers", json={"value": []})

    list(client.list_entities(COMPANY_ID, "customers"))
    assert sleeps.waits == [1.0, 2.0, 4.0]  # random() is 1.0 in the fixture: the ceilings


def test_jitter_draws_each_wait_between_zero_and_the_capped_ceiling():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=10.0, random=lambda: 0.5)
    assert [policy.backoff(RetryState(attempt=n)) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]


def test_when_the_attempts_are_spent_a_throttled_error_carries_retry_after(client, fake_bc, sleeps):
    for _ in range(4):
        fake_bc.get(f"{COMPANY}/customers", status=429, json=THROTTLED, headers={"Retry-After": "2"})

    with pytest.raises(BcThrottledError) as caught:
        list(client.list_entities(COMPANY_ID, "customers"))

    err = caught.value
    assert isinstance(err, BcTransientError) and isinstance(err, TransientError)
    assert err.retry_after == 2.0
    assert err.code == "Application_TooManyRequests"
    assert "Try again in 2 seconds" in str(err)
    assert len(fake_bc.calls) == 4 and sleeps.waits == [2.0, 2.0, 2.0]


def test_a_retry_after_longer_than_max_wait_is_left_to_the_queue_at_once(client, fake_bc, sleeps):
    fake_bc.get(f"{COMPANY}/customers", status=429, json=THROTTLED, headers={"Retry-After": "120"})

    with pytest.raises(BcThrottledError) as caught:
        list(client.list_entities(COMPANY_ID, "customers"))

    assert caught.value.retry_after == 120.0
    assert len(fake_bc.calls) == 1 and sleeps.waits == []


def test_waits_within_one_call_add_up_to_at_most_max_wait(client, fake_bc, sleeps):
    for _ in range(3):
        fake_bc.get(f"{COMPANY}/customers", status=503, json=bc_error("Unknown", "Busy"), headers={"Retry-After": "12"})

    with pytest.raises(BcUnavailableError) as caught:
        list(client.list_entities(COMPANY_ID, "customers"))

    assert sleeps.waits == [12.0, 12.0]  # a third 12 s wait would pass the 30 s budget
    assert caught.value.retry_after == 12.0 and caught.value.status == 503


@pytest.mark.parametrize("status,hint", [(401, "Microsoft Entra applications"), (403, "permission sets")])
def test_401_and_403_are_never_retried_and_say_what_to_fix_in_bc(client, fake_bc, sleeps, status, hint):
    fake_bc.get(f"{COMPANY}/customers", status=status,
           json=bc_error("Authentication_InvalidCredentials", "The server has rejected the client credentials."))

    with pytest.raises(BcAuthorizationError) as caught:
        list(client.list_entities(COMPANY_ID, "customers"))

    assert len(fake_bc.calls) == 1 and sleeps.waits == []
    assert not isinstance(caught.value, TransientError)
    assert hint in str(caught.value)
    assert "rejected the client credentials" in str(caught.value)


def test_a_400_is_not_retried(client, fake_bc):
    fake_bc.post(f"{COMPANY}/customers", status=400,
            json=bc_error("Application_StringExceededLength", "The length of the string is 57, but it must be "
                                                              "less than or equal to 50 characters."))
    with pytest.raises(BcValidationError):
        client.create_entity(COMPANY_ID, "customers", {"displayName": "x" * 57})
    assert len(fake_bc.calls) == 1


def test_a_post_whose_answer_timed_out_is_not_sent_again(client, fake_bc, sleeps):
    fake_bc.post(f"{COMPANY}/salesInvoices", body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(BcOutcomeUnknownError) as caught:
        client.create_entity(COMPANY_ID, "salesInvoices", {"externalDocumentNumber": "PSA-1"})

    assert len(fake_bc.calls) == 1 and sleeps.waits == []
    err = caught.value
    assert isinstance(err, TransientError) and err.method == "POST"
    assert "look the record up by its key" in str(err).lower()


def test_a_post_answered_504_is_outcome_unknown_and_not_sent_again(client, fake_bc):
    fake_bc.post(f"{COMPANY}/salesInvoices", status=504, body="Gateway Timeout")
    with pytest.raises(BcOutcomeUnknownError) as caught:
        client.create_entity(COMPANY_ID, "salesInvoices", {"externalDocumentNumber": "PSA-1"})
    assert len(fake_bc.calls) == 1 and caught.value.status == 504


def test_a_posting_action_whose_connection_dropped_is_outcome_unknown(client, fake_bc):
    dropped = requests.ConnectionError(urllib3.exceptions.ProtocolError("Connection aborted.",
                                                                        ConnectionResetError(104, "reset")))
    fake_bc.post(f"{COMPANY}/salesInvoices({COMPANY_ID})/Microsoft.NAV.post", body=dropped)
    with pytest.raises(BcOutcomeUnknownError):
        client.invoke_action(COMPANY_ID, f"salesInvoices({COMPANY_ID})", "Microsoft.NAV.post")
    assert len(fake_bc.calls) == 1


def test_a_post_may_be_resent_after_a_timeout_when_the_policy_allows_it(credential, fake_bc, policy):
    fake_bc.post(f"{COMPANY}/customers", body=requests.exceptions.ReadTimeout("read timed out"))
    fake_bc.post(f"{COMPANY}/customers", status=201, json={"id": "x"})
    lenient = BcClient(api_url=API_URL, tenant=TENANT, environment=ENVIRONMENT, credential=credential,
                       retry=dataclasses.replace(policy, retry_non_idempotent=True), **transport())
    assert lenient.create_entity(COMPANY_ID, "customers", {"displayName": "A"}) == {"id": "x"}
    assert len(fake_bc.calls) == 2


def test_a_post_throttled_with_429_is_resent_because_bc_did_not_run_it(client, fake_bc, sleeps):
    fake_bc.post(f"{COMPANY}/customers", status=429, json=THROTTLED, headers={"Retry-After": "1"})
    fake_bc.post(f"{COMPANY}/customers", status=201, json={"id": "x", "number": "C1"})
    assert client.create_entity(COMPANY_ID, "customers", {"displayName": "A"})["number"] == "C1"
    assert len(fake_bc.calls) == 2 and sleeps.waits == [1.0]


def test_a_connect_error_is_retried_even_for_a_post(client, fake_bc, sleeps):
    fake_bc.post(f"{COMPANY}/customers", body=_connect_error())
    fake_bc.post(f"{COMPANY}/customers", status=201, json={"id": "x"})
    assert client.create_entity(COMPANY_ID, "customers", {"displayName": "A"}) == {"id": "x"}
    assert len(fake_bc.calls) == 2 and sleeps.waits == [1.0]


def test_connect_errors_that_outlast_the_attempts_raise_unavailable_with_retry_after(client, fake_bc):
    for _ in range(4):
        fake_bc.get(f"{COMPANY}/customers", body=requests.exceptions.ConnectTimeout("connect timed out"))
    with pytest.raises(BcUnavailableError, match="could not be reached") as caught:
        list(client.list_entities(COMPANY_ID, "customers"))
    assert caught.value.retry_after == 8.0 and len(fake_bc.calls) == 4


def test_a_get_whose_answer_timed_out_is_retried(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", body=requests.exceptions.ReadTimeout("read timed out"))
    fake_bc.get(f"{COMPANY}/customers", json={"value": [{"n": 1}]})
    assert list(client.list_entities(COMPANY_ID, "customers")) == [{"n": 1}]


def test_a_tls_failure_is_not_retried_and_points_at_the_ca_bundle(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", body=requests.exceptions.SSLError("certificate verify failed"))
    with pytest.raises(BcUnavailableError, match="REQUESTS_CA_BUNDLE"):
        list(client.list_entities(COMPANY_ID, "customers"))
    assert len(fake_bc.calls) == 1


def test_every_attempt_carries_the_same_client_request_id_and_a_fresh_token(client, fake_bc, credential):
    fake_bc.get(f"{COMPANY}/customers", status=503, body="busy")
    fake_bc.get(f"{COMPANY}/customers", json={"value": []})
    list(client.list_entities(COMPANY_ID, "customers"))
    ids = {c.request.headers["client-request-id"] for c in fake_bc.calls}
    assert len(ids) == 1 and len(fake_bc.calls) == 2
    assert len(credential.scopes) == 2


def test_retries_are_logged_below_warning_with_the_request_id_and_never_the_token(client, fake_bc, caplog):
    fake_bc.get(f"{COMPANY}/customers", status=429, json=THROTTLED, headers={"Retry-After": "1"})
    fake_bc.get(f"{COMPANY}/customers", json={"value": []})
    caplog.set_level(logging.DEBUG)

    list(client.list_entities(COMPANY_ID, "customers", filter="displayName eq 'Secret Customer'"))

    retry_logs = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retry_logs) == 1 and retry_logs[0].levelno == logging.INFO
    assert fake_bc.calls[0].request.headers["client-request-id"] in retry_logs[0].getMessage()
    assert all(r.levelno < logging.WARNING for r in caplog.records)
    text = caplog.text
    assert TOKEN not in text and "Secret Customer" not in text


def test_the_retry_policy_is_an_immutable_value():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_RETRY.total = 10  # type: ignore[misc]
    changed = dataclasses.replace(DEFAULT_RETRY, total=1)
    assert changed.total == 1 and DEFAULT_RETRY.total == 4
    assert RetryState().after(2.0) == RetryState(attempt=2, waited=2.0)


def test_the_default_policy_retries_504_only_for_idempotent_methods():
    assert DEFAULT_RETRY.is_retryable_status("GET", 504)
    assert DEFAULT_RETRY.is_retryable_status("DELETE", 504)
    assert not DEFAULT_RETRY.is_retryable_status("POST", 504)
    assert DEFAULT_RETRY.is_retryable_status("POST", 429) and DEFAULT_RETRY.is_retryable_status("PATCH", 503)
    assert not DEFAULT_RETRY.is_retryable_status("GET", 401)


@pytest.mark.parametrize("value,expected", [
    ("7", 7.0), (" 0 ", 0.0), ("1.5", 1.5), ("-3", 0.0),
    ("Tue, 14 Nov 2023 22:13:32 GMT", 12.0), ("Tue, 14 Nov 2023 22:13:00 GMT", 0.0),
    ("soon", None), ("", None), (None, None),
])
def test_parse_retry_after_reads_seconds_and_http_dates(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_a_policy_needs_at_least_one_attempt():
    with pytest.raises(ValueError, match="at least 1"):
        RetryPolicy(total=0)


def test_a_429_tells_the_bc_users_budget_to_hold_every_instance_off_for_retry_after(client, fake_bc, sleeps, gates):
    fake_bc.get(f"{COMPANY}/customers", status=429, json=THROTTLED, headers={"Retry-After": "7"})
    fake_bc.get(f"{COMPANY}/customers", json={"value": []})

    list(client.list_entities(COMPANY_ID, "customers"))

    assert gates.budget.pauses == [("acme", 7.0)]
