"""One contract for the three secret stores (memory, the local file, Key Vault through the real
`SecretClient` with the vault's REST API played by `responses`): what the connector service relies on to
keep the row and its secret together."""

from __future__ import annotations

import json
import re
import time

import pytest
import responses
from azure.core.credentials import AccessToken, AccessTokenInfo

from shared.adapters.secrets import InMemorySecretStore, KeyVaultSecretStore, LocalDevSecretStore

VAULT = "https://contract-vault.vault.azure.net"
CHALLENGE = ('Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", '
             'resource="https://vault.azure.net"')


class _Credential:
    def get_token(self, *scopes, **kwargs):
        return AccessToken("fake-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("fake-token", int(time.time()) + 3600)


class _FakeVault:
    """Key Vault's secrets REST API over a dict: the bearer challenge, set, get, delete and list."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.values: dict[str, str] = {}
        one = re.compile(re.escape(VAULT) + r"/secrets/([0-9A-Za-z-]+)/?(\?.*)?$")
        every = re.compile(re.escape(VAULT) + r"/secrets/?(\?.*)?$")
        for method in (responses.GET, responses.PUT, responses.DELETE):
            mock.add_callback(method, one, callback=self._one)
        mock.add_callback(responses.GET, every, callback=self._list)

    @staticmethod
    def _challenged(request):
        return None if request.headers.get("Authorization") else (401, {"WWW-Authenticate": CHALLENGE}, "")

    def _bundle(self, name):
        return {"id": f"{VAULT}/secrets/{name}/0123456789abcdef", "value": self.values[name],
                "attributes": {"enabled": True}}

    def _one(self, request):
        challenged = self._challenged(request)
        if challenged:
            return challenged
        name = re.search(r"/secrets/([0-9A-Za-z-]+)", request.url).group(1).lower()
        if request.method == "PUT":
            self.values[name] = json.loads(request.body)["value"]
            return 200, {}, json.dumps(self._bundle(name))
        if name not in self.values:
            return 404, {}, json.dumps({"error": {"code": "SecretNotFound", "message": "not found"}})
        if request.method == "DELETE":
            body = self._bundle(name)
            del self.values[name]
            return 200, {}, json.dumps(body)
        return 200, {}, json.dumps(self._bundle(name))

    def _list(self, request):
        challenged = self._challenged(request)
        if challenged:
            return challenged
        items = [{"id": f"{VAULT}/secrets/{n}", "attributes": {"enabled": True}} for n in sorted(self.values)]
        return 200, {}, json.dumps({"value": items, "nextLink": None})


@pytest.fixture(params=["memory", "local", "keyvault"])
def store(request, tmp_path):
    if request.param == "memory":
        yield InMemorySecretStore()
    elif request.param == "local":
        yield LocalDevSecretStore(tmp_path / ".local-secrets" / "secrets.json")
    else:
        from azure.keyvault.secrets._shared import HttpChallengeCache

        HttpChallengeCache.clear()
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            _FakeVault(mock)
            yield KeyVaultSecretStore(VAULT, _Credential(), retry_total=0, poll_interval=0, conflict_timeout=1,
                                      sleep=lambda s: None)
        HttpChallengeCache.clear()


def test_a_secret_written_under_a_name_is_read_back_by_that_name(store):
    store.set_secret("connector-acme-client-secret-65f00000c0ffee00", "first")
    store.set_secret("connector-acme-client-secret-65f00001c0ffee01", "second")
    assert store.get_secret("connector-acme-client-secret-65f00000c0ffee00") == "first"
    assert store.get_secret("connector-acme-client-secret-65f00001c0ffee01") == "second"


def test_a_missing_secret_reads_as_none_and_deletes_quietly(store):
    assert store.get_secret("connector-acme-client-secret") is None
    store.delete_secret("connector-acme-client-secret")


def test_list_names_answers_the_names_with_a_prefix_and_never_values(store):
    store.set_secret("connector-acme-client-secret-65f00000c0ffee00", "value-one")
    store.set_secret("connector-acme-refresh-token", "value-two")
    store.set_secret("connector-other-refresh-token", "value-three")
    store.set_secret("bc-client-secret", "value-four")
    assert store.list_names("connector-acme-") == ["connector-acme-client-secret-65f00000c0ffee00",
                                                   "connector-acme-refresh-token"]
    assert store.list_names("CONNECTOR-") == ["connector-acme-client-secret-65f00000c0ffee00",
                                              "connector-acme-refresh-token", "connector-other-refresh-token"]


def test_a_deleted_secret_is_gone_from_reads_and_lists(store):
    store.set_secret("connector-acme-client-secret-65f00000c0ffee00", "value")
    store.delete_secret("connector-acme-client-secret-65f00000c0ffee00")
    assert store.get_secret("connector-acme-client-secret-65f00000c0ffee00") is None
    assert store.list_names("connector-acme-") == []
