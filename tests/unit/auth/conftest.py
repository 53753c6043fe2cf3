"""Fixtures for token tests: Entra played by `responses`, so MSAL runs for real without a socket."""

from __future__ import annotations

import pytest
import requests
import responses

from shared.auth import ClientCredentialsCredential
from tests.unit.auth._entra import AUTHORITY_HOST, CLIENT_ID, DISCOVERY, SECRET, TENANT, openid_configuration


@pytest.fixture
def entra():
    """Registered endpoints only; discovery answers by default."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(DISCOVERY, json=openid_configuration())
        yield mock


@pytest.fixture
def credential(entra) -> ClientCredentialsCredential:
    # Its own session, so no pooled state is shared between tests.
    return ClientCredentialsCredential(authority_host=AUTHORITY_HOST, tenant=TENANT, client_id=CLIENT_ID,
                                       client_secret=SECRET, http_session=requests.Session())
