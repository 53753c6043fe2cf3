import json
import logging
import stat

import pytest

from shared.adapters.secrets import LocalDevSecretStore, SecretStoreError


@pytest.fixture
def path(tmp_path):
    return tmp_path / ".local-secrets" / "secrets.json"


def test_local_store_round_trips_secrets_through_its_file(path):
    LocalDevSecretStore(path).set_secret("connector-acme-refresh-token", "rt-1")
    assert LocalDevSecretStore(path).get_secret("connector-acme-refresh-token") == "rt-1"
    assert json.loads(path.read_text()) == {"connector-acme-refresh-token": "rt-1"}


def test_local_store_file_is_readable_by_its_owner_only(path):
    LocalDevSecretStore(path).set_secret("bc-client-secret", "s3cret")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_local_store_answers_none_for_a_missing_secret_and_file(path):
    assert LocalDevSecretStore(path).get_secret("bc-client-secret") is None
    assert not path.exists()


def test_local_store_delete_succeeds_when_absent(path):
    store = LocalDevSecretStore(path)
    store.set_secret("bc-client-secret", "s3cret")
    store.delete_secret("bc-client-secret")
    store.delete_secret("bc-client-secret")
    assert store.get_secret("bc-client-secret") is None


def test_local_store_warns_once_that_secrets_are_unencrypted(path, caplog):
    caplog.set_level(logging.WARNING, logger="shared.adapters.secrets")
    LocalDevSecretStore(path)
    LocalDevSecretStore(path)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Secrets are stored UNENCRYPTED on disk" in warnings[0].getMessage()
    assert "because KEY_VAULT_URL is unset and AZURE_FUNCTIONS_ENVIRONMENT=Development" in warnings[0].getMessage()


def test_a_corrupt_local_file_is_reported_without_its_content(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"bc-client-secret": "s3cret"')
    with pytest.raises(SecretStoreError) as raised:
        LocalDevSecretStore(path).get_secret("bc-client-secret")
    assert "is not valid JSON; fix or delete it" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    assert raised.value.name == "bc-client-secret"
