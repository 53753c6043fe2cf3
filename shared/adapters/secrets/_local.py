"""A development-only SecretStore: a JSON file readable by its owner only.

docs/contract.md §6 allows it only when KEY_VAULT_URL is unset and AZURE_FUNCTIONS_ENVIRONMENT is
Development (see secret_store_from_settings). The values are NOT encrypted; the file sits under
`.local-secrets/`, which .gitignore excludes.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from shared.adapters.secrets._names import validate_secret_name
from shared.adapters.secrets._port import SecretStoreMisconfigured

__all__ = ["LocalDevSecretStore", "DEFAULT_LOCAL_SECRETS_PATH"]

log = logging.getLogger(__name__)

DEFAULT_LOCAL_SECRETS_PATH = Path(".local-secrets") / "secrets.json"

_warned: set[str] = set()
_warned_lock = threading.Lock()


class LocalDevSecretStore:
    """Secrets in a mode-0600 JSON file `{name: value}`; names case-insensitive like Key Vault."""

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_LOCAL_SECRETS_PATH):
        self._path = Path(path)
        self._lock = threading.Lock()
        self._warn_once()

    @property
    def path(self) -> Path:
        return self._path

    def _warn_once(self) -> None:
        key = str(self._path.resolve())
        with _warned_lock:
            if key in _warned:
                return
            _warned.add(key)
        log.warning(
            "Secrets are stored UNENCRYPTED on disk in %s because KEY_VAULT_URL is unset and "
            "AZURE_FUNCTIONS_ENVIRONMENT=Development. Never use this outside local development; set "
            "KEY_VAULT_URL to use Key Vault.",
            self._path,
        )

    def get_secret(self, name: str) -> str | None:
        key = validate_secret_name(name).lower()
        with self._lock:
            return self._load(name).get(key)

    def set_secret(self, name: str, value: str) -> None:
        key = validate_secret_name(name).lower()
        if not isinstance(value, str):
            raise TypeError("secret %s: value must be a string" % name)
        with self._lock:
            values = self._load(name)
            values[key] = value
            self._save(name, values)

    def delete_secret(self, name: str) -> None:
        key = validate_secret_name(name).lower()
        with self._lock:
            values = self._load(name)
            if values.pop(key, None) is not None:
                self._save(name, values)

    def list_names(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(n for n in self._load(prefix or "(list)") if n.startswith(prefix.lower()))

    def _load(self, name: str) -> dict[str, str]:
        try:
            text = self._path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretStoreMisconfigured(
                name, "Cannot read the local secret file %s: %s" % (self._path, exc.strerror)
            ) from None
        try:
            values = json.loads(text) if text.strip() else {}
        except ValueError:
            # Don't echo the content: it is secrets.
            raise SecretStoreMisconfigured(
                name, "The local secret file %s is not valid JSON; fix or delete it." % self._path
            ) from None
        if not isinstance(values, dict):
            raise SecretStoreMisconfigured(name, "The local secret file %s must hold a JSON object." % self._path)
        return {str(k).lower(): v for k, v in values.items() if isinstance(v, str)}

    def _save(self, name: str, values: dict[str, str]) -> None:
        directory = self._path.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Write a private temp file then rename over the old one: readers never see half a file,
            # and the file is 0600 from its first byte (mkstemp creates it so).
            fd, tmp = tempfile.mkstemp(prefix=".secrets-", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(values, fh, indent=2, sort_keys=True)
                    fh.write("\n")
                os.chmod(tmp, 0o600)
                os.replace(tmp, self._path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError as exc:
            raise SecretStoreMisconfigured(
                name, "Cannot write the local secret file %s: %s" % (self._path, exc.strerror)
            ) from None

    def __repr__(self) -> str:
        return "LocalDevSecretStore(%r)" % str(self._path)
