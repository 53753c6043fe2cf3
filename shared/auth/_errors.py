"""Why a token could not be had, grouped by what the operator or the caller has to do.

    TokenError (ConnectorError)       base: Entra's error, codes and correlation id
    ├── TokenRefused (PermanentError) Entra refused, and asking again will not help
    │   ├── InvalidClientError        the client secret is wrong or expired (AADSTS7000215, 7000222)
    │   ├── UnknownApplicationError   the app is unknown in the tenant (AADSTS700016, 7000229)
    │   └── UnknownTenantError        the tenant does not exist (AADSTS90002, 90001)
    ├── ReconnectRequiredError        the grant is gone: run the consent again (invalid_grant,
    │   (ReconnectRequired)           interaction_required, consent_required, AADSTS70000, 70008,
    │                                 700082, 700084, 50173, 65001, 50076, 50079, 70043)
    └── TokenEndpointUnavailableError transient: connection errors, timeouts, 5xx, 429; `retry_after`
        (TransientError)

Every message is written for an operator and says what to do. None of them, nor any repr, carries the
client secret, a refresh token or an access token: descriptions from Entra pass through `scrub`.
Source: https://learn.microsoft.com/entra/identity-platform/reference-error-codes.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from shared.errors import ConnectorError, PermanentError, ReconnectRequired, TransientError
from shared.jsontypes import JsonValue

from ._redact import scrub

__all__ = [
    "TokenError",
    "TokenRefused",
    "InvalidClientError",
    "UnknownApplicationError",
    "UnknownTenantError",
    "ReconnectRequiredError",
    "TokenEndpointUnavailableError",
    "classify_token_error",
    "RECONNECT_CODES",
]


class TokenError(ConnectorError):
    """Entra ID did not issue a token; what to do is the subclass (see the module docstring)."""

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        error_codes: Iterable[int] = (),
        correlation_id: str | None = None,
        description: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        error_codes = tuple(error_codes)
        code = f"AADSTS{error_codes[0]}" if error_codes else (error or type(self).__name__)
        super().__init__(message, code=code,
                         details={"correlationId": correlation_id} if correlation_id else None)
        self.message = message
        #: The OAuth `error` field, e.g. "invalid_client", "invalid_grant".
        self.error = error
        #: Entra's numeric codes (the N of AADSTSN), first one first.
        self.error_codes: tuple[int, ...] = tuple(error_codes)
        self.correlation_id = correlation_id
        #: Entra's `error_description`, scrubbed of secrets and without its trace tail.
        self.description = description or ""
        #: Seconds to wait before asking again, when the token endpoint said so.
        self.retry_after = retry_after

    @property
    def aadsts(self) -> str | None:
        """The first code as Entra prints it, e.g. "AADSTS7000215"."""
        return f"AADSTS{self.error_codes[0]}" if self.error_codes else None

    def __str__(self) -> str:
        if self.correlation_id:
            return f"{self.message} (Entra correlation id {self.correlation_id})"
        return self.message

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(error={self.error!r}, error_codes={self.error_codes!r}, "
                f"correlation_id={self.correlation_id!r})")


class TokenRefused(TokenError, PermanentError):
    """Entra refused the request for a reason the operator must fix (the message says what)."""


class InvalidClientError(TokenRefused):
    """The client secret was rejected or has expired: an operator has to create a new one."""


class UnknownApplicationError(TokenRefused):
    """The client id is unknown in the tenant, or the app was never consented to there."""


class UnknownTenantError(TokenRefused):
    """The tenant id or domain does not exist in this cloud."""


class ReconnectRequiredError(TokenError, ReconnectRequired):
    """The grant is gone (revoked, expired, MFA or consent now needed): run the consent again.

    Work for the connector is parked, not failed, and replayed after reconnecting (docs/contract.md §5).
    """


class TokenEndpointUnavailableError(TokenError, TransientError):
    """Entra could not be reached or answered 5xx/429: try again later (the queue redelivers)."""


_INVALID_CLIENT = {7000215, 7000222}
_UNKNOWN_APP = {700016, 7000229}
_UNKNOWN_TENANT = {90002, 90001}
#: AADSTS codes that mean "sign in interactively / consent again".
RECONNECT_CODES = frozenset({70000, 70008, 700082, 700084, 50173, 65001, 50076, 50079, 70043})
_RECONNECT_ERRORS = {"invalid_grant", "interaction_required", "consent_required"}
_UNAVAILABLE_ERRORS = {"temporarily_unavailable", "server_error"}

_RECONNECT_REASONS = {
    70000: "the refresh token is no longer valid",
    70008: "the grant has expired or was revoked",
    700082: "the refresh token expired after 90 days without use",
    700084: "the refresh token reached its fixed lifetime",
    50173: "the grant was revoked (for example after a password change)",
    65001: "consent to the app is missing",
    50076: "multi-factor authentication is now required",
    50079: "multi-factor authentication must be set up",
    70043: "a Conditional Access policy requires signing in again",
}

_AADSTS = re.compile(r"AADSTS(\d+)")


def classify_token_error(
    payload: Mapping[str, JsonValue] | None,
    *,
    client_id: str,
    tenant: str,
    secrets: Iterable[str | None] = (),
    status: int | None = None,
    retry_after: float | None = None,
) -> TokenError:
    """Turn an Entra error answer (the OAuth error JSON, or what MSAL returned) into a typed error.

    `secrets` are masked wherever Entra's text is reused. `status` is the HTTP status when known:
    429 and 5xx are transient whatever the body says.
    """
    payload = payload or {}
    error = str(payload.get("error") or "") or None
    secrets = tuple(secrets)
    description = scrub(str(payload.get("error_description") or ""), secrets)
    codes = _codes(payload, description)
    correlation_id = payload.get("correlation_id") or None
    code_set = set(codes)
    suberror = str(payload.get("suberror") or "")
    kwargs: dict[str, Any] = dict(error=error, error_codes=codes, correlation_id=correlation_id,
                                  description=description, retry_after=retry_after)
    label = f"AADSTS{codes[0]}" if codes else (error or (f"HTTP {status}" if status else "no details"))

    if (status is not None and (status == 429 or status >= 500)) or error in _UNAVAILABLE_ERRORS:
        return TokenEndpointUnavailableError(
            f"Entra ID could not issue a token for tenant {tenant} right now ({label}"
            f"{': ' + description if description else ''}). Nothing was changed; the work is retried later.",
            **kwargs)
    if 7000222 in code_set:
        return InvalidClientError(
            f"The client secret of app {client_id} has expired (AADSTS7000222). Create a new secret for the "
            "app in Entra ID (App registrations > Certificates & secrets) and save the connector again.",
            **kwargs)
    if 7000215 in code_set:
        return InvalidClientError(
            f"The client secret was rejected by Entra ID (AADSTS7000215). Create a new secret for app "
            f"{client_id} and save the connector again; use the secret's value, not its id.",
            **kwargs)
    if code_set & _UNKNOWN_APP:
        return UnknownApplicationError(
            f"Entra ID does not know app {client_id} in tenant {tenant} ({label}). Check the client id, and "
            f"have an administrator of tenant {tenant} grant admin consent to the app.",
            **kwargs)
    if code_set & _UNKNOWN_TENANT or error == "invalid_tenant":
        return UnknownTenantError(
            f"Entra ID does not know tenant '{tenant}' ({label}). Check the tenant id or domain in the "
            "connector settings (BC shows it under Help & Support > Microsoft Entra tenant ID).",
            **kwargs)
    reconnect_codes = [c for c in codes if c in RECONNECT_CODES]
    if reconnect_codes or error in _RECONNECT_ERRORS or suberror in _RECONNECT_ERRORS:
        reason = (_RECONNECT_REASONS[reconnect_codes[0]] if reconnect_codes
                  else "consent to the app is missing" if "consent_required" in (error, suberror)
                  else "Entra ID requires an interactive sign-in")
        code = f"AADSTS{reconnect_codes[0]}" if reconnect_codes else label
        return ReconnectRequiredError(
            f"Business Central must be reconnected: {reason} ({code}). Run the consent for this connector "
            "again; waiting work is kept and replayed afterwards.",
            **kwargs)
    if error == "invalid_client":
        return InvalidClientError(
            f"Entra ID rejected the credentials of app {client_id} ({label}"
            f"{': ' + description if description else ''}). Check the client id and secret and save the "
            "connector again.",
            **kwargs)
    return TokenRefused(
        f"Entra ID refused a token for app {client_id} in tenant {tenant} ({label}"
        f"{': ' + description if description else ''}).",
        **kwargs)


def _codes(payload: Mapping[str, JsonValue], description: str) -> tuple[int, ...]:
    raw = payload.get("error_codes")
    codes: list[int] = []
    if isinstance(raw, (list, tuple)):
        for item in raw:
            try:
                codes.append(int(item))
            except (TypeError, ValueError):
                continue
    if not codes:
        codes = [int(m) for m in _AADSTS.findall(description)]
    return tuple(codes)
