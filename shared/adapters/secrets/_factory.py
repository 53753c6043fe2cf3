"""Choose the secret store from the app settings (docs/contract.md §6).

- KEY_VAULT_URL set: Key Vault, with the credential from `credential_factory()` (production passes a
  factory returning DefaultAzureCredential; tests pass a fake, so no test ever probes IMDS).
- KEY_VAULT_URL unset and AZURE_FUNCTIONS_ENVIRONMENT=Development: the local file store, with a warning.
- Otherwise: ConfigurationError, so a misconfigured deployment fails at start-up instead of quietly
  writing refresh tokens to disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from shared.errors import ConfigurationError
from shared.adapters.secrets._local import DEFAULT_LOCAL_SECRETS_PATH, LocalDevSecretStore
from shared.adapters.secrets._port import SecretStore

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.core.credentials import TokenCredential

__all__ = ["secret_store_from_settings", "KEY_VAULT_URL_SETTING"]

KEY_VAULT_URL_SETTING = "KEY_VAULT_URL"

_MISSING_MESSAGE = (
    "KEY_VAULT_URL is not set. Set it to your vault's URL (https://<name>.vault.azure.net); a local secret "
    "store is only allowed when AZURE_FUNCTIONS_ENVIRONMENT=Development."
)


def secret_store_from_settings(
    environ: Mapping[str, str],
    credential_factory: Callable[[], "TokenCredential"],
    *,
    local_path: str | os.PathLike[str] = DEFAULT_LOCAL_SECRETS_PATH,
    **client_kwargs: Any,
) -> SecretStore:
    """Build the SecretStore the settings ask for; raises ConfigurationError when none is allowed."""
    vault_url = (environ.get(KEY_VAULT_URL_SETTING) or "").strip()
    if vault_url:
        if not vault_url.lower().startswith("https://"):
            raise ConfigurationError(
                "KEY_VAULT_URL must be the vault's https URL (https://<name>.vault.azure.net)."
            )
        from shared.adapters.secrets._keyvault import KeyVaultSecretStore

        return KeyVaultSecretStore(vault_url, credential_factory(), **client_kwargs)
    if (environ.get("AZURE_FUNCTIONS_ENVIRONMENT") or "").strip() == "Development":
        return LocalDevSecretStore(Path(local_path))
    raise ConfigurationError(_MISSING_MESSAGE)
