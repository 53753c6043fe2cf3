"""Entra ID (Microsoft identity platform v2.0) endpoints a BC client needs, on the sandbox host.

Routes, under `/{tenant}/` where tenant is a GUID or a domain (`common`/`organizations` where Entra allows):
    GET  /{tenant}/v2.0/.well-known/openid-configuration   OIDC discovery (what MSAL reads first)
    GET  /{tenant}/discovery/v2.0/keys                      JWKS (empty: the sandbox signs HS256, see tokens.py)
    GET  /{tenant}/oauth2/v2.0/authorize                    sign-in + consent page (HTML)
    POST /{tenant}/oauth2/v2.0/authorize                    the page's Accept / Cancel
    POST /{tenant}/oauth2/v2.0/token                        client_credentials, authorization_code, refresh_token
    GET  /{tenant}/oauth2/v2.0/logout                       signs out (nothing to do) and redirects back
    GET  /{tenant}/adminconsent, /{tenant}/v2.0/adminconsent  tenant-wide admin consent page (HTML)
    POST the same                                           the page's Accept / Cancel: back to the redirect URI
                                                            with admin_consent=True&tenant=..., or error=...
                                                            (https://learn.microsoft.com/entra/identity-platform/v2-admin-consent)

Errors use Entra's shape and numbers (https://learn.microsoft.com/entra/identity-platform/reference-error-codes, quoted in docs/business-central.md §3):
{"error", "error_description": "AADSTSnnn: text\\r\\nTrace ID: ..\\r\\nCorrelation ID: ..\\r\\nTimestamp: ..",
 "error_codes": [nnn], "timestamp", "trace_id", "correlation_id", "error_uri"} (+ "suberror" for consent).
Errors before the redirect URI is validated are shown on the page, never redirected, as Entra does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import uuid
from urllib.parse import unquote, urlencode, urlsplit

from werkzeug.wrappers import Request, Response

from sandbox.clock import Clock
from sandbox.constants import BC_RESOURCE
from sandbox.directory import App, AuthCode, Directory, EntraError, Tenant, User
from sandbox.tokens import TokenService

__all__ = ["EntraEndpoints"]

_OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
#: Delegated permissions the BC resource exposes (docs/business-central.md §3): the sandbox accepts exactly these.
_BC_DELEGATED = {"user_impersonation": "user_impersonation", "financials.readwrite.all": "Financials.ReadWrite.All"}
_PERMISSION_TEXT = {
    "user_impersonation": "Access Dynamics 365 Business Central as you",
    "Financials.ReadWrite.All": "Read and write Business Central financial data as you",
    "offline_access": "Maintain access to data you have given it access to",
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
}
_CLIENT_CREDENTIALS_SCOPE = BC_RESOURCE + "/.default"


class EntraEndpoints:
    """The HTTP side of the sandbox's Entra: parses requests, applies the directory's rules, answers."""

    def __init__(self, directory: Directory, tokens: TokenService, clock: Clock):
        self._directory = directory
        self._tokens = tokens
        self._clock = clock

    def dispatch(self, request: Request, tenant_ref: str, rest: str) -> Response | None:
        """Answers an Entra route, or returns None when `/{tenant_ref}/{rest}` is not one."""
        route = rest.rstrip("/").lower()
        ctx = _Ctx(request, self._clock)
        try:
            if route == "v2.0/.well-known/openid-configuration" and request.method == "GET":
                return self._openid_configuration(ctx, tenant_ref)
            if route == "discovery/v2.0/keys" and request.method == "GET":
                return _json({"keys": []})
            if route == "oauth2/v2.0/token":
                return self._token(ctx, tenant_ref)
            if route == "oauth2/v2.0/authorize":
                if request.method == "POST":
                    return self._authorize_decision(ctx, tenant_ref)
                return self._authorize(ctx, tenant_ref)
            if route == "oauth2/v2.0/logout":
                return self._logout(request)
            if route in ("adminconsent", "v2.0/adminconsent"):
                if request.method == "POST":
                    return self._admin_consent_decision(ctx)
                return self._admin_consent(ctx, tenant_ref)
        except EntraError as err:
            return ctx.error_json(err)
        return None

    # -- discovery ----------------------------------------------------------------------------------

    def _openid_configuration(self, ctx: "_Ctx", tenant_ref: str) -> Response:
        if self._directory.is_well_known(tenant_ref):
            segment, issuer_tenant = tenant_ref.lower(), "{tenantid}"
        else:
            tenant = self._require_tenant(tenant_ref)
            segment = issuer_tenant = tenant.id
        base = ctx.base_url
        return _json(
            {
                "token_endpoint": f"{base}/{segment}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "jwks_uri": f"{base}/{segment}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["HS256"],
                "response_types_supported": ["code"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{issuer_tenant}/v2.0",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{base}/{segment}/oauth2/v2.0/authorize",
                "end_session_endpoint": f"{base}/{segment}/oauth2/v2.0/logout",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "code_challenge_methods_supported": ["S256", "plain"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "claims_supported": [
                    "sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "name", "preferred_username", "oid", "tid",
                ],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "sandbox.local",
                "cloud_graph_host_name": "graph.sandbox.local",
                "msgraph_host": "graph.sandbox.local",
            }
        )

    # -- token endpoint -----------------------------------------------------------------------------

    def _token(self, ctx: "_Ctx", tenant_ref: str) -> Response:
        request = ctx.request
        if request.method != "POST":
            raise EntraError(
                "invalid_request",
                900561,
                f"The endpoint only accepts POST, OPTIONS requests. Received a {request.method} request.",
            )
        form = request.form
        well_known = self._directory.is_well_known(tenant_ref)
        tenant = None if well_known else self._require_tenant(tenant_ref)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _missing("grant_type")
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            raise EntraError(
                "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{grant_type}'."
            )
        client_id, secret = _client_credentials(request)
        if not client_id:
            raise _missing("client_id")
        app = self._directory.app(client_id)
        if app is None or (tenant is not None and not self._directory.app_can_sign_in(app, tenant)):
            raise _app_not_found(client_id, tenant.display_name if tenant else tenant_ref)
        if secret is None:
            raise EntraError(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
                status=401,
            )
        if not self._directory.verify_secret(app, secret):
            raise EntraError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                f"value, not the client secret ID, for a secret added to app '{app.client_id}'.",
                status=401,
            )
        if grant_type == "client_credentials":
            if tenant is None:
                raise EntraError(
                    "invalid_request",
                    9001023,
                    "The grant type is not supported over the /common or /consumers endpoints. Please use the "
                    "/organizations or tenant-specific endpoint.",
                )
            return self._client_credentials_grant(ctx, app, tenant, form.get("scope"))
        if grant_type == "authorization_code":
            return self._authorization_code_grant(ctx, app, tenant)
        return self._refresh_token_grant(ctx, app, tenant)

    def _client_credentials_grant(self, ctx: "_Ctx", app: App, tenant: Tenant, scope: str | None) -> Response:
        if not scope:
            raise _missing("scope")
        if scope.strip().lower() != _CLIENT_CREDENTIALS_SCOPE.lower():
            raise _invalid_scope(scope)
        if not self._directory.app_installed(app, tenant):
            raise _app_not_found(app.client_id, tenant.display_name)
        token, expires_in = self._tokens.issue_access_token(
            issuer=ctx.issuer(tenant.id),
            tenant_id=tenant.id,
            client_id=app.client_id,
            app_object_id=self._directory.service_principal_id(tenant.id, app.client_id),
            roles=app.application_permissions,
        )
        return _token_json({"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in, "access_token": token})

    def _authorization_code_grant(self, ctx: "_Ctx", app: App, tenant: Tenant | None) -> Response:
        form = ctx.request.form
        code = form.get("code")
        if not code:
            raise _missing("code")
        redirect_uri = form.get("redirect_uri")
        if not redirect_uri:
            raise _missing("redirect_uri")
        if form.get("scope"):
            _parse_delegated_scopes(form["scope"])  # rejects scopes the sandbox can't issue
        grant = self._directory.redeem_code(code, app.client_id, redirect_uri)
        if tenant is not None and grant.tenant_id != tenant.id:
            raise EntraError(
                "invalid_grant",
                700005,
                "Provided Authorization Code is intended to use against other tenant, thus rejected.",
            )
        if grant.code_challenge is not None and not _pkce_matches(
            grant.code_challenge, grant.code_challenge_method or "plain", form.get("code_verifier")
        ):
            raise EntraError(
                "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request."
            )
        if not self._directory.has_consent(grant.tenant_id, app.client_id, grant.user_upn):
            raise _consent_required(app)
        return self._delegated_tokens(ctx, app, grant.tenant_id, grant.user_upn, grant.scopes, grant.nonce, refresh=True)

    def _refresh_token_grant(self, ctx: "_Ctx", app: App, tenant: Tenant | None) -> Response:
        form = ctx.request.form
        token = form.get("refresh_token")
        if not token:
            raise _missing("refresh_token")
        requested = _parse_delegated_scopes(form["scope"]) if form.get("scope") else None
        grant = self._directory.use_refresh_token(token, app.client_id)
        if tenant is not None and grant.tenant_id != tenant.id:
            raise EntraError("invalid_grant", 70000, "Provided grant is invalid or malformed. It was issued for another tenant.")
        if not self._directory.has_consent(grant.tenant_id, app.client_id, grant.user_upn):
            raise _consent_required(app)
        scopes = grant.scopes
        if requested is not None and any(s not in _OIDC_SCOPES for s in requested):
            # A refresh may ask for other BC permissions; offline_access stays with the grant.
            scopes = tuple(dict.fromkeys(requested + tuple(s for s in grant.scopes if s == "offline_access")))
        return self._delegated_tokens(ctx, app, grant.tenant_id, grant.user_upn, scopes, None, refresh=True)

    def _delegated_tokens(
        self,
        ctx: "_Ctx",
        app: App,
        tenant_id: str,
        user_upn: str,
        scopes: tuple[str, ...],
        nonce: str | None,
        *,
        refresh: bool,
    ) -> Response:
        tenant = self._directory.tenant(tenant_id)
        user = tenant.user(user_upn) if tenant else None
        if tenant is None or user is None:
            raise EntraError("invalid_grant", 70000, "Provided grant is invalid or malformed. The user no longer exists.")
        bc_permissions = _bc_permissions(scopes, app)
        token, expires_in = self._tokens.issue_access_token(
            issuer=ctx.issuer(tenant_id),
            tenant_id=tenant_id,
            client_id=app.client_id,
            app_object_id=self._directory.service_principal_id(tenant_id, app.client_id),
            user_upn=user.upn,
            user_object_id=user.object_id,
            user_name=user.display_name,
            scopes=bc_permissions,
        )
        body: dict = {
            "token_type": "Bearer",
            "scope": " ".join(f"{BC_RESOURCE}/{p}" for p in bc_permissions),
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
        if refresh and "offline_access" in scopes:
            body["refresh_token"] = self._directory.issue_refresh_token(tenant_id, app.client_id, user.upn, scopes)
        if "openid" in scopes:
            body["id_token"] = self._tokens.issue_id_token(
                issuer=ctx.issuer(tenant_id),
                tenant_id=tenant_id,
                client_id=app.client_id,
                user_upn=user.upn,
                user_object_id=user.object_id,
                user_name=user.display_name,
                nonce=nonce,
            )
        if ctx.request.form.get("client_info") == "1":
            body["client_info"] = self._tokens.client_info(user.object_id, tenant_id)
        return _token_json(body)

    def _requesting_app(self, ctx: "_Ctx", tenant_ref: str) -> "tuple[Tenant | None, App] | Response":
        """The tenant of the URL (None for `common`/`organizations`) and the app of `client_id`, or the error
        page Entra shows when either is unknown or the app cannot sign in there (before any redirect)."""
        well_known = self._directory.is_well_known(tenant_ref)
        tenant = None if well_known else self._directory.tenant(tenant_ref)
        if tenant is None and not well_known:
            return ctx.error_page(_tenant_not_found(tenant_ref))
        client_id = ctx.request.args.get("client_id")
        if not client_id:
            return ctx.error_page(_missing("client_id"))
        app = self._directory.app(client_id)
        if app is None or (tenant is not None and not self._directory.app_can_sign_in(app, tenant)):
            return ctx.error_page(_app_not_found(client_id, tenant.display_name if tenant else tenant_ref))
        return tenant, app

    # -- authorize endpoint -------------------------------------------------------------------------

    def _authorize(self, ctx: "_Ctx", tenant_ref: str) -> Response:
        args = ctx.request.args
        found = self._requesting_app(ctx, tenant_ref)
        if isinstance(found, Response):
            return found
        tenant, app = found
        redirect_uri = args.get("redirect_uri")
        if not redirect_uri:
            return ctx.error_page(EntraError("invalid_request", 900971, "No reply address provided."))
        if not any(_redirect_uri_matches(r, redirect_uri) for r in app.redirect_uris):
            return ctx.error_page(
                EntraError(
                    "invalid_request",
                    50011,
                    f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                    f"configured for the application '{app.client_id}'. Make sure the redirect URI sent in the "
                    "request matches one added to your application in the Azure portal.",
                )
            )
        # From here on, errors go back to the application's redirect URI.
        back = _Redirect(redirect_uri, args.get("state"), args.get("response_mode") or "query")
        response_type = args.get("response_type")
        if not response_type:
            return ctx.redirect_error(back, _missing("response_type"))
        if response_type != "code":
            return ctx.redirect_error(
                back,
                EntraError(
                    "unsupported_response_type",
                    700054,
                    f"response_type '{response_type}' is not enabled for the application.",
                ),
            )
        if back.mode not in ("query", "fragment", "form_post"):
            return ctx.redirect_error(
                back._replace_mode("query"),
                EntraError("invalid_request", 70007, f"The response_mode '{back.mode}' is not supported."),
            )
        scope = args.get("scope")
        if not scope:
            return ctx.redirect_error(back, _missing("scope"))
        try:
            scopes = _parse_delegated_scopes(scope, require_bc=True)
        except EntraError as err:
            return ctx.redirect_error(back, err)
        challenge = args.get("code_challenge")
        method = args.get("code_challenge_method")
        if method and not challenge:
            return ctx.redirect_error(back, _missing("code_challenge"))
        if challenge:
            method = method or "plain"  # RFC 7636 §4.3: plain when the method is omitted
            if method not in ("S256", "plain"):
                return ctx.redirect_error(
                    back,
                    EntraError("invalid_request", 90100, "The 'code_challenge_method' parameter is empty or not valid."),
                )
            if not 43 <= len(challenge) <= 128:
                return ctx.redirect_error(
                    back, EntraError("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
                )
        mode = self._directory.consent_mode
        pending = {
            "tenant": tenant.id if tenant else tenant_ref.lower(),
            "client_id": app.client_id,
            "redirect_uri": redirect_uri,
            "state": args.get("state"),
            "response_mode": back.mode,
            "scopes": list(scopes),
            "code_challenge": challenge,
            "code_challenge_method": method if challenge else None,
            "nonce": args.get("nonce"),
            "kind": "admin_approval" if mode == "admin_approval_required" else "consent",
        }
        users = self._sign_in_candidates(tenant, wrong_tenant=mode == "wrong_tenant")
        txn = self._directory.save_pending(pending)
        if pending["kind"] == "admin_approval":
            return _html(_admin_approval_page(ctx.request.path, txn, app), 200)
        return _html(_consent_page(ctx.request.path, txn, app, users, scopes, args.get("login_hint")), 200)

    def _sign_in_candidates(self, tenant: Tenant | None, *, wrong_tenant: bool) -> list[User]:
        """Whom the page offers: the tenant's users; with /common, everyone; in wrong_tenant mode, outsiders."""
        tenants = self._directory.tenants()
        if wrong_tenant:
            home = tenant or tenants[0]
            others = [t for t in tenants if t.id != home.id] or tenants
            return [u for t in others for u in t.users.values()]
        if tenant is not None:
            return list(tenant.users.values())
        return [u for t in tenants for u in t.users.values()]

    def _authorize_decision(self, ctx: "_Ctx", tenant_ref: str) -> Response:
        form = ctx.request.form
        pending = self._directory.take_pending(form.get("txn", ""))
        if pending is None:
            return ctx.error_page(
                EntraError(
                    "invalid_request",
                    50089,
                    "Authentication failed due to flow token expired. Start the sign-in again from the application.",
                )
            )
        back = _Redirect(pending["redirect_uri"], pending["state"], pending["response_mode"])
        app = self._directory.app(pending["client_id"])
        if app is None:
            return ctx.error_page(_app_not_found(pending["client_id"], tenant_ref))
        if pending["kind"] == "admin_approval":
            return ctx.redirect_error(
                back,
                EntraError(
                    "access_denied",
                    90094,
                    f"Admin consent is required for the permissions requested by the application "
                    f"'{app.client_id}'({app.display_name}). An administrator must grant them first.",
                ),
                subcode="cancel",
            )
        if form.get("action") != "accept":
            return ctx.redirect_error(
                back,
                EntraError("access_denied", 65004, "User declined to consent to access the app."),
                subcode="cancel",
            )
        upn = form.get("user", "")
        owner = next((t for t in self._directory.tenants() if t.user(upn)), None)
        if owner is None:
            return ctx.error_page(
                EntraError("invalid_request", 50034, f"The user account {upn or '(none)'} does not exist in the directory.")
            )
        user = owner.user(upn)
        requested_tenant = pending["tenant"]
        if not self._directory.is_well_known(requested_tenant) and owner.id != requested_tenant:
            target = self._directory.tenant(requested_tenant)
            return ctx.error_page(
                EntraError(
                    "invalid_request",
                    50020,
                    f"User account '{user.upn}' from identity provider 'https://sts.windows.net/{owner.id}/' does "
                    f"not exist in tenant '{target.display_name if target else requested_tenant}' and cannot access "
                    f"the application '{app.client_id}'({app.display_name}) in that tenant. The account needs to be "
                    "added as an external user in the tenant first.",
                )
            )
        scopes = tuple(pending["scopes"])
        self._directory.grant_consent(owner.id, app.client_id, user.upn, _bc_permissions(scopes, app))
        code = self._directory.issue_code(
            AuthCode(
                tenant_id=owner.id,
                client_id=app.client_id,
                redirect_uri=pending["redirect_uri"],
                user_upn=user.upn,
                scopes=scopes,
                code_challenge=pending["code_challenge"],
                code_challenge_method=pending["code_challenge_method"],
                nonce=pending["nonce"],
                issued_at=self._clock.now(),
            )
        )
        return back.respond({"code": code, "session_state": str(uuid.uuid4())})

    # -- admin consent endpoint ----------------------------------------------------------------------

    def _admin_consent(self, ctx: "_Ctx", tenant_ref: str) -> Response:
        """The admin consent page. Without redirect_uri, Entra uses the app's registered reply URL (the v1
        form `/{tenant}/adminconsent?client_id=` that docs/deploy.md sends an administrator)."""
        args = ctx.request.args
        found = self._requesting_app(ctx, tenant_ref)
        if isinstance(found, Response):
            return found
        tenant, app = found
        redirect_uri = args.get("redirect_uri") or (app.redirect_uris[0] if app.redirect_uris else "")
        if not redirect_uri:
            return ctx.error_page(EntraError("invalid_request", 900971, "No reply address provided."))
        if not any(_redirect_uri_matches(r, redirect_uri) for r in app.redirect_uris):
            return ctx.error_page(EntraError(
                "invalid_request", 50011,
                f"The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs "
                f"configured for the application '{app.client_id}'."))
        target = tenant or self._directory.tenants()[0]
        txn = self._directory.save_pending({
            "kind": "admin_consent", "tenant": target.id, "client_id": app.client_id, "redirect_uri": redirect_uri,
            "state": args.get("state"), "response_mode": "query", "scopes": ["user_impersonation"]})
        return _html(_admin_consent_page(ctx.request.path, txn, app, list(target.users.values())), 200)

    def _admin_consent_decision(self, ctx: "_Ctx") -> Response:
        form = ctx.request.form
        pending = self._directory.take_pending(form.get("txn", ""))
        if pending is None or pending.get("kind") != "admin_consent":
            return ctx.error_page(EntraError(
                "invalid_request", 50089,
                "Authentication failed due to flow token expired. Start the sign-in again from the application."))
        back = _Redirect(pending["redirect_uri"], pending["state"], "query")
        if form.get("action") != "accept":
            return ctx.redirect_error(back, EntraError(
                "access_denied", 65004, "The admin canceled the request."))
        tenant = self._directory.tenant(pending["tenant"])
        user = tenant.user(form.get("user", "")) if tenant is not None else None
        if tenant is None or user is None:
            return ctx.error_page(EntraError(
                "invalid_request", 50034, f"The user account {form.get('user') or '(none)'} does not exist in the "
                "directory."))
        self._directory.grant_consent(tenant.id, pending["client_id"], user.upn, tuple(pending["scopes"]))
        return back.respond({"admin_consent": "True", "tenant": tenant.id})

    def _logout(self, request: Request) -> Response:
        target = request.args.get("post_logout_redirect_uri")
        if target:
            return Response(status=302, headers={"Location": target})
        return _html("<!doctype html><title>Signed out</title><p>You have signed out of the BC sandbox.</p>", 200)

    # -- helpers ------------------------------------------------------------------------------------

    def _require_tenant(self, tenant_ref: str) -> Tenant:
        tenant = self._directory.tenant(tenant_ref)
        if tenant is None:
            raise _tenant_not_found(tenant_ref)
        return tenant


# -- request context & responses -------------------------------------------------------------------


class _Ctx:
    """Per-request ids and the host-relative base URL."""

    def __init__(self, request: Request, clock: Clock):
        self.request = request
        self.clock = clock
        self.base_url = request.host_url.rstrip("/")
        self.trace_id = str(uuid.uuid4())
        self.correlation_id = _valid_guid(request.headers.get("client-request-id")) or str(uuid.uuid4())

    def issuer(self, tenant_id: str) -> str:
        return f"{self.base_url}/{tenant_id}/v2.0"

    def _timestamp(self) -> str:
        return self.clock.utcnow().strftime("%Y-%m-%d %H:%M:%SZ")

    def describe(self, err: EntraError) -> str:
        return (
            f"AADSTS{err.code}: {err.message}\r\nTrace ID: {self.trace_id}\r\n"
            f"Correlation ID: {self.correlation_id}\r\nTimestamp: {self._timestamp()}"
        )

    def error_json(self, err: EntraError) -> Response:
        body = {
            "error": err.error,
            "error_description": self.describe(err),
            "error_codes": [err.code],
            "timestamp": self._timestamp(),
            "trace_id": self.trace_id,
            "correlation_id": self.correlation_id,
            "error_uri": f"{self.base_url}/error?code={err.code}",
        }
        if err.suberror:
            body["suberror"] = err.suberror
        response = _token_json(body, status=err.status)
        response.headers["x-ms-request-id"] = self.trace_id
        return response

    def error_page(self, err: EntraError) -> Response:
        text = html.escape(self.describe(err)).replace("\r\n", "<br>")
        page = (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in - BC sandbox</title></head>"
            "<body><h1>Sorry, but we're having trouble signing you in.</h1>"
            f"<p id=\"error-code\">AADSTS{err.code}</p><p id=\"error-description\">{text}</p>"
            "<p><small>Business Central sandbox: a local stand-in for Microsoft Entra ID.</small></p></body></html>"
        )
        response = _html(page, 400)
        response.headers["x-ms-request-id"] = self.trace_id
        return response

    def redirect_error(self, back: "_Redirect", err: EntraError, subcode: str | None = None) -> Response:
        params = {"error": err.error}
        if subcode:
            params["error_subcode"] = subcode
        params["error_description"] = self.describe(err)
        if err.suberror:
            params["suberror"] = err.suberror
        return back.respond(params)


class _Redirect:
    """Where and how the authorize endpoint answers the application (query, fragment or form_post)."""

    def __init__(self, uri: str, state: str | None, mode: str):
        self.uri, self.state, self.mode = uri, state, mode

    def _replace_mode(self, mode: str) -> "_Redirect":
        return _Redirect(self.uri, self.state, mode)

    def respond(self, params: dict[str, str]) -> Response:
        if self.state is not None:
            params = {**params, "state": self.state}
        if self.mode == "form_post":
            fields = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
            )
            page = (
                "<!doctype html><html><head><meta charset=\"utf-8\"><title>Working...</title></head>"
                f"<body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{html.escape(self.uri)}\">"
                f"{fields}<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>"
            )
            return _html(page, 200)
        uri = self.uri
        if not urlsplit(uri).path:  # Entra adds the trailing slash to path-less redirect URIs (reply-url.md)
            uri += "/"
        separator = "#" if self.mode == "fragment" else ("&" if "?" in uri else "?")
        return Response(status=302, headers={"Location": uri + separator + urlencode(params), "Cache-Control": "no-store"})


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


def _token_json(body: dict, status: int = 200) -> Response:
    response = _json(body, status)
    response.headers["Cache-Control"] = "no-store, no-cache"
    response.headers["Pragma"] = "no-cache"
    return response


def _html(page: str, status: int) -> Response:
    response = Response(page, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


# -- pages -----------------------------------------------------------------------------------------

_PAGE_HEAD = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in - BC sandbox</title>"
    "<style>body{font-family:sans-serif;max-width:40em;margin:2em auto}button{margin-right:1em}</style></head><body>"
)
_PAGE_FOOT = (
    "<p><small>Business Central sandbox: a local stand-in for Microsoft's sign-in and consent pages. "
    "No password is asked and nothing leaves this machine.</small></p></body></html>"
)


def _consent_page(action: str, txn: str, app: App, users: list[User], scopes: tuple[str, ...], login_hint: str | None) -> str:
    default = next((u for u in users if login_hint and u.upn.lower() == login_hint.lower()), users[0] if users else None)
    options = "".join(
        f'<p><label><input type="radio" name="user" value="{html.escape(u.upn)}"'
        f'{" checked" if u is default else ""}> Sign in as {html.escape(u.upn)} ({html.escape(u.display_name)})</label></p>'
        for u in users
    )
    permissions = "".join(
        f"<li>{html.escape(_PERMISSION_TEXT.get(p, p))} <code>{html.escape(p)}</code></li>"
        for p in _displayed_permissions(scopes, app)
    )
    return (
        _PAGE_HEAD
        + "<h1>Business Central sandbox: sign in</h1>"
        + f'<form method="post" action="{html.escape(action)}" id="consent">'
        + f'<input type="hidden" name="txn" value="{html.escape(txn)}">'
        + f"<fieldset><legend>Pick an account</legend>{options}</fieldset>"
        + f"<h2>Permissions requested</h2><p><strong>{html.escape(app.display_name)}</strong> "
        + f"(<code>{html.escape(app.client_id)}</code>) would like to:</p><ul>{permissions}</ul>"
        + '<p><button type="submit" name="action" value="accept" id="accept">Accept</button>'
        + '<button type="submit" name="action" value="cancel" id="cancel">Cancel</button></p></form>'
        + _PAGE_FOOT
    )


def _admin_approval_page(action: str, txn: str, app: App) -> str:
    return (
        _PAGE_HEAD
        + "<h1>Need admin approval</h1>"
        + f"<p id=\"error-code\">AADSTS90094</p><p>{html.escape(app.display_name)} needs permission to access "
        + "resources in your organization that only an admin can grant. Please ask an admin to grant permission "
        + "to this app before you can use it.</p>"
        + f'<form method="post" action="{html.escape(action)}">'
        + f'<input type="hidden" name="txn" value="{html.escape(txn)}">'
        + '<button type="submit" name="action" value="cancel" id="cancel">Return to the application without '
        + "granting consent</button></form>"
        + _PAGE_FOOT
    )


def _admin_consent_page(action: str, txn: str, app: App, users: list[User]) -> str:
    options = "".join(f'<option value="{html.escape(u.upn)}">{html.escape(u.upn)}</option>' for u in users)
    return (
        _PAGE_HEAD
        + "<h1>Permissions requested</h1>"
        + f"<p>{html.escape(app.display_name)} wants access for your whole organization: "
        + "Access Dynamics 365 Business Central as organization users.</p>"
        + f'<form method="post" action="{html.escape(action)}">'
        + f'<input type="hidden" name="txn" value="{html.escape(txn)}">'
        + f'<label>Administrator <select name="user" id="user">{options}</select></label> '
        + '<button type="submit" name="action" value="accept" id="accept">Accept</button> '
        + '<button type="submit" name="action" value="cancel" id="cancel">Cancel</button></form>'
        + _PAGE_FOOT
    )


# -- scopes, PKCE, redirect URIs -------------------------------------------------------------------


def _parse_delegated_scopes(scope: str, *, require_bc: bool = False) -> tuple[str, ...]:
    """Normalises a delegated scope string into OIDC scopes and BC permission names.

    The sandbox only knows the BC resource; any other resource's scope is rejected (AADSTS70011).
    """
    result: list[str] = []
    has_bc = False
    for item in scope.split():
        lowered = item.lower()
        if lowered in _OIDC_SCOPES:
            result.append(lowered)
            continue
        prefix = BC_RESOURCE.lower() + "/"
        if lowered.startswith(prefix):
            permission = lowered[len(prefix):]
            if permission == ".default":
                result.append(".default")
                has_bc = True
                continue
            if permission in _BC_DELEGATED:
                result.append(_BC_DELEGATED[permission])
                has_bc = True
                continue
        raise _invalid_scope(item)
    if require_bc and not has_bc:
        raise _invalid_scope(scope)
    return tuple(dict.fromkeys(result))


def _bc_permissions(scopes: tuple[str, ...], app: App) -> tuple[str, ...]:
    """The scp claim: the app's configured delegated permissions for .default, else what was asked."""
    if ".default" in scopes:
        return tuple(app.delegated_permissions) or ("user_impersonation",)
    return tuple(s for s in scopes if s not in _OIDC_SCOPES)


def _displayed_permissions(scopes: tuple[str, ...], app: App) -> list[str]:
    return list(_bc_permissions(scopes, app)) + [s for s in scopes if s in _OIDC_SCOPES]


def _pkce_matches(challenge: str, method: str, verifier: str | None) -> bool:
    if not verifier:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


def _redirect_uri_matches(registered: str, presented: str) -> bool:
    """Exact match, except that the port of http(s) loopback URIs is ignored ("Localhost exceptions" of
    https://learn.microsoft.com/entra/identity-platform/reply-url). Paths are case-sensitive."""
    if registered == presented:
        return True
    r, p = urlsplit(registered), urlsplit(presented)
    loopback = ("localhost", "127.0.0.1")
    return (
        r.hostname in loopback
        and p.hostname == r.hostname
        and r.scheme.lower() == p.scheme.lower()
        and r.path == p.path
        and r.query == p.query
        and not p.fragment
    )


def _client_credentials(request: Request) -> tuple[str | None, str | None]:
    """client_id and secret from the body (client_secret_post) or HTTP Basic (client_secret_basic)."""
    client_id = request.form.get("client_id")
    secret = request.form.get("client_secret")
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        client_id = client_id or (unquote(auth.username) if auth.username else None)
        secret = secret if secret is not None else (unquote(auth.password) if auth.password else None)
    return client_id, secret


def _valid_guid(value: str | None) -> str | None:
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


# -- error factories -------------------------------------------------------------------------------


def _missing(name: str) -> EntraError:
    return EntraError("invalid_request", 900144, f"The request body must contain the following parameter: '{name}'.")


def _invalid_scope(scope: str) -> EntraError:
    return EntraError(
        "invalid_scope",
        70011,
        f"The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid.",
    )


def _tenant_not_found(tenant_ref: str) -> EntraError:
    return EntraError(
        "invalid_request",
        90002,
        f"Tenant '{tenant_ref}' not found. Check to make sure you have the correct tenant ID and are signing into "
        "the correct cloud. Check with your subscription administrator, this may happen if there are no active "
        "subscriptions for the tenant.",
    )


def _app_not_found(client_id: str, directory_name: str) -> EntraError:
    return EntraError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{directory_name}'. This can "
        "happen if the application has not been installed by the administrator of the tenant or consented to by any "
        "user in the tenant. You may have sent your authentication request to the wrong tenant.",
    )


def _consent_required(app: App) -> EntraError:
    return EntraError(
        "invalid_grant",
        65001,
        f"The user or administrator has not consented to use the application with ID '{app.client_id}' named "
        f"'{app.display_name}'. Send an interactive authorization request for this user and resource.",
        suberror="consent_required",
    )
