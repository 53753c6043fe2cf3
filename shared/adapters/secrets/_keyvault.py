"""SecretStore on Azure Key Vault (azure-keyvault-secrets `SecretClient`, imported lazily).

Soft-delete is on by default for every vault, and deleting a secret only moves it to the deleted
collection: setting the same name again answers 409 `ObjectIsDeletedButRecoverable` until it is
recovered or purged (Azure/azure-sdk-for-python#9743). That happens to us whenever a connector is
deleted and created again under the same name. We recover it (works with purge protection and needs
only the recover permission; purging would need purge rights and is irreversible) and then set the new
value as the current version. Right after a recovery, or while a delete is still finishing, the vault
may answer 409 `ObjectIsBeingRecovered` / `ObjectIsBeingDeleted` for a few seconds
(Azure/azure-sdk-for-net#31581): those are retried until `conflict_timeout`. Between the recovery and
the write, a reader may briefly see the old value; the new value is the current version afterwards, and
older versions stay in the secret's history (as they would in the deleted collection anyway).

Values are never logged and never part of an error; errors name the secret.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Callable

from shared.adapters.secrets._names import validate_secret_name
from shared.adapters.secrets._port import SecretStoreError, SecretStoreUnavailable, secret_store_error

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.core.credentials import TokenCredential
    from azure.core.exceptions import HttpResponseError

__all__ = ["KeyVaultSecretStore"]

log = logging.getLogger(__name__)

_DELETED_BUT_RECOVERABLE = "ObjectIsDeletedButRecoverable"
_BUSY_CODES = ("ObjectIsBeingRecovered", "ObjectIsBeingDeleted")


class KeyVaultSecretStore:
    """Secrets in Key Vault. Raises SecretStoreError (with name, status and code) on service errors."""

    def __init__(
        self,
        vault_url: str,
        credential: "TokenCredential",
        *,
        conflict_timeout: float = 60.0,
        poll_interval: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        **client_kwargs: Any,
    ):
        from azure.keyvault.secrets import SecretClient

        if not vault_url.lower().startswith("https://"):
            # SecretClient refuses bearer tokens over plain HTTP anyway; say so up front.
            raise ValueError("Key Vault URL must start with https:// (https://<name>.vault.azure.net)")
        self._vault_url = vault_url.rstrip("/")
        self._client = SecretClient(self._vault_url, credential, **client_kwargs)
        self._conflict_timeout = conflict_timeout
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._monotonic = monotonic

    @property
    def vault_url(self) -> str:
        return self._vault_url

    def get_secret(self, name: str) -> str | None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError

        validate_secret_name(name)
        try:
            return self._client.get_secret(name).value
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise _error(name, "read", exc) from exc
        except ServiceRequestError as exc:
            raise _unreachable(name, "read") from exc

    def set_secret(self, name: str, value: str) -> None:
        from azure.core.exceptions import HttpResponseError

        validate_secret_name(name)
        if not isinstance(value, str):
            raise TypeError("secret %s: value must be a string" % name)
        deadline = self._monotonic() + self._conflict_timeout
        recovery_started = False
        while True:
            try:
                self._client.set_secret(name, value)
                return
            except HttpResponseError as exc:
                code = _inner_code(exc)
                if exc.status_code != 409 or self._monotonic() >= deadline:
                    raise _error(name, "write", exc) from exc
                if code == _DELETED_BUT_RECOVERABLE and not recovery_started:
                    recovery_started = self._recover(name, deadline)
                    continue
                if code in _BUSY_CODES or code == _DELETED_BUT_RECOVERABLE:
                    log.debug("Secret %s is busy (%s); retrying the write", name, code)
                    self._sleep(self._poll_interval)
                    continue
                raise _error(name, "write", exc) from exc

    def _recover(self, name: str, deadline: float) -> bool:
        """Start recovering soft-deleted `name` and wait for it; False if it is not recoverable yet."""
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        log.info("Secret %s was deleted but is recoverable; recovering it so the name can be reused", name)
        try:
            poller = self._client.begin_recover_deleted_secret(name, _polling_interval=self._poll_interval)
        except ResourceNotFoundError:
            # The delete has not landed in the deleted collection yet: wait and write again.
            self._sleep(self._poll_interval)
            return False
        except HttpResponseError as exc:
            if exc.status_code == 409 and _inner_code(exc) in _BUSY_CODES:
                return True  # someone else is already recovering it
            raise secret_store_error(
                name,
                "Secret %s is deleted but recoverable in Key Vault and could not be recovered (%s). Grant the "
                "app's identity the 'recover' secret permission, or purge the deleted secret."
                % (name, _reason(exc)),
                status=exc.status_code,
                code=_inner_code(exc) or _code(exc),
            ) from exc
        try:
            poller.wait(timeout=max(0.0, deadline - self._monotonic()))
        except HttpResponseError as exc:
            raise _error(name, "recover", exc) from exc
        return True

    def delete_secret(self, name: str) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        validate_secret_name(name)
        try:
            # Deletion finishes in the background; the poller is not waited on (nothing here needs the
            # deleted secret), and a later set_secret of the same name handles the soft-deleted state.
            self._client.begin_delete_secret(name)
        except ResourceNotFoundError:
            return
        except HttpResponseError as exc:
            raise _error(name, "delete", exc) from exc

    def list_names(self, prefix: str) -> list[str]:
        """Names of the vault's (not deleted) secrets that start with `prefix`; one request per page."""
        from azure.core.exceptions import HttpResponseError, ServiceRequestError

        wanted = prefix.lower()
        try:
            return sorted(p.name for p in self._client.list_properties_of_secrets()
                          if p.name and p.name.lower().startswith(wanted))
        except HttpResponseError as exc:
            raise _error(prefix + "*", "list", exc) from exc
        except ServiceRequestError as exc:
            raise _unreachable(prefix + "*", "list") from exc

    def close(self) -> None:
        self._client.close()

    def __repr__(self) -> str:
        return "KeyVaultSecretStore(%r)" % self._vault_url


def _body(exc: "HttpResponseError") -> dict:
    try:
        text = exc.response.text() if exc.response is not None else ""
        body = json.loads(text) if text else {}
    except (ValueError, AttributeError, TypeError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _inner_code(exc: "HttpResponseError") -> str | None:
    inner = _body(exc).get("innererror")
    if isinstance(inner, dict) and isinstance(inner.get("code"), str):
        return inner["code"]
    return None


def _code(exc: "HttpResponseError") -> str | None:
    code = _body(exc).get("code")
    return code if isinstance(code, str) else getattr(exc, "error_code", None)


def _reason(exc: "HttpResponseError") -> str:
    message = _body(exc).get("message")
    if isinstance(message, str) and message:
        return "%s %s" % (exc.status_code, message)
    return "%s %s" % (exc.status_code, getattr(exc, "reason", "") or "")


def _unreachable(name: str, action: str) -> SecretStoreError:
    return SecretStoreUnavailable(name, "Could not %s secret %s: Key Vault could not be reached." % (action, name))


def _error(name: str, action: str, exc: "HttpResponseError") -> SecretStoreError:
    hint = ""
    if exc.status_code in (401, 403):
        hint = " Check that the app's identity may %s secrets in this vault (Key Vault Secrets Officer role)." % (
            "read" if action == "read" else ("list" if action == "list" else "write and delete")
        )
    return secret_store_error(
        name,
        "Could not %s secret %s in Key Vault: %s.%s" % (action, name, _reason(exc).strip().rstrip("."), hint),
        status=exc.status_code,
        code=_inner_code(exc) or _code(exc),
    )
