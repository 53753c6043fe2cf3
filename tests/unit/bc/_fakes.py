"""Fakes and constants for the BC client's unit tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from azure.core.credentials import AccessToken

from shared.bc import ConnectorGates

API_URL = "https://bc.test"
TENANT = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"
ENVIRONMENT = "Production"
COMPANY_ID = "5a1c6898-0000-4e8f-9b7a-5c6d7e8f9a01"
API = f"{API_URL}/v2.0/{TENANT}/{ENVIRONMENT}/api/v2.0"
COMPANY = f"{API}/companies({COMPANY_ID})"
ODATA = f"{API_URL}/v2.0/{TENANT}/{ENVIRONMENT}/ODataV4"
TOKEN = "eyJhbGciOiJub25lIn0.eyJhdWQiOiJiYyJ9.c2lnbmF0dXJl-test-token"


@dataclass
class FakeCredential:
    """Counts token requests; hands out a fixed JWT-shaped token."""

    token: str = TOKEN
    scopes: list[tuple[str, ...]] = field(default_factory=list)

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class Sleeps:
    """Stands in for time.sleep: records the waits instead of waiting."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def transport() -> dict:
    """The session and gate a BcClient is built with in these tests: a fresh one of each."""
    return {"session": requests.Session(), "gate": ConnectorGates().gate("acme")}


def bc_error(code: str, message: str, correlation_id: str = "e5c26ced-1111-4222-8333-944455556666") -> dict:
    """BC's error envelope (docs/business-central.md §5)."""
    return {"error": {"code": code, "message": f"{message}  CorrelationId:  {correlation_id}."}}
