"""The SecretStore port and its error.

Secret values never appear in logs, reprs or exception messages: errors carry the secret's *name*.
"""

from __future__ import annotations

from typing import Protocol

from shared.errors import ConfigurationError, ConnectorError, TransientError

__all__ = ["SecretStore", "SecretStoreError", "SecretStoreUnavailable", "SecretStoreMisconfigured",
           "secret_store_error"]


class SecretStore(Protocol):
    """Where client secrets and refresh tokens live (Key Vault in production)."""

    def get_secret(self, name: str) -> str | None:
        """The current value, or None when the secret does not exist."""
        ...

    def set_secret(self, name: str, value: str) -> None:
        """Create the secret or add a new current version."""
        ...

    def delete_secret(self, name: str) -> None:
        """Delete the secret; succeeds when it is already gone."""
        ...

    def list_names(self, prefix: str) -> list[str]:
        """The names of the existing secrets that start with `prefix` (case-insensitive), never values."""
        ...


class SecretStoreError(ConnectorError):
    """A secret operation failed. `name` is the secret's name; `status` and `code` come from the service.

    Which tree class it is says what to do: `SecretStoreUnavailable` (transient: the vault is busy or
    away), `SecretStoreMisconfigured` (the app's identity lacks a role, the local file is broken: fix the
    configuration); the base class for anything else (a 409 that did not clear in time).
    """

    default_code = "SecretStoreError"

    def __init__(self, name: str, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message, code=code, details={"secret": name, "status": status})
        self.name = name
        self.status = status


class SecretStoreUnavailable(SecretStoreError, TransientError):
    """Key Vault is throttling, failing or out of reach: try again later."""


class SecretStoreMisconfigured(SecretStoreError, ConfigurationError):
    """The store cannot be used as configured (missing role, unreadable local file)."""


#: Answers after which the same request may succeed later.
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def secret_store_error(name: str, message: str, *, status: int | None = None,
                       code: str | None = None) -> SecretStoreError:
    """The SecretStoreError class that fits the service's `status` (see `SecretStoreError`)."""
    if status in (401, 403):
        return SecretStoreMisconfigured(name, message, status=status, code=code)
    if status in _TRANSIENT_STATUSES:
        return SecretStoreUnavailable(name, message, status=status, code=code)
    return SecretStoreError(name, message, status=status, code=code)
