"""BcClients: the one place a stored connector gets its BC client, in its auth mode, and the one place
that refuses a delegated connector without a grant before any token is asked for."""

from __future__ import annotations

import pytest
import requests

from shared.clock import SYSTEM_CLOCK
from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, InMemorySecretStore, client_secret_name
from shared.auth import ClientCredentialsCredential, CredentialCache, ReconnectRequiredError, RefreshTokenCredential
from shared.bc import ConnectorGates, budget_user
from shared.config import AppSettings
from shared.connectors import ConnectorRecord, ConnectorSettings, SettingsInvalid
from shared.errors import ReconnectRequired, disposition
from shared.adapters.token_versions import InMemoryTokenVersionStore
from shared.tokens import BcClients

APP = AppSettings(bc_client_id="app-wide-client", bc_api_url="https://bc.test",
                  bc_authority_host="https://login.test", public_base_url=None, key_vault_url=None,
                  functions_environment=None)
TENANT = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"
OWN_CLIENT = "3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01"


def _document(mode: str, client_id: str | None = OWN_CLIENT) -> dict:
    auth = {"mode": mode, **({"clientId": client_id} if client_id else {})}
    return {"tenantId": TENANT, "environment": "Production", "company": "CRONUS", "auth": auth}


OWN_SECRET_NAME = "connector-acme-client-secret-65f0000000c0ffee"


def _record(mode: str = "clientCredentials", status: str = "connected", secret_name: str | None = OWN_SECRET_NAME,
            **kwargs) -> ConnectorRecord:
    return ConnectorRecord(name="acme", settings=ConnectorSettings.from_document(_document(mode, **kwargs)),
                           status=status, company_id=None, company_name=None, tax_mode=None,
                           refresh_token_expires_at=None, client_secret_source="connector" if secret_name else "app",
                           client_secret_name=secret_name)


@pytest.fixture
def secrets() -> InMemorySecretStore:
    return InMemorySecretStore({APP_CLIENT_SECRET_NAME: "app-wide-secret", OWN_SECRET_NAME: "own-secret"})


@pytest.fixture
def gates() -> ConnectorGates:
    return ConnectorGates()


@pytest.fixture
def clients(secrets, gates) -> BcClients:
    return BcClients(app=APP, secrets=secrets, token_versions=InMemoryTokenVersionStore(),
                     credentials=CredentialCache(), session=requests.Session(), gates=gates, clock=SYSTEM_CLOCK)


def test_a_client_credentials_connector_uses_the_secret_its_row_names_and_the_gate_of_its_bc_user(
        clients, secrets, gates):
    secrets.set_secret(OWN_SECRET_NAME, "own-secret")
    client = clients.for_record(_record())
    assert client.api_base == f"https://bc.test/v2.0/{TENANT}/Production/api/v2.0"
    credential = client._credential
    assert isinstance(credential, ClientCredentialsCredential) and credential.client_id == OWN_CLIENT
    assert credential._client_secret == "own-secret"
    assert client._gate.key == budget_user(TENANT, client_id=OWN_CLIENT) and client._gate.gates is gates


def test_without_its_own_secret_the_app_wide_secret_and_client_id_are_used(clients):
    credential = clients.for_record(_record(client_id=None, secret_name=None))._credential
    assert (credential.client_id, credential._client_secret) == ("app-wide-client", "app-wide-secret")


def test_the_worker_keeps_one_credential_per_app_registration(clients):
    assert clients.for_record(_record())._credential is clients.for_record(_record())._credential


@pytest.mark.parametrize("status", ["consent_required", "reconnect_required"])
def test_a_delegated_connector_without_a_grant_is_refused_before_any_token_request(clients, status):
    with pytest.raises(ReconnectRequiredError, match="POST /api/connectors/acme/consent") as caught:
        clients.for_record(_record("delegated", status))
    assert isinstance(caught.value, ReconnectRequired) and disposition(caught.value).action == "parked"


def test_a_connected_delegated_connector_gets_the_workers_refresh_token_credential_until_forgotten(clients):
    first = clients.for_record(_record("delegated"))._credential
    assert isinstance(first, RefreshTokenCredential)
    assert clients.for_record(_record("delegated", "disabled"))._credential is first
    clients.forget("acme")
    assert clients.for_record(_record("delegated"))._credential is not first


def test_incomplete_credentials_name_the_field_to_fix(secrets, gates):
    clients = BcClients(app=APP, secrets=InMemorySecretStore(), token_versions=InMemoryTokenVersionStore(),
                        credentials=CredentialCache(), session=requests.Session(), gates=gates, clock=SYSTEM_CLOCK)
    with pytest.raises(SettingsInvalid) as caught:
        clients.for_record(_record())
    assert caught.value.errors[0].field == "auth.clientSecret"


def test_a_save_verifies_with_the_secret_it_was_given(clients, secrets):
    secrets.set_secret(client_secret_name("acme"), "old-secret")
    settings = ConnectorSettings.from_document(_document("clientCredentials"))
    client = clients.for_settings(settings, "new-secret", name="acme")
    assert client._credential._client_secret == "new-secret"


def test_a_secret_no_row_names_is_never_adopted(clients, secrets):
    secrets.set_secret(client_secret_name("acme"), "orphaned-secret")
    settings = ConnectorSettings.from_document(_document("clientCredentials"))
    assert clients.for_settings(settings, name="acme")._credential._client_secret == "app-wide-secret"
    credential = clients.for_record(_record(secret_name=None))._credential
    assert credential._client_secret == "app-wide-secret"


def test_a_consent_callback_checks_bc_with_the_token_in_hand(clients):
    settings = ConnectorSettings.from_document(_document("delegated"))
    client = clients.with_token(settings, "at-123", 3600, name="acme")
    assert client._credential.get_token("x").token == "at-123"
    assert client._scope.endswith("/user_impersonation")


class _ClosedFor:
    """A budget that knows one BC user's budget is used up."""

    def __init__(self, user: str) -> None:
        self.user, self.checked = user, []

    def acquire(self, user: str):
        raise AssertionError("a check must not take a permit")

    def check(self, user: str, *, new_work: bool) -> None:
        from shared.bc import BudgetExhausted

        self.checked.append((user, new_work))
        if user == self.user:
            raise BudgetExhausted("used up", retry_after=5)

    def throttled(self, user: str, seconds: float) -> None:
        pass


def test_a_connectors_budget_is_checked_by_the_bc_user_its_last_client_ran_as_without_reading_the_connector(secrets):
    from shared.bc import BudgetExhausted

    budget = _ClosedFor(budget_user(TENANT, client_id=OWN_CLIENT))
    clients = BcClients(app=APP, secrets=secrets, token_versions=InMemoryTokenVersionStore(),
                        credentials=CredentialCache(), session=requests.Session(),
                        gates=ConnectorGates(budget=budget), clock=SYSTEM_CLOCK)
    clients.check_budget("acme", new_work=True)  # no client yet: its BC user is not known, nothing to say
    clients.for_record(_record())

    with pytest.raises(BudgetExhausted):
        clients.check_budget("acme", new_work=True)
    assert budget.checked == [(budget_user(TENANT, client_id=OWN_CLIENT), True)]
