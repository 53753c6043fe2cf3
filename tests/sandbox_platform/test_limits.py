"""BC Online's per-user limits: rate window, 5 concurrent requests, the queue, the queue timeout."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from sandbox.constants import DEMO_CLIENT_ID, ENVIRONMENT, TENANT_ID
from tests.sandbox_platform.helpers import app_token, bc_get, delegated_tokens

APP_KEY = f"{TENANT_ID}/app:{DEMO_CLIENT_ID}"


def _parallel(server, token: str, count: int) -> list[requests.Response]:
    """Sends `count` BC requests at once, each on its own connection, and returns the answers."""
    answers: list[requests.Response] = []
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def call() -> None:
        with requests.Session() as session:
            session.verify, session.trust_env = server.ca_bundle, False
            barrier.wait()
            answer = bc_get(session, server.url, token)
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return answers


def test_the_defaults_are_bc_onlines_documented_limits(admin):
    limits = admin.limits()

    assert (limits["requestsPerWindow"], limits["windowSeconds"]) == (6000, 300)
    assert (limits["maxConcurrent"], limits["maxQueue"], limits["queueTimeoutSeconds"]) == (5, 95, 480)


def test_the_request_after_the_rate_limit_is_429_with_retry_after(server, http, admin):
    token = app_token(http, server.url)
    admin.set_limits(requestsPerWindow=3, windowSeconds=60)
    for _ in range(3):
        assert bc_get(http, server.url, token).status_code == 200

    response = bc_get(http, server.url, token)

    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "Application_TooManyRequests"
    assert error["message"].startswith("Too many requests reached. Actual (4). Maximum (3).  CorrelationId:  ")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_the_window_slides_so_requests_pass_again_once_old_ones_age_out(server, http, admin):
    token = app_token(http, server.url)
    admin.set_limits(requestsPerWindow=2, windowSeconds=60)
    bc_get(http, server.url, token)
    bc_get(http, server.url, token)
    assert bc_get(http, server.url, token).status_code == 429

    admin.advance_clock(61)

    assert bc_get(http, server.url, token).status_code == 200


def test_limits_are_counted_per_user_or_service_principal(server, http, admin):
    app = app_token(http, server.url)
    user = delegated_tokens(http, server.url)["access_token"]
    admin.set_limits(requestsPerWindow=1)
    bc_get(http, server.url, app)
    assert bc_get(http, server.url, app).status_code == 429

    assert bc_get(http, server.url, user).status_code == 200


def test_five_requests_run_at_once_the_next_wait_in_the_queue_and_the_rest_get_429(server, http, admin):
    token = app_token(http, server.url)
    admin.set_limits(maxQueue=2)
    admin.set_latency(400)
    started = time.monotonic()

    answers = _parallel(server, token, 9)

    elapsed = time.monotonic() - started
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 7 + [429] * 2
    rejected = [a for a in answers if a.status_code == 429]
    assert all("Actual (8). Maximum (7)." in a.json()["error"]["message"] for a in rejected)
    assert all(a.headers["Retry-After"] for a in rejected)
    assert 0.75 < elapsed < 3  # two rounds of 400 ms: five at once, then the two queued ones
    usage = admin.limits()["usage"][APP_KEY]
    assert usage["peakActive"] == 5 and usage["active"] == 0 and usage["queued"] == 0


def test_a_request_queued_longer_than_the_queue_timeout_gets_503_with_retry_after(server, http, admin):
    token = app_token(http, server.url)
    admin.set_limits(queueTimeoutSeconds=0.2, retryAfterSeconds=7)
    admin.set_latency(600)

    answers = _parallel(server, token, 6)

    assert sorted(a.status_code for a in answers) == [200] * 5 + [503]
    late = next(a for a in answers if a.status_code == 503)
    assert late.headers["Retry-After"] == "7"
    assert late.json()["error"]["code"] == "ServiceUnavailable"


def test_a_batch_counts_once_toward_the_rate_and_logs_its_operations(server, http, admin):
    token = app_token(http, server.url)
    batch = {
        "requests": [
            {"method": "GET", "id": str(i), "url": "companies", "headers": {"Content-Type": "application/json"}}
            for i in range(3)
        ]
    }

    response = http.post(
        f"{server.url}/v2.0/{TENANT_ID}/{ENVIRONMENT}/api/v2.0/$batch",
        json=batch,
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 200, response.text
    assert admin.limits()["usage"][APP_KEY]["inWindow"] == 1
    assert admin.requests(kind="bc")[-1]["batchOperations"] == 3


@pytest.mark.parametrize(
    "change, message",
    [({"maxConcurrent": 0}, "maxConcurrent must be >= 1"), ({"bogus": 1}, "unknown limit setting"), ({"maxQueue": -1}, "non-negative")],
)
def test_invalid_limit_settings_are_refused_with_a_reason(admin, change, message):
    from sandbox.admin import SandboxAdminError

    with pytest.raises(SandboxAdminError, match=message) as info:
        admin.set_limits(**change)
    assert info.value.status == 400
