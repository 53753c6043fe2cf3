import pytest

from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, client_secret_name, refresh_token_name, validate_secret_name


def test_secret_names_follow_the_architecture():
    assert APP_CLIENT_SECRET_NAME == "bc-client-secret"
    assert client_secret_name("contoso-bc") == "connector-contoso-bc-client-secret"
    assert refresh_token_name("contoso-bc") == "connector-contoso-bc-refresh-token"


@pytest.mark.parametrize("name", ["a", "A-1", "x" * 127])
def test_key_vault_accepts_letters_digits_and_dashes_up_to_127(name):
    assert validate_secret_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 128, "connector_acme", "connector.acme", "cönnector", "a b"])
def test_key_vault_rejects_other_names_and_says_the_rule(name):
    with pytest.raises(ValueError) as raised:
        validate_secret_name(name)
    assert "Key Vault allows 1-127 characters of 0-9, a-z, A-Z and '-'" in str(raised.value)


def test_a_connector_name_that_cannot_form_a_secret_name_is_rejected():
    with pytest.raises(ValueError, match="not a valid secret name"):
        refresh_token_name("contoso/bc")
