import logging

import pytest

from shared.errors import ConfigurationError
from shared.adapters.secrets import KeyVaultSecretStore, LocalDevSecretStore, secret_store_from_settings


class FakeCredential:
    def get_token(self, *scopes, **kwargs):  # pragma: no cover - never called: no request is made
        raise AssertionError("no token should be requested")


def no_credential():
    raise AssertionError("the credential factory must not be called without KEY_VAULT_URL")


def test_key_vault_url_selects_key_vault_with_the_injected_credential():
    made = []

    def factory():
        made.append(FakeCredential())
        return made[-1]

    store = secret_store_from_settings({"KEY_VAULT_URL": "https://acme.vault.azure.net/"}, factory)

    assert isinstance(store, KeyVaultSecretStore)
    assert store.vault_url == "https://acme.vault.azure.net"
    assert len(made) == 1


def test_key_vault_wins_even_in_development():
    store = secret_store_from_settings(
        {"KEY_VAULT_URL": "https://acme.vault.azure.net", "AZURE_FUNCTIONS_ENVIRONMENT": "Development"},
        FakeCredential,
    )
    assert isinstance(store, KeyVaultSecretStore)


def test_development_without_key_vault_uses_the_local_store_and_warns(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="shared.adapters.secrets")
    path = tmp_path / "dev" / "secrets.json"

    store = secret_store_from_settings({"AZURE_FUNCTIONS_ENVIRONMENT": "Development"}, no_credential, local_path=path)

    assert isinstance(store, LocalDevSecretStore)
    assert store.path == path
    assert "stored UNENCRYPTED on disk" in caplog.text


@pytest.mark.parametrize(
    "environ",
    [{}, {"AZURE_FUNCTIONS_ENVIRONMENT": "Production"}, {"KEY_VAULT_URL": "  ", "AZURE_FUNCTIONS_ENVIRONMENT": ""}],
)
def test_without_key_vault_outside_development_start_up_fails_with_the_fix(environ):
    with pytest.raises(ConfigurationError) as raised:
        secret_store_from_settings(environ, no_credential)
    assert str(raised.value) == (
        "KEY_VAULT_URL is not set. Set it to your vault's URL (https://<name>.vault.azure.net); a local secret "
        "store is only allowed when AZURE_FUNCTIONS_ENVIRONMENT=Development."
    )


def test_a_plain_http_key_vault_url_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match=r"KEY_VAULT_URL must be the vault's https URL"):
        secret_store_from_settings({"KEY_VAULT_URL": "http://acme.vault.azure.net"}, no_credential)
