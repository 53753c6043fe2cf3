"""Access and ID tokens the sandbox issues (Entra side) and checks (BC side).

Real Entra signs RS256 with rotating keys published at jwks_uri. The sandbox signs HS256 with a random
key per process: clients treat access tokens as opaque (MSAL does not validate them, and since MSAL 1.38
it does not validate ID tokens either), and only the sandbox itself has to verify them. Tokens from a
previous run are therefore rejected after a restart, much like tokens of a deleted tenant.

The claims follow Entra's access tokens for the BC resource: aud, iss, tid, appid + azp, oid, upn for
delegated calls, scp (delegated) or roles (app-only), iat, nbf, exp
(learn.microsoft.com entra/identity-platform/access-token-claims-reference).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import uuid
from dataclasses import dataclass

import jwt

from sandbox.clock import Clock
from sandbox.constants import BC_RESOURCE

__all__ = ["TokenService", "InvalidToken", "ACCESS_TOKEN_LIFETIME", "ID_TOKEN_LIFETIME"]

#: "one hour by default" (docs/business-central.md §3, authenticate-web-services-using-oauth.md). Entra answers 3599.
ACCESS_TOKEN_LIFETIME = 3599
ID_TOKEN_LIFETIME = 3600
#: Microsoft.IdentityModel's default clock skew: an API accepts a token up to 5 minutes past exp.
CLOCK_SKEW_SECONDS = 300

#: Audiences BC accepts: the resource URI, with or without the trailing slash of v1 resource requests.
_BC_AUDIENCES = (BC_RESOURCE, BC_RESOURCE + "/")


class InvalidToken(Exception):
    """The bearer token can't be used. `reason` is a short sandbox-only diagnostic, never the token."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: str
    client_id: str
    user: str | None
    scopes: tuple[str, ...]
    raw: dict


class TokenService:
    """Signs and verifies the sandbox's JWTs with one secret HS256 key held in memory."""

    def __init__(self, clock: Clock, key: bytes | None = None):
        self._clock = clock
        self._key = key or secrets.token_bytes(32)
        self._lock = threading.Lock()
        #: uti -> (tenant id, client id, user upn or None) of every access token issued.
        self._issued: dict[str, tuple[str, str, str | None]] = {}
        #: `uti`s of access tokens a resource must refuse before their expiry.
        self._invalidated: set[str] = set()

    def reset(self) -> None:
        with self._lock:
            self._issued.clear()
            self._invalidated.clear()

    def invalidate(self, tenant_id: str, client_id: str | None = None, user: str | None = None) -> int:
        """Makes BC refuse the access tokens issued so far (of the tenant, optionally one app and one user)
        before they expire, as a resource that evaluates access continuously does after a critical event
        (user disabled, sessions revoked, password reset): https://learn.microsoft.com/entra/identity/
        conditional-access/concept-continuous-access-evaluation . Returns how many were invalidated."""
        count = 0
        with self._lock:
            for uti, (tid, appid, upn) in self._issued.items():
                if (uti not in self._invalidated and tid == tenant_id
                        and (client_id is None or appid.lower() == client_id.lower())
                        and (user is None or (upn or "").lower() == user.lower())):
                    self._invalidated.add(uti)
                    count += 1
        return count

    def __repr__(self) -> str:  # never show the key
        return "TokenService(key=<hidden>)"

    # -- issuing ------------------------------------------------------------------------------------

    def issue_access_token(
        self,
        *,
        issuer: str,
        tenant_id: str,
        client_id: str,
        app_object_id: str,
        user_upn: str | None = None,
        user_object_id: str | None = None,
        user_name: str | None = None,
        scopes: tuple[str, ...] = (),
        roles: tuple[str, ...] = (),
    ) -> tuple[str, int]:
        now = int(self._clock.now())
        claims: dict = {
            "aud": BC_RESOURCE,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + ACCESS_TOKEN_LIFETIME,
            "tid": tenant_id,
            "appid": client_id,
            "azp": client_id,
            "appidacr": "1",
            "ver": "1.0",
            "uti": _random_id(),
        }
        if user_upn:
            claims.update(
                {
                    "oid": user_object_id,
                    "sub": user_object_id,
                    "upn": user_upn,
                    "unique_name": user_upn,
                    "name": user_name or user_upn,
                    "scp": " ".join(scopes),
                    "idtyp": "user",
                }
            )
        else:
            claims.update({"oid": app_object_id, "sub": app_object_id, "roles": list(roles), "idtyp": "app"})
        with self._lock:
            self._issued[claims["uti"]] = (tenant_id, client_id, user_upn or None)
        return jwt.encode(claims, self._key, algorithm="HS256", headers={"kid": "sandbox-hs256"}), ACCESS_TOKEN_LIFETIME

    def issue_id_token(
        self,
        *,
        issuer: str,
        tenant_id: str,
        client_id: str,
        user_upn: str,
        user_object_id: str,
        user_name: str,
        nonce: str | None,
    ) -> str:
        now = int(self._clock.now())
        claims = {
            "aud": client_id,
            "iss": issuer,
            "iat": now,
            "nbf": now,
            "exp": now + ID_TOKEN_LIFETIME,
            "tid": tenant_id,
            "oid": user_object_id,
            "sub": user_object_id,
            "preferred_username": user_upn,
            "name": user_name,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm="HS256", headers={"kid": "sandbox-hs256"})

    @staticmethod
    def client_info(user_object_id: str, tenant_id: str) -> str:
        """Entra's `client_info`: base64url JSON with uid/utid, which MSAL turns into home_account_id."""
        raw = json.dumps({"uid": user_object_id, "utid": tenant_id}).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    # -- verifying ----------------------------------------------------------------------------------

    def verify_bc_access_token(self, token: str) -> TokenClaims:
        """Checks signature, audience and lifetime (on the sandbox clock) of a token presented to BC."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                audience=list(_BC_AUDIENCES),
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "require": ["exp", "tid"]},
            )
        except jwt.InvalidAudienceError as exc:
            raise InvalidToken("wrong_audience") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("bad_signature") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed_token") from exc
        now = self._clock.now()
        if float(claims["exp"]) + CLOCK_SKEW_SECONDS < now:
            raise InvalidToken("token_expired")
        if float(claims.get("nbf", 0)) - CLOCK_SKEW_SECONDS > now:
            raise InvalidToken("token_not_yet_valid")
        client_id = claims.get("appid") or claims.get("azp")
        if not client_id:
            raise InvalidToken("malformed_token")
        with self._lock:
            if claims.get("uti") in self._invalidated:
                raise InvalidToken("token_revoked")
        user = claims.get("upn")
        scopes = tuple((claims.get("scp") or "").split()) if user else tuple(claims.get("roles") or ())
        return TokenClaims(tenant_id=claims["tid"], client_id=client_id, user=user, scopes=scopes, raw=claims)


def _random_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
