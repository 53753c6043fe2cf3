"""The sandbox's Entra ID directory: tenants, users, app registrations, consents, codes and refresh tokens.

It holds state and the lifetime rules of grants; `sandbox/entra.py` speaks the OAuth protocol over it.
Loaded from `sandbox/fixtures/directory.json` (or a replacement), reset to it by `POST /_sandbox/reset`.

Rules reproduced (docs/business-central.md §3, Entra docs):
- authorization codes are single-use, live 10 minutes, and are bound to client_id and redirect_uri;
- refresh tokens rotate (each use returns a new one) but the old one keeps working until it is revoked
  or has been inactive for 90 days (learn.microsoft.com entra/identity-platform/refresh-tokens);
- revoking a user's sessions invalidates every refresh token issued before the revocation (AADSTS50173).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandbox.clock import Clock

__all__ = [
    "AuthCode",
    "App",
    "CONSENT_MODES",
    "Directory",
    "EntraError",
    "RefreshGrant",
    "Tenant",
    "User",
    "DEFAULT_FIXTURES",
]

DEFAULT_FIXTURES = Path(__file__).parent / "fixtures" / "directory.json"

CODE_LIFETIME_SECONDS = 10 * 60
REFRESH_TOKEN_MAX_INACTIVE_SECONDS = 90 * 24 * 3600
PENDING_SIGN_IN_LIFETIME_SECONDS = 10 * 60

#: Admin switches for the authorize/token endpoints (PUT /_sandbox/consent-mode):
#: normal: the consent page works; consent_required: delegated grants fail with AADSTS65001 until a
#: user accepts the consent page again; admin_approval_required: the authorize page answers
#: "Need admin approval" (AADSTS90094); wrong_tenant: the person signing in belongs to another tenant.
CONSENT_MODES = ("normal", "consent_required", "admin_approval_required", "wrong_tenant")

_WELL_KNOWN_TENANTS = ("common", "organizations")


class EntraError(Exception):
    """An OAuth error in Entra's terms: `error` (OAuth), the AADSTS number, a message and an HTTP status.

    Messages are built from identifiers only (client ids, tenant names, scopes), never from secrets,
    codes or tokens.
    """

    def __init__(self, error: str, code: int, message: str, status: int = 400, suberror: str | None = None):
        super().__init__(f"AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status = status
        self.suberror = suberror


@dataclass
class User:
    upn: str
    object_id: str
    display_name: str
    tenant_id: str


@dataclass
class Tenant:
    id: str
    domain: str
    display_name: str
    users: dict[str, User] = field(default_factory=dict)  # by lower-case UPN
    #: client ids (lower-case) with a service principal here, i.e. installed by admin consent.
    service_principals: set[str] = field(default_factory=set)

    def user(self, upn: str | None) -> User | None:
        return self.users.get((upn or "").lower())


@dataclass
class App:
    client_id: str
    display_name: str
    home_tenant: str
    multi_tenant: bool
    secrets: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    application_permissions: tuple[str, ...]
    delegated_permissions: tuple[str, ...]

    def __repr__(self) -> str:  # secrets never appear in reprs or logs
        return f"App(client_id={self.client_id!r}, display_name={self.display_name!r}, secrets=<{len(self.secrets)} hidden>)"

    def public(self) -> dict:
        return {
            "clientId": self.client_id,
            "displayName": self.display_name,
            "homeTenant": self.home_tenant,
            "multiTenant": self.multi_tenant,
            "redirectUris": list(self.redirect_uris),
            "applicationPermissions": list(self.application_permissions),
            "delegatedPermissions": list(self.delegated_permissions),
        }


@dataclass
class AuthCode:
    tenant_id: str
    client_id: str
    redirect_uri: str
    user_upn: str
    scopes: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    issued_at: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    tenant_id: str
    client_id: str
    user_upn: str
    scopes: tuple[str, ...]
    issued_at: float
    last_used_at: float
    revoked_at: float | None = None


def _hash(secret_value: str) -> str:
    """Codes and refresh tokens are kept by hash, so a dump of the directory never contains them."""
    return hashlib.sha256(secret_value.encode()).hexdigest()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _object_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sandbox:" + "/".join(p.lower() for p in parts)))


class Directory:
    """Thread-safe Entra state. All public methods may be called from request threads concurrently."""

    def __init__(self, data: dict[str, Any], clock: Clock):
        self._data = data
        self._clock = clock
        self._lock = threading.RLock()
        self._load(data)

    @classmethod
    def load(cls, path: str | Path | None, clock: Clock) -> "Directory":
        source = Path(path) if path else DEFAULT_FIXTURES
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"cannot read directory fixtures {source.name}: {exc}") from exc
        return cls(data, clock)

    # -- loading / reset ----------------------------------------------------------------------------

    def _load(self, data: dict[str, Any]) -> None:
        tenants: dict[str, Tenant] = {}
        for raw in data.get("tenants", []):
            try:
                tid = str(uuid.UUID(raw["id"]))
                tenant = Tenant(id=tid, domain=raw["domain"].lower(), display_name=raw.get("displayName", raw["domain"]))
            except (KeyError, ValueError, AttributeError) as exc:
                raise ValueError(f"directory fixtures: tenant entry needs a GUID 'id' and a 'domain': {exc}") from exc
            for user in raw.get("users", []):
                upn = user["upn"]
                tenant.users[upn.lower()] = User(
                    upn=upn,
                    object_id=user.get("objectId") or _object_id(tid, upn),
                    display_name=user.get("displayName", upn),
                    tenant_id=tid,
                )
            tenant.service_principals = {c.lower() for c in raw.get("servicePrincipals", [])}
            tenants[tid] = tenant
        self._tenants = tenants
        self._apps: dict[str, App] = {}
        for raw in data.get("apps", []):
            self._add_app(raw)
        self._consents: dict[tuple[str, str, str], tuple[str, ...]] = {}
        for raw in data.get("grants", []):
            tenant = self.tenant(raw["tenant"])
            if tenant is None:
                raise ValueError(f"directory fixtures: grant for unknown tenant {raw['tenant']!r}")
            self._consents[(tenant.id, raw["clientId"].lower(), (raw.get("user") or "*").lower())] = tuple(
                raw.get("scopes", [])
            )
        self._codes: dict[str, AuthCode] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._pending: dict[str, tuple[float, dict]] = {}
        self._consent_mode = "normal"

    def _add_app(self, raw: dict[str, Any]) -> App:
        home = self.tenant(raw.get("homeTenant", ""))
        if home is None:
            raise ValueError(f"app {raw.get('clientId')!r}: unknown homeTenant {raw.get('homeTenant')!r}")
        client_id = str(uuid.UUID(raw["clientId"]))
        app = App(
            client_id=client_id,
            display_name=raw.get("displayName", client_id),
            home_tenant=home.id,
            multi_tenant=bool(raw.get("multiTenant", False)),
            secrets=tuple(raw.get("secrets", [])),
            redirect_uris=tuple(raw.get("redirectUris", [])),
            application_permissions=tuple(raw.get("applicationPermissions", [])),
            delegated_permissions=tuple(raw.get("delegatedPermissions", [])),
        )
        self._apps[client_id.lower()] = app
        home.service_principals.add(client_id.lower())
        return app

    def reset(self) -> None:
        with self._lock:
            self._load(self._data)

    # -- look-ups -----------------------------------------------------------------------------------

    @staticmethod
    def is_well_known(tenant_ref: str) -> bool:
        return tenant_ref.lower() in _WELL_KNOWN_TENANTS

    def tenant(self, ref: str | None) -> Tenant | None:
        """A tenant by GUID or domain (case-insensitive), as Entra and BC both accept either in URLs."""
        if not ref:
            return None
        ref = ref.lower()
        if ref in self._tenants:
            return self._tenants[ref]
        return next((t for t in self._tenants.values() if t.domain == ref), None)

    def tenants(self) -> list[Tenant]:
        return list(self._tenants.values())

    def app(self, client_id: str | None) -> App | None:
        return self._apps.get((client_id or "").lower())

    def app_can_sign_in(self, app: App, tenant: Tenant) -> bool:
        """Delegated sign-in: the home tenant, or any tenant for a multi-tenant app (user consent installs it)."""
        return app.home_tenant == tenant.id or app.multi_tenant

    def app_installed(self, app: App, tenant: Tenant) -> bool:
        """App-only tokens need a service principal in the tenant (the app was installed / admin-consented)."""
        return app.client_id.lower() in tenant.service_principals

    def service_principal_id(self, tenant_id: str, client_id: str) -> str:
        return _object_id("sp", tenant_id, client_id)

    @staticmethod
    def verify_secret(app: App, presented: str) -> bool:
        return any(hmac.compare_digest(presented.encode(), s.encode()) for s in app.secrets)

    # -- apps ---------------------------------------------------------------------------------------

    def register_app(self, spec: dict[str, Any]) -> tuple[App, str | None]:
        """Adds an app registration. Returns the app and the secret if the sandbox generated one."""
        generated = None
        spec = dict(spec)
        spec.setdefault("clientId", str(uuid.uuid4()))
        if not spec.get("secrets") and not spec.get("clientSecret"):
            generated = "sbx~" + secrets.token_urlsafe(30)
            spec["secrets"] = [generated]
        elif spec.get("clientSecret"):
            spec["secrets"] = [spec.pop("clientSecret")]
        with self._lock:
            if self.app(spec["clientId"]) is not None:
                raise ValueError(f"an app with clientId {spec['clientId']} is already registered")
            app = self._add_app(spec)
            for ref in spec.get("installedIn", []):
                tenant = self.tenant(ref)
                if tenant is None:
                    raise ValueError(f"installedIn: unknown tenant {ref!r}")
                tenant.service_principals.add(app.client_id.lower())
        return app, generated

    # -- consent ------------------------------------------------------------------------------------

    @property
    def consent_mode(self) -> str:
        return self._consent_mode

    def set_consent_mode(self, mode: str) -> None:
        if mode not in CONSENT_MODES:
            raise ValueError(f"consent mode must be one of {', '.join(CONSENT_MODES)}")
        with self._lock:
            self._consent_mode = mode

    def grant_consent(self, tenant_id: str, client_id: str, user_upn: str, scopes: tuple[str, ...]) -> None:
        """The user accepted the consent page: record it, install the app in the tenant, end consent_required."""
        with self._lock:
            self._consents[(tenant_id, client_id.lower(), user_upn.lower())] = scopes
            self._tenants[tenant_id].service_principals.add(client_id.lower())
            if self._consent_mode == "consent_required":
                self._consent_mode = "normal"

    def has_consent(self, tenant_id: str, client_id: str, user_upn: str) -> bool:
        if self._consent_mode == "consent_required":
            return False
        key = (tenant_id, client_id.lower())
        return (*key, user_upn.lower()) in self._consents or (*key, "*") in self._consents

    # -- authorization codes ------------------------------------------------------------------------

    def issue_code(self, grant: AuthCode) -> str:
        code = "0.sbx." + secrets.token_urlsafe(48)
        with self._lock:
            self._purge()
            self._codes[_hash(code)] = grant
        return code

    def redeem_code(self, code: str, client_id: str, redirect_uri: str) -> AuthCode:
        """Marks a code used and returns it; raises EntraError for unknown, used, expired or foreign codes."""
        with self._lock:
            grant = self._codes.get(_hash(code))
            if grant is None or grant.client_id.lower() != client_id.lower():
                raise EntraError("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
            if grant.redeemed:
                raise EntraError(
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an "
                    "existing refresh token.",
                )
            grant.redeemed = True  # single use, even if the redemption fails below
            if self._clock.now() - grant.issued_at > CODE_LIFETIME_SECONDS:
                raise EntraError(
                    "invalid_grant",
                    70008,
                    "The provided authorization code or refresh token has expired due to inactivity. Send a new "
                    "interactive authorization request for this user and resource.",
                )
            if redirect_uri != grant.redirect_uri:
                raise EntraError(
                    "invalid_grant",
                    500112,
                    f"The reply address '{redirect_uri}' does not match the reply address '{grant.redirect_uri}' "
                    "provided when requesting Authorization code.",
                )
            return grant

    # -- refresh tokens -----------------------------------------------------------------------------

    def issue_refresh_token(self, tenant_id: str, client_id: str, user_upn: str, scopes: tuple[str, ...]) -> str:
        token = "1.sbx." + secrets.token_urlsafe(64)
        now = self._clock.now()
        with self._lock:
            self._refresh[_hash(token)] = RefreshGrant(tenant_id, client_id, user_upn, scopes, now, now)
        return token

    def use_refresh_token(self, token: str, client_id: str) -> RefreshGrant:
        """Validates a refresh token for this client and records its use (which resets inactivity)."""
        with self._lock:
            grant = self._refresh.get(_hash(token))
            if grant is None or grant.client_id.lower() != client_id.lower():
                raise EntraError("invalid_grant", 70000, "Provided grant is invalid or malformed.")
            now = self._clock.now()
            if grant.revoked_at is not None:
                raise EntraError(
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user "
                    "might have changed or reset their password. The grant was issued on "
                    f"'{_iso(grant.issued_at)}' and the TokensValidFrom date (before which tokens are not valid) "
                    f"for this user is '{_iso(grant.revoked_at)}'.",
                )
            inactive = now - grant.last_used_at
            if inactive > REFRESH_TOKEN_MAX_INACTIVE_SECONDS:
                raise EntraError(
                    "invalid_grant",
                    700082,
                    f"The refresh token has expired due to inactivity. The token was issued on "
                    f"{_iso(grant.issued_at)} and was inactive for 90.00:00:00.",
                )
            grant.last_used_at = now
            return grant

    def revoke(self, tenant_ref: str, client_id: str | None = None, user_upn: str | None = None) -> int:
        """Revokes refresh tokens issued so far (like revokeSignInSessions). Returns how many were revoked."""
        tenant = self.tenant(tenant_ref)
        if tenant is None:
            raise KeyError(f"unknown tenant {tenant_ref!r}")
        now = self._clock.now()
        count = 0
        with self._lock:
            for grant in self._refresh.values():
                if (
                    grant.tenant_id == tenant.id
                    and grant.revoked_at is None
                    and (client_id is None or grant.client_id.lower() == client_id.lower())
                    and (user_upn is None or grant.user_upn.lower() == user_upn.lower())
                ):
                    grant.revoked_at = now
                    count += 1
        return count

    # -- pending sign-ins (the consent page's server-side state) ------------------------------------

    def save_pending(self, request: dict) -> str:
        txn = secrets.token_urlsafe(24)
        with self._lock:
            self._purge()
            self._pending[txn] = (self._clock.now(), request)
        return txn

    def take_pending(self, txn: str) -> dict | None:
        with self._lock:
            item = self._pending.pop(txn, None)
        if item is None or self._clock.now() - item[0] > PENDING_SIGN_IN_LIFETIME_SECONDS:
            return None
        return item[1]

    def _purge(self) -> None:
        now = self._clock.now()
        self._codes = {k: v for k, v in self._codes.items() if now - v.issued_at <= 2 * CODE_LIFETIME_SECONDS}
        self._pending = {k: v for k, v in self._pending.items() if now - v[0] <= PENDING_SIGN_IN_LIFETIME_SECONDS}

    # -- reporting ----------------------------------------------------------------------------------

    def summary(self) -> dict:
        with self._lock:
            return {
                "tenants": [
                    {
                        "id": t.id,
                        "domain": t.domain,
                        "displayName": t.display_name,
                        "users": sorted(u.upn for u in t.users.values()),
                        "installedApps": sorted(t.service_principals),
                    }
                    for t in self._tenants.values()
                ],
                "apps": [a.public() for a in self._apps.values()],
                "consents": [
                    {"tenant": k[0], "clientId": k[1], "user": None if k[2] == "*" else k[2], "scopes": list(v)}
                    for k, v in self._consents.items()
                ],
                "refreshTokens": {
                    "active": sum(1 for g in self._refresh.values() if g.revoked_at is None),
                    "revoked": sum(1 for g in self._refresh.values() if g.revoked_at is not None),
                },
                "consentMode": self._consent_mode,
            }
