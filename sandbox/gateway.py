"""The BC front door: everything under `/v2.0/{tenant}/{environment}/...` passes through here.

Order, as BC Online's service tier applies it as far as documented (docs/business-central.md §3, §4):
    bearer token (signature, audience, lifetime)      -> 401 Authentication_InvalidCredentials
    tenant in the URL (GUID or domain) known?          -> 404
    token tenant == URL tenant                          -> 401
    environment known?                                  -> 404
    app-only caller enabled on "Microsoft Entra applications" for this environment -> 401
    per-user limits (rate, concurrency, queue)          -> 429 / 503
    added latency (counts as processing time, inside a concurrency slot)
    BcWorld.handle(...)                                 -> the BC data half answers

The tenant segment may be omitted (`/v2.0/{environment}/api/...`); the token's tenant is used then
(api-endpoint-structure.md documents this for user tokens; the sandbox allows it for any token).

401 answers carry `WWW-Authenticate: Bearer authorization_uri="...", resource_id="..."` and a sandbox-only
`x-sandbox-reason` header (e.g. token_expired, app_not_enabled) to help developers; BC's own message
stays the same generic text.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from sandbox.constants import BC_RESOURCE
from sandbox.errors import BcApiError
from sandbox.faults import Faults
from sandbox.limits import Limits
from sandbox.principal import Principal
from sandbox.requestlog import RequestInfo
from sandbox.tokens import InvalidToken, TokenService

__all__ = ["BcGateway"]

log = logging.getLogger(__name__)

_REJECTED = "The server has rejected the client credentials."
_TENANTLESS_MARKERS = ("api", "odatav4")


class BcGateway:
    """Authenticates, authorises and throttles BC requests, then hands them to the BcWorld."""

    def __init__(self, world: Any, tokens: TokenService, limits: Limits, faults: Faults):
        self.world = world
        self._tokens = tokens
        self._limits = limits
        self._faults = faults

    def handle(self, request: Request, raw_path: str, info: RequestInfo) -> Response:
        try:
            response = self._handle(request, raw_path, info)
        except _Unauthorized as err:
            response = err.to_response(info.request_id)
            response.headers["WWW-Authenticate"] = err.challenge(request.host_url.rstrip("/"))
            response.headers["x-sandbox-reason"] = err.reason
        except BcApiError as err:
            response = err.to_response(info.request_id)
        except Exception:  # noqa: BLE001 - a bug in the data half must still answer in BC's envelope
            log.exception("BcWorld failed on %s %s", request.method, raw_path)
            response = BcApiError(500, "Internal_ServerError", "An unexpected error occurred in the sandbox.").to_response(
                info.request_id
            )
        response.headers.setdefault("request-id", info.request_id)
        return response

    def _handle(self, request: Request, raw_path: str, info: RequestInfo) -> Response:
        tenant_in_url, environment, subpath, base_path = _split(raw_path)
        claims = self._authenticate(request, tenant_in_url)
        if tenant_in_url is None:
            tenant_id = claims.tenant_id
        else:
            tenant_id = self.world.resolve_tenant(tenant_in_url)
            if tenant_id is None:
                raise BcApiError(404, "BadRequest_ResourceNotFound", f"The tenant '{tenant_in_url}' was not found.")
        if claims.tenant_id.lower() != str(tenant_id).lower():
            raise _unauthorized("tenant_mismatch", tenant_id)
        if not self.world.has_environment(tenant_id, environment):
            raise BcApiError(
                404,
                "BadRequest_ResourceNotFound",
                f"The environment '{environment}' was not found in tenant '{tenant_id}'.",
            )
        principal = Principal(tenant_id=tenant_id, client_id=claims.client_id, user=claims.user, scopes=claims.scopes)
        info.principal = principal.limit_key
        info.extra.update({"tenantId": tenant_id, "environment": environment, "clientId": claims.client_id})
        if claims.user:
            info.extra["user"] = claims.user
        if principal.is_app_only and not self.world.is_app_enabled(tenant_id, environment, claims.client_id):
            raise _unauthorized("app_not_enabled", tenant_id)
        try:
            info.batch_operations = max(1, int(self.world.batch_size(request)))
        except Exception:  # noqa: BLE001 - a malformed $batch is the world's to reject, not ours
            info.batch_operations = 1
        with self._limits.admit(principal.limit_key):
            latency = self._faults.latency_ms
            if latency:
                time.sleep(latency / 1000.0)
            request.environ["sandbox.request_id"] = info.request_id
            return self.world.handle(
                request,
                tenant_id=tenant_id,
                environment=environment,
                subpath=subpath,
                principal=principal,
                base_url=request.host_url.rstrip("/") + base_path,
            )

    def _authenticate(self, request: Request, tenant_in_url: str | None):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        hint = self.world.resolve_tenant(tenant_in_url) if tenant_in_url else None
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("missing_bearer_token", hint)
        try:
            return self._tokens.verify_bc_access_token(token.strip())
        except InvalidToken as exc:
            raise _unauthorized(exc.reason, hint) from None


def _split(raw_path: str) -> tuple[str | None, str, str, str]:
    """(tenant as in URL or None, environment, still-encoded subpath, base path) of a /v2.0/... path."""
    parts = raw_path[len("/v2.0/"):].split("/", 2)
    if len(parts) >= 2 and parts[1].lower() in _TENANTLESS_MARKERS:
        environment = unquote(parts[0])
        subpath = raw_path[len("/v2.0/") + len(parts[0]) + 1:]
        return None, environment, subpath, f"/v2.0/{parts[0]}"
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BcApiError(
            404, "BadRequest_ResourceNotFound", "No HTTP resource was found that matches the request URI."
        )
    subpath = parts[2] if len(parts) == 3 else ""
    return unquote(parts[0]), unquote(parts[1]), subpath, f"/v2.0/{parts[0]}/{parts[1]}"


def _unauthorized(reason: str, tenant_id: str | None) -> "_Unauthorized":
    return _Unauthorized(reason, tenant_id)


class _Unauthorized(BcApiError):
    """BC's 401, plus the Bearer challenge and the sandbox-only reason header."""

    def __init__(self, reason: str, tenant_id: str | None):
        super().__init__(401, "Authentication_InvalidCredentials", _REJECTED)
        self.reason = reason
        self.tenant_id = tenant_id or "common"

    def challenge(self, base_url: str) -> str:
        # Inferred: the realm points at the authority's authorize endpoint, as Azure resource APIs do.
        return (
            f'Bearer authorization_uri="{base_url}/{self.tenant_id}/oauth2/v2.0/authorize", '
            f'resource_id="{BC_RESOURCE}"'
        )
