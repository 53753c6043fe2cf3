import pytest

from shared.adapters.secrets import InMemorySecretStore, SecretStore


def test_in_memory_store_round_trips_and_deletes_idempotently():
    store: SecretStore = InMemorySecretStore()
    assert store.get_secret("bc-client-secret") is None
    store.set_secret("bc-client-secret", "s3cret")
    assert store.get_secret("bc-client-secret") == "s3cret"
    store.delete_secret("bc-client-secret")
    store.delete_secret("bc-client-secret")
    assert store.get_secret("bc-client-secret") is None


def test_in_memory_store_treats_names_case_insensitively_like_key_vault():
    store = InMemorySecretStore({"BC-Client-Secret": "s3cret"})
    assert store.get_secret("bc-client-secret") == "s3cret"


def test_in_memory_store_rejects_names_key_vault_would_reject():
    with pytest.raises(ValueError, match="not a valid secret name"):
        InMemorySecretStore().set_secret("bad_name", "x")


def test_in_memory_store_repr_shows_no_values():
    store = InMemorySecretStore({"bc-client-secret": "s3cret"})
    assert "s3cret" not in repr(store)
    assert store.names() == ["bc-client-secret"]
