"""A 401 from Business Central: the cached token is dropped and the call is sent once more with a fresh one
(issue 10 item 4). A credential that cannot renew (a token in hand) is not retried; a 401 that a fresh token
does not cure says what to fix: the app's entry on 'Microsoft Entra applications' (app-only), or the user's
BC licence and permissions (delegated)."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import pytest
import requests
from azure.core.credentials import AccessToken
from tests.unit.bc._fakes import API_URL, COMPANY, COMPANY_ID, ENVIRONMENT, bc_error

from shared.auth import ReconnectRequiredError
from shared.bc import BcAuthorizationError, BcClient, ConnectorGates

REFUSED = bc_error("Authentication_InvalidCredentials", "The credentials provided are incorrect")
TENANT = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"


@dataclass
class RenewingCredential:
    """Caches one token until it is forgotten; `refused` makes the renewal fail like a revoked grant."""

    cached: str | None = None
    forgotten: list[str] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    refused: bool = False
    _serial: itertools.count = field(default_factory=itertools.count)

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        if self.cached is None:
            if self.refused:
                raise ReconnectRequiredError("AADSTS50173: the grant was revoked", error="invalid_grant")
            self.cached = f"token-{next(self._serial)}"
            self.issued.append(self.cached)
        return AccessToken(self.cached, int(time.time()) + 3600)

    def forget_token(self, token: str) -> None:
        self.forgotten.append(token)
        if self.cached == token:
            self.cached = None


def client_with(credential, *, delegated: bool = False) -> BcClient:
    return BcClient(api_url=API_URL, tenant=TENANT, environment=ENVIRONMENT, credential=credential,
                    session=requests.Session(), gate=ConnectorGates().gate("acme"), delegated=delegated)


def bearer(call) -> str:
    return call.request.headers["Authorization"].removeprefix("Bearer ")


def test_a_401_drops_the_cached_token_and_the_call_succeeds_with_a_fresh_one(fake_bc):
    credential = RenewingCredential()
    fake_bc.post(f"{COMPANY}/customers", status=401, json=REFUSED)
    fake_bc.post(f"{COMPANY}/customers", status=201, json={"id": "c1", "number": "C1"})

    created = client_with(credential).create_entity(COMPANY_ID, "customers", {"displayName": "N"})

    assert created["id"] == "c1"
    assert credential.forgotten == ["token-0"]
    assert [bearer(c) for c in fake_bc.calls] == ["token-0", "token-1"]


@pytest.mark.parametrize("delegated,hint", [(False, "Microsoft Entra applications"),
                                            (True, "Business Central licence")])
def test_a_401_with_a_fresh_token_fails_once_with_the_hint_of_the_auth_mode(fake_bc, delegated, hint):
    credential = RenewingCredential()
    fake_bc.get(f"{COMPANY}/customers", status=401, json=REFUSED)

    with pytest.raises(BcAuthorizationError) as info:
        list(client_with(credential, delegated=delegated).list_entities(COMPANY_ID, "customers"))

    assert len(fake_bc.calls) == 2  # the cached token, then one fresh one: no loop
    assert credential.issued == ["token-0", "token-1"]
    assert hint in str(info.value)
    assert ("Microsoft Entra applications" in str(info.value)) is not delegated


def test_a_fresh_token_refused_for_a_revoked_grant_raises_reconnect_required(fake_bc):
    credential = RenewingCredential()
    fake_bc.get(f"{COMPANY}/customers", status=401, json=REFUSED)
    client = client_with(credential, delegated=True)
    credential.get_token("scope")  # cached before the grant was revoked
    credential.refused = True

    with pytest.raises(ReconnectRequiredError):
        list(client.list_entities(COMPANY_ID, "customers"))

    assert len(fake_bc.calls) == 1


def test_a_credential_that_cannot_renew_is_not_asked_again(fake_bc, credential):
    fake_bc.get(f"{COMPANY}/customers", status=401, json=REFUSED)

    with pytest.raises(BcAuthorizationError):
        list(client_with(credential).list_entities(COMPANY_ID, "customers"))

    assert len(fake_bc.calls) == 1
