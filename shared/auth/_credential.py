"""Credentials: anything with `get_token(*scopes) -> AccessToken`, so app-only tokens, delegated tokens
and test fakes all plug into the BC client the same way (azure-sdk design.md, "Client configuration").

`MsalCredentialBase` holds what every Entra credential of ours shares: the MSAL app built on first use
(msal is imported then too: cold start), one lock, timeouts, and turning every failure into a
`TokenError`. Subclasses only say how a token is requested.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, runtime_checkable

import requests

from shared.adapters.http import default_session

from ._errors import (
    TokenEndpointUnavailableError,
    TokenError,
    TokenRefused,
    UnknownTenantError,
    classify_token_error,
)
from ._http import DEFAULT_TIMEOUT, ErrorAnswer, MsalHttpClient

from shared.jsontypes import JsonValue

if TYPE_CHECKING:  # azure.core costs ~40 ms at import, msal more; only get_token needs them, at run time
    import msal
    from azure.core.credentials import AccessToken

#: What MSAL's token calls return: the token endpoint's JSON answer ("access_token" or "error").
MsalResult = dict[str, Any]

__all__ = ["BC_SCOPE", "TokenCredential", "MsalCredentialBase", "ClientCredentialsCredential"]

#: App-only (client credentials) scope of Business Central Online. Delegated tokens ask
#: for `https://api.businesscentral.dynamics.com/user_impersonation` or `.../Financials.ReadWrite.All`.
BC_SCOPE = "https://api.businesscentral.dynamics.com/.default"

log = logging.getLogger("shared.auth")

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")  # a GUID or a domain name


@runtime_checkable
class TokenCredential(Protocol):
    """What the BC client needs from a credential (same shape as azure.core's TokenCredential)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> "AccessToken": ...


class MsalCredentialBase:
    """A confidential-client credential backed by one lazily built MSAL app.

    Thread-safe: one lock serialises token requests of this credential, so a cold cache makes one
    request to Entra, not one per thread.
    """

    def __init__(
        self,
        *,
        authority_host: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        http_session: requests.Session | None = None,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        authority_host = (authority_host or "").rstrip("/")
        if not authority_host.startswith("https://"):
            # MSAL only accepts https authorities; the local sandbox serves https with its own CA.
            raise ValueError(f"The authority host must be an https URL, got {authority_host!r}.")
        if not _TENANT.match(tenant or ""):
            raise ValueError(f"The tenant must be a tenant id (GUID) or a domain name, got {tenant!r}.")
        if not client_id:
            raise ValueError("A client id is required.")
        if not client_secret:
            raise ValueError(f"A client secret is required for app {client_id}.")
        self.authority_host = authority_host
        self.tenant = tenant
        self.client_id = client_id
        self._client_secret = client_secret
        self._http = MsalHttpClient(http_session or default_session(), timeout)
        self._lock = threading.Lock()
        self._app: "msal.ConfidentialClientApplication | None" = None
        # MSAL replays a 429/5xx from its own throttle cache for Retry-After (default 60 s) without
        # calling the HTTP client (msal throttled_http_client.py), so the status is remembered here.
        self._last_transient: tuple[ErrorAnswer, float] | None = None

    @property
    def authority(self) -> str:
        return f"{self.authority_host}/{self.tenant}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(authority={self.authority!r}, client_id={self.client_id!r})"

    def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None,
                  **kwargs: Any) -> "AccessToken":
        """Return a valid access token for `scopes`, from MSAL's cache when it has one.

        Raises a `TokenError` subclass: `TokenEndpointUnavailableError` is transient, the others need an
        operator (wrong secret, unknown app or tenant) or a new consent (`ReconnectRequiredError`).
        """
        if not scopes:
            raise ValueError("get_token needs at least one scope, e.g. BC_SCOPE.")
        if tenant_id and tenant_id.lower() != self.tenant.lower():
            raise ValueError(f"This credential is for tenant {self.tenant}, not {tenant_id}.")
        with self._lock:
            result = self._call_msal(lambda: self._acquire(list(scopes), claims))
            self._last_transient = None
        log.debug("Token for app %s in tenant %s came from %s", self.client_id, self.tenant,
                  result.get("token_source", "the identity provider"))
        return _access_token(result)

    def forget_token(self, token: str) -> None:
        """Drop `token` from the cache: the resource refused it (401) before its expiry, e.g. a session
        revoked, or a clock ahead of ours. The next `get_token` asks Entra for a fresh one."""
        with self._lock:
            self._forget(token)

    # -- for subclasses ---------------------------------------------------------------------------

    def _forget(self, token: str) -> None:
        """Under `self._lock`: remove `token` from MSAL's cache (app-only tokens live there)."""
        if self._app is None:
            return
        cache = self._app.token_cache
        for item in list(cache.search(cache.CredentialType.ACCESS_TOKEN)):
            if item.get("secret") == token:
                cache.remove_at(item)

    def _call_msal(self, call: Callable[[], MsalResult]) -> MsalResult:
        """Run one MSAL token call (under `self._lock`) and turn every way it can fail into a TokenError.

        MSAL reports Entra's refusals as a result without `access_token`, and transport trouble as
        exceptions; both become the typed errors of `_errors.py`, with the answer's status and Retry-After.
        """
        self._http.last_error = None
        building = self._app is None
        try:
            result = call()
        except TokenError:
            raise
        except Exception as exc:  # noqa: BLE001 - mapped below, or re-raised unchanged
            mapped = self._map_exception(exc, building)
            if mapped is None:
                raise
            raise mapped from exc
        if "access_token" not in result:
            answer = self._answer()
            raise self._classify(result, status=answer.status if answer else None,
                                 retry_after=answer.retry_after if answer else None)
        return result

    def _acquire(self, scopes: list[str], claims: str | None) -> MsalResult:
        """Ask MSAL (`self._application()`) for a token; return its result dict ("access_token" or "error")."""
        raise NotImplementedError

    def _secrets(self) -> tuple[str | None, ...]:
        """Values to mask in any text taken from Entra."""
        return (self._client_secret,)

    def _classify(self, payload: Mapping[str, JsonValue], *, status: int | None, retry_after: float | None = None) -> TokenError:
        return classify_token_error(payload, client_id=self.client_id, tenant=self.tenant,
                                    secrets=self._secrets(), status=status, retry_after=retry_after)

    # -- internals --------------------------------------------------------------------------------

    def _application(self) -> "msal.ConfidentialClientApplication":
        if self._app is None:
            import msal  # lazy: cold start of the Functions worker

            token_cache = msal.TokenCache()
            # instance_discovery=False: login.microsoftonline.com is a known host (discovery is skipped
            # anyway) and the local sandbox is not known to Microsoft's discovery endpoint.
            # The constructor fetches {authority}/v2.0/.well-known/openid-configuration; if it fails,
            # nothing is kept and the next call tries again.
            self._app = msal.ConfidentialClientApplication(
                self.client_id,
                authority=self.authority,
                client_credential=self._client_secret,
                instance_discovery=False,
                http_client=self._http,
                token_cache=token_cache,
            )
        return self._app

    def _answer(self) -> ErrorAnswer | None:
        """The error answer of this call; or, when MSAL replayed a cached one, the transient one it replays."""
        answer = self._http.last_error
        now = time.monotonic()
        if answer is not None:
            transient = answer.status == 429 or answer.status >= 500
            self._last_transient = (answer, now) if transient else None
            return answer
        if self._last_transient:
            last, seen_at = self._last_transient
            if now - seen_at <= max(60.0, last.retry_after or 0.0):
                return last
        return None

    def _map_exception(self, exc: Exception, building: bool) -> TokenError | None:
        from msal.exceptions import MsalServiceError

        host = self.authority_host
        answer = self._answer()
        if isinstance(exc, requests.RequestException):
            kind = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
            return TokenEndpointUnavailableError(
                f"Entra ID at {host} could not be reached ({kind}) while getting a token for tenant "
                f"{self.tenant}. Nothing was changed; the work is retried later.",
                error="connection_error")
        if isinstance(exc, MsalServiceError):  # MSAL raises it for 5xx answers
            match = re.search(r"HTTP Error: (\d{3})", str(exc))
            status = answer.status if answer else (int(match.group(1)) if match else 500)
            return self._classify(answer.payload if answer else {}, status=status,
                                  retry_after=answer.retry_after if answer else None)
        if isinstance(exc, ValueError):
            if answer is None:
                # A 2xx that was not JSON: a proxy page or a broken fake. Most likely passing.
                return TokenEndpointUnavailableError(
                    f"Entra ID at {host} gave an answer that is not OAuth JSON while getting a token for "
                    f"tenant {self.tenant}. The work is retried later.", error="unexpected_answer")
            error = self._classify(answer.payload, status=answer.status, retry_after=answer.retry_after)
            if building and type(error) is TokenRefused:
                # Tenant discovery failed without an AADSTS code we know: the tenant or host is wrong.
                return UnknownTenantError(
                    f"Entra ID at {host} has no sign-in configuration for tenant '{self.tenant}' "
                    f"(HTTP {answer.status}). Check the tenant id or domain in the connector settings, and "
                    "BC_AUTHORITY_HOST.", error=error.error, error_codes=error.error_codes,
                    correlation_id=error.correlation_id, description=error.description)
            return error
        return None


class ClientCredentialsCredential(MsalCredentialBase):
    """App-only (service-to-service) tokens with a client secret: no user, no refresh token.

    MSAL keeps the token in its in-memory cache, so calls within the token's life make no request.
    Needs the app enabled on BC's "Microsoft Entra applications" page with permission sets
    (https://learn.microsoft.com/dynamics365/business-central/dev-itpro/administration/
    automation-apis-using-s2s-authentication).
    """

    def _acquire(self, scopes: list[str], claims: str | None) -> MsalResult:
        return self._application().acquire_token_for_client(scopes, claims_challenge=claims)


def _access_token(result: MsalResult) -> "AccessToken":
    from azure.core.credentials import AccessToken

    expires_in = int(result.get("expires_in") or 0)
    return AccessToken(result["access_token"], int(time.time()) + expires_in)
