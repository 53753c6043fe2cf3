"""An in-memory SecretStore for tests of the use cases."""

from __future__ import annotations

import threading

from shared.adapters.secrets._names import validate_secret_name

__all__ = ["InMemorySecretStore"]


class InMemorySecretStore:
    """Validates names like Key Vault does and treats them case-insensitively, as the vault does."""

    def __init__(self, secrets: dict[str, str] | None = None):
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()
        for name, value in (secrets or {}).items():
            self.set_secret(name, value)

    def get_secret(self, name: str) -> str | None:
        with self._lock:
            return self._values.get(validate_secret_name(name).lower())

    def set_secret(self, name: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("secret %s: value must be a string" % name)
        with self._lock:
            self._values[validate_secret_name(name).lower()] = value

    def delete_secret(self, name: str) -> None:
        with self._lock:
            self._values.pop(validate_secret_name(name).lower(), None)

    def list_names(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(n for n in self._values if n.startswith(prefix.lower()))

    def names(self) -> list[str]:
        """Stored names (lower-cased), for assertions; never the values."""
        with self._lock:
            return sorted(self._values)

    def __repr__(self) -> str:
        return "InMemorySecretStore(%d secrets)" % len(self._values)
