"""Storage clients built from the `AzureWebJobsStorage` app setting (docs/contract.md §6, §7).

Two forms are accepted, the same ones the Functions host accepts for its own storage:

- a connection string, including `UseDevelopmentStorage=true` (Azurite on its default ports);
- identity-based: `AzureWebJobsStorage__accountName` (or an explicit `__tableServiceUri` /
  `__queueServiceUri`), authenticated with a token credential. `__clientId` selects a user-assigned
  managed identity (`__credential=managedidentity` is the only credential kind the host knows).

The credential comes from an injected factory so tests never build `DefaultAzureCredential`, which
outside Azure would probe the instance metadata endpoint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping, TypeVar

from shared.errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.core.credentials import TokenCredential
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

__all__ = [
    "blob_service_from_settings",
    "STORAGE_SETTING",
    "CredentialFactory",
    "default_azure_credential",
    "table_service_from_settings",
    "queue_service_from_settings",
]

STORAGE_SETTING = "AzureWebJobsStorage"

#: Called with no arguments, or with `managed_identity_client_id=` when `__clientId` is set.
#: `azure.identity.DefaultAzureCredential` itself fits this shape.
CredentialFactory = Callable[..., "TokenCredential"]

_MISSING_MESSAGE = (
    "AzureWebJobsStorage is not set. Set it to a storage account connection string "
    "(for Azurite: UseDevelopmentStorage=true), or set AzureWebJobsStorage__accountName to the "
    "storage account name to connect with the app's managed identity."
)


def default_azure_credential(**kwargs: str) -> "TokenCredential":
    """Production credential factory; imported here, lazily, because azure.identity costs ~200 ms."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(**kwargs)


def table_service_from_settings(
    environ: Mapping[str, str], credential_factory: CredentialFactory = default_azure_credential
) -> "TableServiceClient":
    """Build the Table service client; raises ConfigurationError naming the setting when unusable."""
    from azure.data.tables import TableServiceClient

    return _service_client(TableServiceClient, "table", "endpoint", environ, credential_factory)


def queue_service_from_settings(
    environ: Mapping[str, str], credential_factory: CredentialFactory = default_azure_credential
) -> "QueueServiceClient":
    """Build the Queue service client.

    Messages are produced as plain UTF-8 text: host.json sets `messageEncoding: none`
    (docs/contract.md §4), so no base64 encode policy is installed. Read with `decode_queue_text`.
    """
    from azure.storage.queue import QueueServiceClient

    return _service_client(QueueServiceClient, "queue", "account_url", environ, credential_factory)


def blob_service_from_settings(
    environ: Mapping[str, str], credential_factory: CredentialFactory = default_azure_credential
) -> "BlobServiceClient":
    """Build the Blob service client (container `bc-payloads`, docs/contract.md §4 "Claim check")."""
    from azure.storage.blob import BlobServiceClient

    return _service_client(BlobServiceClient, "blob", "account_url", environ, credential_factory)


Client = TypeVar("Client")


def _service_client(cls: "type[Client]", service: str, endpoint_keyword: str, environ: Mapping[str, str],
                    credential_factory: CredentialFactory) -> "Client":
    """A service client from the connection string, else from the identity-based `__accountName` /
    `__{service}ServiceUri` form with the app's credential (the SDKs name the endpoint differently)."""
    connection_string = _setting(environ, STORAGE_SETTING)
    if connection_string:
        try:
            return cls.from_connection_string(connection_string)  # type: ignore[attr-defined]
        except ValueError as exc:
            raise _malformed(exc) from None
    endpoint = _service_endpoint(environ, service)
    return cls(**{endpoint_keyword: endpoint}, credential=_credential(environ, credential_factory))


def _setting(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _service_endpoint(environ: Mapping[str, str], service: str) -> str:
    explicit = _setting(environ, "%s__%sServiceUri" % (STORAGE_SETTING, service))
    if explicit:
        if not explicit.lower().startswith(("https://", "http://")):
            raise ConfigurationError(
                "%s__%sServiceUri must be an absolute URL such as https://<account>.%s.core.windows.net."
                % (STORAGE_SETTING, service, service)
            )
        return explicit.rstrip("/")
    account = _setting(environ, "%s__accountName" % STORAGE_SETTING)
    if not account:
        prefix = STORAGE_SETTING + "__"
        if any(key.startswith(prefix) and _setting(environ, key) for key in environ):
            raise ConfigurationError(
                "Identity-based AzureWebJobsStorage needs AzureWebJobsStorage__accountName (the storage account "
                "name) or AzureWebJobsStorage__%sServiceUri; neither is set." % service
            )
        raise ConfigurationError(_MISSING_MESSAGE)
    if not (3 <= len(account) <= 24 and account.isascii() and account.isalnum() and account.islower()):
        raise ConfigurationError(
            "AzureWebJobsStorage__accountName must be a storage account name (3-24 lowercase letters and "
            "digits), not a URL or connection string."
        )
    return "https://%s.%s.core.windows.net" % (account, service)


def _credential(environ: Mapping[str, str], credential_factory: CredentialFactory) -> "TokenCredential":
    kind = _setting(environ, "%s__credential" % STORAGE_SETTING)
    if kind and kind.lower() != "managedidentity":
        raise ConfigurationError(
            "AzureWebJobsStorage__credential must be 'managedidentity' (or unset to use the default "
            "Azure credential chain)."
        )
    client_id = _setting(environ, "%s__clientId" % STORAGE_SETTING)
    if client_id:
        return credential_factory(managed_identity_client_id=client_id)
    return credential_factory()


def _malformed(exc: ValueError) -> ConfigurationError:
    # The SDK's message is generic; never echo the connection string: it carries the account key.
    return ConfigurationError(
        "AzureWebJobsStorage is not a usable storage connection string (%s). Use the account's connection "
        "string from the portal, or UseDevelopmentStorage=true for Azurite." % exc
    )
