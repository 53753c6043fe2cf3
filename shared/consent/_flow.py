"""The consent use cases: start (an authorize URL with PKCE and a single-use state) and complete (the
callback: check the state, redeem the code, prove BC access with the full settings check, store the
refresh token, mark the connector connected, replay its parked work, and say so on a page).

Nothing is stored unless every step before the store succeeded: a refused, tampered, replayed or
half-finished consent leaves the connector exactly as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Mapping
from urllib.parse import quote, urlencode

from shared.auth import TokenEndpointUnavailableError, TokenError, authorize_nonce
from shared.bc import BcError, BcTransientError, is_guid
from shared.connectors import (
    ConnectorNotFound,
    FieldError,
    SettingsInvalid,
    mark_connected,
    parse_connector_name,
    verify_settings,
)
from shared.errors import ConfigurationError, ConflictError
from shared.tokens import DELEGATED_BC_SCOPE, ConnectorRefreshTokens, iso

from . import _outcomes as pages
from ._deps import ConsentDeps
from ._pages import Page
from ._pkce import new_code_verifier, new_nonce, new_state, s256_challenge
from ._replay import ReplaySummary, replay_connector
from ._states import CONSENT_STATE_LIFETIME, ConsentState, ConsentStateError

__all__ = ["ConsentStart", "start_consent", "complete_consent", "consent_redirect_uri", "CONSENT_SCOPES",
           "CALLBACK_ROUTE"]

log = logging.getLogger(__name__)

CALLBACK_ROUTE = "consent/callback"
#: What the consent asks for (bc_api.md §3): BC on behalf of the user, plus offline_access for a refresh
#: token. MSAL adds openid and profile to every request; they give the ID token that names the user.
CONSENT_SCOPES = (DELEGATED_BC_SCOPE, "offline_access", "openid", "profile")


@dataclass(frozen=True)
class ConsentStart:
    connector: str
    url: str
    expires_at: str
    redirect_uri: str

    def to_dict(self) -> dict[str, str]:
        return {"connector": self.connector, "consentUrl": self.url, "expiresAt": self.expires_at,
                "redirectUri": self.redirect_uri}


def consent_redirect_uri(deps: ConsentDeps) -> str:
    if not deps.app.public_base_url:
        raise ConfigurationError(
            "PUBLIC_BASE_URL is not set. Set it to this app's public address (for example "
            "https://func-bc-connector.azurewebsites.net); the consent returns to {PUBLIC_BASE_URL}/api/"
            f"{CALLBACK_ROUTE}, which must be a redirect URI (platform Web) of the app registration.")
    return f"{deps.app.public_base_url}/api/{CALLBACK_ROUTE}"


def start_consent(name: str, deps: ConsentDeps, *, purpose: str = "consent", record: Any = None) -> ConsentStart:
    """A new authorize URL for connector `name`, valid for 10 minutes and for one use.

    Raises ConnectorNotFound, SettingsInvalid (not a delegated connector; no app id), ConfigurationError
    (PUBLIC_BASE_URL missing). Makes no network call besides storing the state.
    """
    name = parse_connector_name(name)
    record = record if record is not None else deps.store.get(name)
    if record is None:
        raise ConnectorNotFound(name)
    settings = record.settings
    if settings.auth_mode != "delegated":
        raise SettingsInvalid([FieldError(
            "auth.mode", f"Connector '{name}' signs in with client credentials (service-to-service) and needs no "
                         "consent.")])
    client_id = settings.client_id or deps.app.bc_client_id
    if not client_id:
        raise SettingsInvalid([FieldError(
            "auth.clientId", "Required: no app-wide BC_CLIENT_ID is configured, so the connector must name its app "
                             "registration's client id.")])
    redirect_uri = consent_redirect_uri(deps)
    now = deps.now()
    verifier, state, nonce = new_code_verifier(), new_state(), new_nonce()
    scope = " ".join(CONSENT_SCOPES)
    expires_at = iso(now + CONSENT_STATE_LIFETIME)
    deps.states.create(ConsentState(
        state=state, connector=name, code_verifier=verifier, nonce=nonce, redirect_uri=redirect_uri, scope=scope,
        tenant=settings.tenant_id, client_id=client_id, purpose=purpose, created_at=iso(now),
        expires_at=expires_at))
    query = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "response_mode": "query",
        "scope": scope,
        "state": state,
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
        "nonce": authorize_nonce(nonce),
        # Lets the person pick the account that should run the integration, instead of whoever is signed
        # in to the browser (Work 365 asks users to make sure of that by hand; seeds/000).
        "prompt": "select_account",
    }
    url = (f"{deps.app.bc_authority_host}/{quote(settings.tenant_id, safe='')}/oauth2/v2.0/authorize?"
           + urlencode(query, quote_via=quote))
    log.info("Connector %s: consent started (%s), link valid until %s", name, purpose, expires_at)
    return ConsentStart(connector=name, url=url, expires_at=expires_at, redirect_uri=redirect_uri)


def complete_consent(params: Mapping[str, str], deps: ConsentDeps) -> Page:
    """Handle the redirect from Entra (`code`+`state`, or `error`+`state`) and return the page to show."""
    state_value = params.get("state") or ""
    if not state_value:
        return pages.missing_answer()
    try:
        state = deps.states.take(state_value, now=deps.now())
    except ConsentStateError as err:
        log.warning("Consent callback with a %s state (connector %s)", err.kind, err.connector or "unknown")
        return pages.state_problem(err.kind, err.connector, _status_of(err.connector, deps))
    name = state.connector
    record = deps.store.get(name)
    if record is None:
        return pages.connector_gone(name)
    if params.get("error"):
        log.warning("Connector %s: Entra ended the consent with %s", name, params.get("error"))
        return pages.entra_refused(name, status=record.status, error=params["error"],
                                  subcode=params.get("error_subcode"), description=params.get("error_description"),
                                  tenant=state.tenant, client_id=state.client_id, redirect_uri=state.redirect_uri)
    code = params.get("code")
    if not code:
        return pages.missing_answer(name)
    settings = record.settings
    if settings.auth_mode != "delegated":
        return pages.not_delegated(name)
    if settings.tenant_id != state.tenant or (settings.client_id or deps.app.bc_client_id) != state.client_id:
        return pages.settings_changed(name)
    try:
        secret = deps.connection_for(record).client_secret
    except SettingsInvalid:
        return pages.setup_problem(name, "No client secret is stored for the connector's app, and the app-wide "
                                   "secret bc-client-secret is not in Key Vault.",
                                   ["Ask the operator to save the connector with auth.clientSecret, or to store "
                                    "bc-client-secret in Key Vault.", pages.START_AGAIN])

    try:
        grant = deps.redeemer_for(state.tenant, state.client_id, secret).redeem(
            code=code, state=state.state, redirect_uri=state.redirect_uri, scopes=state.scopes,
            code_verifier=state.code_verifier, nonce=state.nonce)
    except TokenError as err:
        log.warning("Connector %s: the authorization code was not redeemed: %s", name, err)
        return pages.redeem_failed(name, err, tenant=state.tenant, client_id=state.client_id,
                                   redirect_uri=state.redirect_uri)
    if not grant.refresh_token:
        return pages.no_refresh_token(name)
    if grant.tenant_id and is_guid(settings.tenant_id) and grant.tenant_id.lower() != settings.tenant_id.lower():
        return pages.wrong_tenant(name, settings.tenant_id, signed_in_tenant=grant.tenant_id, user=grant.username)

    client = deps.bc_client_with_token(settings, grant.access_token, grant.expires_in)
    try:
        verification = verify_settings(settings, client, client_id=state.client_id)
    except SettingsInvalid as err:
        log.warning("Connector %s: consent worked but %d settings do not fit BC", name, len(err.errors))
        return pages.settings_invalid(name, err.errors, user=grant.username)
    except (BcTransientError, TokenEndpointUnavailableError) as err:
        log.warning("Connector %s: BC unavailable while checking the consent: %s", name, err)
        return pages.bc_unavailable(name)
    except BcError as err:
        log.warning("Connector %s: BC refused the consent check: %s", name, err)
        return pages.bc_refused(name, str(err))

    version = ConnectorRefreshTokens(name, deps.secrets, deps.versions, now=deps.now).store_new_grant(
        grant.refresh_token, consented_by=grant.username)
    deps.forget_credential(name)
    company = verification.company
    fields = dict(refresh_token_expires_at=version.expires_at, company_id=company.id, company_name=company.name,
                  tax_mode=company.tax_mode, company_country=company.country)
    disabled = record.status == "disabled"
    if disabled:
        update_record(deps, name, **fields)
    else:
        mark_connected(deps.store, name, now=deps.now, **fields)
    log.info("Connector %s: consent completed by %s; company %s; refresh token generation %d stored", name,
             grant.username or "(unknown user)", company.name, version.generation)

    summary: ReplaySummary | None = None
    if not disabled:
        try:
            summary = replay_connector(name, deps)
        except Exception:  # noqa: BLE001 - the consent is done; the keep-alive replays what is left
            log.exception("Connector %s: replay after consent failed; parked messages stay parked and are "
                          "replayed by the keep-alive or POST /api/connectors/%s/replay", name, name)
    return pages.connected(name, company=company.name, environment=settings.environment, tenant=settings.tenant_id,
                           user=grant.username, checks=len(verification.checks),
                           replayed=summary.parked if summary else None,
                           replay_busy=bool(summary and summary.busy), disabled=disabled)


def update_record(deps: ConsentDeps, name: str, **fields: Any) -> Any:
    """Set fields of a connector record with the ETag guard (re-read on conflict); None if it is gone."""
    for _ in range(5):
        record = deps.store.get(name)
        if record is None:
            return None
        if all(getattr(record, k) == v for k, v in fields.items()):
            return record
        changed = replace(record, **fields)
        changed.updated_at = iso(deps.now())
        try:
            return deps.store.update(changed)
        except ConflictError:
            continue
    raise ConflictError(f"Connector '{name}' kept changing while it was being updated.")


def _status_of(name: str | None, deps: ConsentDeps) -> str | None:
    if not name:
        return None
    try:
        record = deps.store.get(name)
    except Exception:  # noqa: BLE001 - only decorates the page
        return None
    return record.status if record else None
