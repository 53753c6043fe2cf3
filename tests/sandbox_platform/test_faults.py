"""Injected failures (429, 502, 503, 504, dropped connections) and added latency."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.admin import SandboxAdminError
from sandbox.constants import ENVIRONMENT, TENANT_ID
from tests.sandbox_platform.helpers import app_token, bc_get, client_credentials


@pytest.fixture
def token(server, http) -> str:
    return app_token(http, server.url)


def test_an_injected_429_carries_retry_after_and_bcs_throttling_body(server, http, admin, token):
    admin.add_fault("429", retry_after=2)

    response = bc_get(http, server.url, token)

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "Application_TooManyRequests"
    assert response.json()["error"]["message"].startswith("Too many requests reached. Actual (6001). Maximum (6000).")
    assert bc_get(http, server.url, token).status_code == 200  # only the next one


def test_an_injected_429_can_come_without_retry_after(server, http, admin, token):
    admin.add_fault("429", retry_after=None)

    response = bc_get(http, server.url, token)

    assert response.status_code == 429 and "Retry-After" not in response.headers


@pytest.mark.parametrize("kind, code", [("502", "BadGateway"), ("503", "ServiceUnavailable")])
def test_injected_502_and_503_carry_retry_after(server, http, admin, token, kind, code):
    admin.add_fault(kind)

    response = bc_get(http, server.url, token)

    assert response.status_code == int(kind)
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == code


def test_an_injected_504_has_no_retry_after(server, http, admin, token):
    admin.add_fault("504", retry_after=30)

    response = bc_get(http, server.url, token)

    assert response.status_code == 504 and "Retry-After" not in response.headers
    assert response.json()["error"]["code"] == "GatewayTimeout"


def test_a_dropped_connection_gets_no_answer_at_all(server, http, admin, token):
    admin.add_fault("drop")

    with pytest.raises(requests.exceptions.ConnectionError):
        bc_get(http, server.url, token)

    assert bc_get(http, server.url, token).status_code == 200
    dropped = admin.requests(kind="bc")[0]
    assert dropped["fault"] == "drop" and dropped["status"] is None


def test_a_fault_applies_to_the_next_n_matching_requests_only(server, http, admin, token):
    admin.add_fault("503", count=2, method="POST", path=r"\$batch")

    assert bc_get(http, server.url, token).status_code == 200  # a GET does not match
    url = f"{server.url}/v2.0/{TENANT_ID}/{ENVIRONMENT}/api/v2.0/$batch"
    headers = {"Authorization": f"Bearer {token}"}
    statuses = [http.post(url, json={"requests": []}, headers=headers).status_code for _ in range(3)]

    assert statuses[:2] == [503, 503] and statuses[2] != 503
    assert admin.faults()["rules"] == []


def test_faults_without_a_path_leave_entra_alone_and_a_token_path_targets_it(server, http, admin):
    admin.add_fault("503")
    assert client_credentials(http, server.url).status_code == 200

    admin.clear_faults()
    admin.add_fault("503", path="/oauth2/v2.0/token")
    response = client_credentials(http, server.url)

    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_deleting_faults_removes_pending_ones(server, http, admin, token):
    admin.add_fault("429", count=5)
    admin.clear_faults()

    assert bc_get(http, server.url, token).status_code == 200


def test_added_latency_slows_every_bc_request(server, http, admin, token):
    admin.set_latency(250)

    started = time.monotonic()
    bc_get(http, server.url, token)

    assert time.monotonic() - started >= 0.25
    assert admin.requests(kind="bc")[-1]["durationMs"] >= 250


@pytest.mark.parametrize(
    "spec, message",
    [({"type": "418"}, "fault type must be one of"), ({"type": "429", "count": 0}, "count must be a positive"), ({"type": "503", "path": "("}, "regular expression")],
)
def test_malformed_fault_rules_are_refused_with_a_reason(admin, spec, message):
    with pytest.raises(SandboxAdminError, match=message):
        admin._call("POST", "faults", spec)


def test_inject_faults_names_the_failure_by_its_http_status(server, http, admin, token):
    admin.inject_faults(status=503, count=1, retry_after=120)

    response = bc_get(http, server.url, token)

    assert response.status_code == 503 and response.headers["Retry-After"] == "120"
