"""The SecretStore port and its error.

Secret values never appear in logs, reprs or exception messages: errors carry the secret's *name*.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["SecretStore", "SecretStoreError"]


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


class SecretStoreError(Exception):
    """A secret operation failed. `name` is the secret's name; `status` and `code` come from the service."""

    def __init__(self, name: str, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.name = name
        self.status = status
        self.code = code
