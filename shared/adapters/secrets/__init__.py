"""Secret storage: Key Vault in production, a local file in development, memory in tests."""

from shared.adapters.secrets._factory import KEY_VAULT_URL_SETTING, secret_store_from_settings
from shared.adapters.secrets._keyvault import KeyVaultSecretStore
from shared.adapters.secrets._local import DEFAULT_LOCAL_SECRETS_PATH, LocalDevSecretStore
from shared.adapters.secrets._memory import InMemorySecretStore
from shared.adapters.secrets._names import (
    APP_CLIENT_SECRET_NAME,
    CONNECTOR_SECRET_PREFIX,
    ConnectorSecretName,
    client_secret_name,
    new_client_secret_name,
    parse_connector_secret_name,
    refresh_token_name,
    webhook_state_name,
    validate_secret_name,
)
from shared.adapters.secrets._port import (
    SecretStore,
    SecretStoreError,
    SecretStoreMisconfigured,
    SecretStoreUnavailable,
    secret_store_error,
)

__all__ = [
    "SecretStore",
    "SecretStoreError",
    "SecretStoreUnavailable",
    "SecretStoreMisconfigured",
    "secret_store_error",
    "KeyVaultSecretStore",
    "LocalDevSecretStore",
    "InMemorySecretStore",
    "secret_store_from_settings",
    "APP_CLIENT_SECRET_NAME",
    "client_secret_name",
    "new_client_secret_name",
    "parse_connector_secret_name",
    "ConnectorSecretName",
    "CONNECTOR_SECRET_PREFIX",
    "refresh_token_name",
    "webhook_state_name",
    "validate_secret_name",
    "KEY_VAULT_URL_SETTING",
    "DEFAULT_LOCAL_SECRETS_PATH",
]
