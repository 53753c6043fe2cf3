"""KeyVaultSecretStore against the real SecretClient, with Key Vault's REST API played by `responses`.

There is no Key Vault emulator: the HTTP exchanges below follow the
vault's documented behaviour, including the bearer challenge and soft-delete's 409s.
"""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
import responses
from azure.core.credentials import AccessToken, AccessTokenInfo
from responses.registries import OrderedRegistry

from shared.adapters.secrets import KeyVaultSecretStore, SecretStoreError

VAULT = "https://unit-test-vault.vault.azure.net"  # must be *.vault.azure.net: the SDK checks the challenge
CHALLENGE = (
    'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", '
    'resource="https://vault.azure.net"'
)
NAME = "connector-acme-refresh-token"
VALUE = "0.AXyz-refresh-token-value-that-must-never-leak"


class FakeCredential:
    """A TokenCredential that never leaves the process (no DefaultAzureCredential, no IMDS)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("fake-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None) -> AccessTokenInfo:
        self.scopes.append(scopes)
        return AccessTokenInfo("fake-token", int(time.time()) + 3600)


def secret_url(name: str) -> re.Pattern:
    # GET is /secrets/{name}/?api-version=..., PUT and DELETE /secrets/{name}?api-version=...
    return re.compile(re.escape("%s/secrets/%s" % (VAULT, name)) + r"/?(\?.*)?$")


def recover_url(name: str) -> re.Pattern:
    return re.compile(re.escape("%s/deletedsecrets/%s/recover" % (VAULT, name)) + r"(\?.*)?$")


def bundle(name: str, value: str | None = None) -> dict:
    body = {"id": "%s/secrets/%s/0123456789abcdef" % (VAULT, name), "attributes": {"enabled": True}}
    if value is not None:
        body["value"] = value
    return body


def kv_error(status_code: str, message: str, inner: str | None = None) -> dict:
    error: dict = {"code": status_code, "message": message}
    if inner:
        error["innererror"] = {"code": inner}
    return {"error": error}


DELETED_BUT_RECOVERABLE = kv_error(
    "Conflict",
    "Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, "
    "the secret can only be recovered or purged." % NAME,
    "ObjectIsDeletedButRecoverable",
)
BEING_RECOVERED = kv_error(
    "Conflict",
    "Secret %s is currently being recovered and cannot be re-created; retry later." % NAME,
    "ObjectIsBeingRecovered",
)


@pytest.fixture(autouse=True)
def _clear_challenge_cache():
    # The parsed challenge is cached per vault for the whole process; without clearing it a test's
    # first request would already carry a token and the mocked 401 would be out of order.
    from azure.keyvault.secrets._shared import HttpChallengeCache

    HttpChallengeCache.clear()
    yield
    HttpChallengeCache.clear()


@pytest.fixture
def kv():
    with responses.RequestsMock(registry=OrderedRegistry, assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def credential() -> FakeCredential:
    return FakeCredential()


@pytest.fixture
def store(credential, sleeps) -> KeyVaultSecretStore:
    return KeyVaultSecretStore(
        VAULT, credential, retry_total=0, poll_interval=0, conflict_timeout=5, sleep=sleeps.append
    )


def challenge(kv, method: str, url) -> None:
    kv.add(method, url, status=401, headers={"WWW-Authenticate": CHALLENGE})


def test_get_answers_the_value_after_the_bearer_challenge(kv, store, credential):
    challenge(kv, responses.GET, secret_url(NAME))
    kv.add(responses.GET, secret_url(NAME), json=bundle(NAME, VALUE))

    assert store.get_secret(NAME) == VALUE

    assert "Authorization" not in kv.calls[0].request.headers
    assert kv.calls[1].request.headers["Authorization"] == "Bearer fake-token"
    assert credential.scopes == [("https://vault.azure.net/.default",)]


def test_get_of_a_missing_secret_answers_none(kv, store):
    challenge(kv, responses.GET, secret_url(NAME))
    kv.add(
        responses.GET,
        secret_url(NAME),
        status=404,
        json=kv_error("SecretNotFound", "A secret with (name/id) %s was not found in this key vault." % NAME),
    )

    assert store.get_secret(NAME) is None


def test_set_puts_the_value_as_json_after_the_challenge(kv, store):
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), json=bundle(NAME, VALUE))

    store.set_secret(NAME, VALUE)

    assert not kv.calls[0].request.body  # the challenge request carries no body
    assert json.loads(kv.calls[1].request.body)["value"] == VALUE


def test_delete_starts_the_deletion_without_waiting_for_it(kv, store):
    challenge(kv, responses.DELETE, secret_url(NAME))
    kv.add(
        responses.DELETE,
        secret_url(NAME),
        json={**bundle(NAME), "recoveryId": "%s/deletedsecrets/%s" % (VAULT, NAME), "deletedDate": 1700000000},
    )

    store.delete_secret(NAME)

    # No polling of /deletedsecrets afterwards: OrderedRegistry would fail on any further request.
    assert [c.request.method for c in kv.calls] == ["DELETE", "DELETE"]


def test_delete_of_a_missing_secret_succeeds(kv, store):
    challenge(kv, responses.DELETE, secret_url(NAME))
    kv.add(responses.DELETE, secret_url(NAME), status=404, json=kv_error("SecretNotFound", "not found"))

    store.delete_secret(NAME)


def test_set_of_a_soft_deleted_name_recovers_it_then_writes_the_new_value(kv, store, caplog):
    caplog.set_level(logging.INFO, logger="shared.adapters.secrets")
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), status=409, json=DELETED_BUT_RECOVERABLE)
    kv.add(responses.POST, recover_url(NAME), json=bundle(NAME))
    kv.add(responses.GET, secret_url(NAME), status=404, json=kv_error("SecretNotFound", "not yet"))
    kv.add(responses.GET, secret_url(NAME), json=bundle(NAME, "old-value"))
    kv.add(responses.PUT, secret_url(NAME), json=bundle(NAME, VALUE))

    store.set_secret(NAME, VALUE)

    assert [c.request.method for c in kv.calls] == ["PUT", "PUT", "POST", "GET", "GET", "PUT"]
    assert json.loads(kv.calls[-1].request.body)["value"] == VALUE
    assert "was deleted but is recoverable; recovering it" in caplog.text


def test_set_retries_while_the_vault_is_still_recovering_the_name(kv, store, sleeps):
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), status=409, json=DELETED_BUT_RECOVERABLE)
    kv.add(responses.POST, recover_url(NAME), json=bundle(NAME))
    kv.add(responses.GET, secret_url(NAME), json=bundle(NAME, "old-value"))
    kv.add(responses.PUT, secret_url(NAME), status=409, json=BEING_RECOVERED)
    kv.add(responses.PUT, secret_url(NAME), json=bundle(NAME, VALUE))

    store.set_secret(NAME, VALUE)

    assert sleeps == [0]
    assert json.loads(kv.calls[-1].request.body)["value"] == VALUE


def test_set_while_a_delete_is_still_finishing_waits_then_recovers(kv, store, sleeps):
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(
        responses.PUT,
        secret_url(NAME),
        status=409,
        json=kv_error("Conflict", "Secret %s is currently being deleted." % NAME, "ObjectIsBeingDeleted"),
    )
    kv.add(responses.PUT, secret_url(NAME), status=409, json=DELETED_BUT_RECOVERABLE)
    kv.add(responses.POST, recover_url(NAME), json=bundle(NAME))
    kv.add(responses.GET, secret_url(NAME), json=bundle(NAME, "old-value"))
    kv.add(responses.PUT, secret_url(NAME), json=bundle(NAME, VALUE))

    store.set_secret(NAME, VALUE)

    assert sleeps == [0]
    assert [c.request.method for c in kv.calls] == ["PUT", "PUT", "PUT", "POST", "GET", "PUT"]


def test_set_gives_up_on_a_busy_name_after_the_conflict_timeout(kv, credential, sleeps):
    clock = iter([0.0, 1.0, 10.0])  # start, first conflict, second conflict (past the 5 s timeout)
    store = KeyVaultSecretStore(
        VAULT, credential, retry_total=0, poll_interval=0, conflict_timeout=5,
        sleep=sleeps.append, monotonic=lambda: next(clock),
    )
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), status=409, json=BEING_RECOVERED)
    kv.add(responses.PUT, secret_url(NAME), status=409, json=BEING_RECOVERED)

    with pytest.raises(SecretStoreError) as raised:
        store.set_secret(NAME, VALUE)

    assert raised.value.status == 409
    assert raised.value.code == "ObjectIsBeingRecovered"
    assert "Could not write secret %s in Key Vault: 409" % NAME in str(raised.value)


def test_set_without_recover_permission_says_what_to_grant(kv, store):
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), status=409, json=DELETED_BUT_RECOVERABLE)
    kv.add(responses.POST, recover_url(NAME), status=403, json=kv_error("Forbidden", "Caller is not authorized."))

    with pytest.raises(SecretStoreError) as raised:
        store.set_secret(NAME, VALUE)

    assert raised.value.name == NAME
    assert raised.value.status == 403
    assert "Grant the app's identity the 'recover' secret permission, or purge the deleted secret" in str(
        raised.value
    )


def test_forbidden_write_names_the_secret_and_the_role_but_never_the_value(kv, store, caplog):
    caplog.set_level(logging.DEBUG)
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), status=403, json=kv_error("Forbidden", "Caller is not authorized."))

    with pytest.raises(SecretStoreError) as raised:
        store.set_secret(NAME, VALUE)

    message = str(raised.value)
    assert message == (
        "Could not write secret %s in Key Vault: 403 Caller is not authorized. Check that the app's identity "
        "may write and delete secrets in this vault (Key Vault Secrets Officer role)." % NAME
    )
    assert raised.value.code == "Forbidden"
    for text in (message, repr(raised.value), str(raised.value.__cause__), caplog.text):
        assert VALUE not in text


def test_the_value_never_appears_in_logs_of_a_full_round_trip(kv, store, caplog):
    caplog.set_level(logging.DEBUG)
    challenge(kv, responses.PUT, secret_url(NAME))
    kv.add(responses.PUT, secret_url(NAME), status=409, json=DELETED_BUT_RECOVERABLE)
    kv.add(responses.POST, recover_url(NAME), json=bundle(NAME))
    kv.add(responses.GET, secret_url(NAME), json=bundle(NAME, "old-value"))
    kv.add(responses.PUT, secret_url(NAME), json=bundle(NAME, VALUE))
    kv.add(responses.GET, secret_url(NAME), json=bundle(NAME, VALUE))

    store.set_secret(NAME, VALUE)
    assert store.get_secret(NAME) == VALUE

    assert caplog.records  # the SDK's HTTP logging did run
    assert VALUE not in caplog.text
    assert VALUE not in repr(store)


def test_invalid_names_are_rejected_before_any_request(kv, store):
    with pytest.raises(ValueError, match="not a valid secret name"):
        store.get_secret("connector_acme")
    assert not kv.calls


def test_plain_http_vault_urls_are_refused(credential):
    with pytest.raises(ValueError, match=r"must start with https://"):
        KeyVaultSecretStore("http://127.0.0.1:8443", credential)
