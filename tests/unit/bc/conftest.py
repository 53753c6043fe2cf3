"""Fixtures for the BC client's unit tests: a fake credential, a client on a fake host, no real waits.

The transport is swapped, not the code: `responses` answers at the requests adapter, so no socket opens.
"""

from __future__ import annotations

import pytest
import requests
import responses
from tests.unit.bc._fakes import API_URL, ENVIRONMENT, TENANT, FakeCredential, Sleeps

from shared.bc import BcClient, ConnectorGates, RetryPolicy


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def policy(sleeps: Sleeps) -> RetryPolicy:
    # random() -> 1.0 makes the jittered backoff its ceiling, so waits are predictable.
    return RetryPolicy(total=4, backoff_base=1.0, backoff_cap=10.0, max_wait=30.0,
                       sleep=sleeps, random=lambda: 1.0, clock=lambda: 1_700_000_000.0)


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def gates() -> ConnectorGates:
    return ConnectorGates()


@pytest.fixture
def client(credential: FakeCredential, policy: RetryPolicy, gates: ConnectorGates) -> BcClient:
    return BcClient(api_url=API_URL, tenant=TENANT, environment=ENVIRONMENT, credential=credential, retry=policy,
                    session=requests.Session(), gate=gates.gate("acme"))


@pytest.fixture
def fake_bc():
    """Every request must be registered; an unexpected one fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
