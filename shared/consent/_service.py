"""The consent use cases: start (an authorize URL with PKCE and a single-use state), complete (the
callback: check the state, redeem the code, prove BC access with the full settings check, store the
refresh token, mark the connector connected, replay its parked work, and say so on a page), report a lost
grant (`reconnect_required` once, one notification with a consent link), and replay waiting work.

Nothing is stored unless every step before the store succeeded: a refused, tampered, replayed or
half-finished consent leaves the connector exactly as it was.
"""

from __future__ import annotations

import datetime as _dt
import logging
import uuid
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import quote, urlencode

from shared.logfields import log_scope
from shared.auth import RedeemedGrant, TokenError, authorize_nonce
from shared.bc import BcError, is_guid
from shared.clock import Clock, iso
from shared.config import AppSettings
from shared.connectors import (
    ConnectorNotFound,
    ConnectorRecord,
    ConnectorSettings,
    FieldError,
    SettingsInvalid,
    Verification,
    parse_connector_name,
    verify_settings,
)
from shared.errors import ConfigurationError, ConflictError, TransientError
from shared.jsontypes import JsonObject
from shared.messages import notification
from shared.tokens import (
    DELEGATED_BC_SCOPE,
    ConnectorRecords,
    ConnectorRefreshTokens,
    Notifier,
    Secrets,
    TokenVersionStore,
    client_secret_of,
    update_connector,
)

from . import _pages as pages
from ._admin import admin_consent_page
from ._html import PAGE_HEADERS, Page, render_page
from ._pkce import new_code_verifier, new_nonce, new_state, s256_challenge
from ._ports import (
    BcClientSource,
    CodeRedeemers,
    ConnectorStatuses,
    FailedMessages,
    Leases,
    ParkingLot,
    QueueSender,
    SubscriptionSync,
)
from ._replay import Replays, ReplaySummary
from ._states import CONSENT_STATE_LIFETIME, PURGE_PER_START, ConsentState, ConsentStateError, ConsentStateStore, take_state

__all__ = ["ConsentService", "ConsentStart", "RenderedPage", "consent_hint", "CONSENT_SCOPES", "CALLBACK_ROUTE"]

log = logging.getLogger(__name__)

CALLBACK_ROUTE = "consent/callback"
#: What the consent asks for: BC on behalf of the user, plus offline_access for a refresh token. MSAL adds
#: openid and profile to every request; they give the ID token that names the user.
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


@dataclass(frozen=True)
class RenderedPage:
    """A consent page ready to send: status, HTML and the headers every page carries."""

    status: int
    html: str
    headers: Mapping[str, str] = field(default_factory=lambda: dict(PAGE_HEADERS))

    @classmethod
    def of(cls, page: Page) -> "RenderedPage":
        return cls(page.status, render_page(page))

    @classmethod
    def unexpected(cls) -> "RenderedPage":
        """For a failure nobody foresaw: logged with a reference the page shows (never the error itself)."""
        reference = uuid.uuid4().hex[:12]
        log.exception("Consent callback failed unexpectedly (reference %s)", reference)
        return cls.of(pages.unexpected_error(reference))


def consent_hint(name: str) -> str:
    """How to reconnect when no link can be given (or after the link has expired)."""
    return (f"To reconnect, start the consent again (POST /api/connectors/{name}/consent gives a new sign-in "
            "link; it works for 10 minutes) and sign in with the account that runs the integration.")


class _Stop(Exception):
    """A step of the callback decided how the consent ends (internal: never leaves `complete`)."""

    def __init__(self, page: Page) -> None:
        super().__init__(page.outcome)
        self.page = page


@dataclass
class _Progress:
    """What the callback has learned so far, for the page of whatever stops it."""

    connector: str | None = None
    state: ConsentState | None = None
    redeemed: bool = False
    user: str | None = None


#: Errors the callback answers with a specific page (`ConsentService._page_for`); anything else is unexpected.
_ANSWERED = (ConsentStateError, TokenError, SettingsInvalid, BcError, TransientError)


class ConsentService:
    """Delegated consent of a connector, and the `ReconnectReporter` the exports, imports and keep-alive use."""

    def __init__(self, *, connectors: ConnectorRecords, statuses: ConnectorStatuses, secrets: Secrets,
                 states: ConsentStateStore, versions: TokenVersionStore, notifier: Notifier, parking: ParkingLot,
                 queues: QueueSender, bc_clients: BcClientSource, redeemers: CodeRedeemers,
                 failed: FailedMessages, leases: Leases, app: AppSettings, subscriptions: SubscriptionSync,
                 clock: Clock) -> None:
        self._connectors = connectors
        self._subscriptions = subscriptions
        self._statuses = statuses
        self._secrets = secrets
        self._states = states
        self._versions = versions
        self._notifier = notifier
        self._bc_clients = bc_clients
        self._redeemers = redeemers
        self._app = app
        self._clock = clock
        self._replays = Replays(leases=leases, parking=parking, queues=queues, failed=failed)

    # -- start --------------------------------------------------------------------------------------------

    def _purge_some_expired_states(self, now: _dt.datetime) -> None:
        """Expired states (each with a PKCE verifier) go when new ones come, a few per start, so they never
        pile up between the keep-alive's daily purges. Housekeeping: a failure only logs."""
        try:
            self._states.purge_expired(before=now, limit=PURGE_PER_START)
        except Exception:  # noqa: BLE001 - the consent itself must not fail on housekeeping
            log.warning("Consent: could not delete expired consent states", exc_info=True)

    def redirect_uri(self) -> str:
        if not self._app.public_base_url:
            raise ConfigurationError(
                "PUBLIC_BASE_URL is not set. Set it to this app's public address (for example "
                "https://func-bc-connector.azurewebsites.net); the consent returns to {PUBLIC_BASE_URL}/api/"
                f"{CALLBACK_ROUTE}, which must be a redirect URI (platform Web) of the app registration.",
                field="(configuration)")
        return f"{self._app.public_base_url}/api/{CALLBACK_ROUTE}"

    def start(self, name: str, record: ConnectorRecord | None = None, *, purpose: str = "consent") -> ConsentStart:
        """A new authorize URL for connector `name`, valid for 10 minutes and for one use.

        Raises ConnectorNotFound, SettingsInvalid (not a delegated connector; no app id), ConfigurationError
        (PUBLIC_BASE_URL missing). Makes no network call besides storing the state.
        """
        name = parse_connector_name(name)
        record = record if record is not None else self._connectors.get(name)
        if record is None:
            raise ConnectorNotFound(name)
        settings = record.settings
        client_id = self._delegated_client_id(name, settings)
        redirect_uri = self.redirect_uri()
        now = self._clock.now()
        verifier, state, nonce = new_code_verifier(), new_state(), new_nonce()
        scope = " ".join(CONSENT_SCOPES)
        expires_at = iso(now + CONSENT_STATE_LIFETIME, timespec="seconds")
        self._states.create(ConsentState(
            state=state, connector=name, code_verifier=verifier, nonce=nonce, redirect_uri=redirect_uri,
            scope=scope, tenant=settings.tenant_id, client_id=client_id, purpose=purpose,
            created_at=iso(now, timespec="seconds"), expires_at=expires_at))
        self._purge_some_expired_states(now)
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
            # Lets the person pick the account that should run the integration, instead of whoever is
            # signed in to the browser.
            "prompt": "select_account",
        }
        url = (f"{self._app.bc_authority_host}/{quote(settings.tenant_id, safe='')}/oauth2/v2.0/authorize?"
               + urlencode(query, quote_via=quote))
        log.info("Connector %s: consent started (%s), link valid until %s", name, purpose, expires_at)
        return ConsentStart(connector=name, url=url, expires_at=expires_at, redirect_uri=redirect_uri)

    def _delegated_client_id(self, name: str, settings: ConnectorSettings) -> str:
        if settings.auth_mode != "delegated":
            raise SettingsInvalid([FieldError(
                "auth.mode", f"Connector '{name}' signs in with client credentials (service-to-service) and needs "
                             "no consent.")])
        client_id = settings.client_id or self._app.bc_client_id
        if not client_id:
            raise SettingsInvalid([FieldError(
                "auth.clientId", "Required: no app-wide BC_CLIENT_ID is configured, so the connector must name its "
                                 "app registration's client id.")])
        return client_id

    # -- the callback -------------------------------------------------------------------------------------

    def callback(self, params: Mapping[str, str]) -> RenderedPage:
        """The anonymous callback's answer: always a page, even when something unexpected breaks."""
        try:
            return RenderedPage.of(self.complete(params))
        except Exception:  # noqa: BLE001 - a person is waiting for a page, never a bare 500
            return RenderedPage.unexpected()

    def complete(self, params: Mapping[str, str]) -> Page:
        """Handle the redirect from Entra (`code`+`state`, or `error`+`state`) and return the page to show."""
        admin = admin_consent_page(params)
        if admin is not None:
            with log_scope(operation="consent", outcome=admin.outcome):
                log.info("Admin consent answer: %s", admin.outcome)
            return admin
        progress = _Progress()
        try:
            state = self._take_state(params, progress)
            record, settings = self._connector_for(state, params)
            grant = self._redeem(state, record, params, progress)
            verification = self._verify(state, settings, grant)
        except _Stop as stop:
            return stop.page
        except _ANSWERED as err:
            return self._page_for(err, progress)
        return self._connect(record, settings, grant, verification)

    def _take_state(self, params: Mapping[str, str], progress: _Progress) -> ConsentState:
        value = params.get("state") or ""
        if not value:
            raise _Stop(pages.missing_answer())
        state = take_state(self._states, value, now=self._clock.now())
        progress.connector, progress.state = state.connector, state
        return state

    def _connector_for(self, state: ConsentState, params: Mapping[str, str]
                       ) -> tuple[ConnectorRecord, ConnectorSettings]:
        """The connector, still as it was when the consent started, and Entra's answer holding a code."""
        name = state.connector
        record = self._connectors.get(name)
        if record is None:
            raise _Stop(pages.connector_gone(name))
        if params.get("error"):
            log.warning("Connector %s: Entra ended the consent with %s", name, params.get("error"))
            raise _Stop(pages.entra_refused(
                name, status=record.status, error=params["error"], subcode=params.get("error_subcode"),
                description=params.get("error_description"), tenant=state.tenant, client_id=state.client_id,
                redirect_uri=state.redirect_uri))
        if not params.get("code"):
            raise _Stop(pages.missing_answer(name))
        settings = record.settings
        if settings.auth_mode != "delegated":
            raise _Stop(pages.not_delegated(name))
        if settings.tenant_id != state.tenant or (settings.client_id or self._app.bc_client_id) != state.client_id:
            raise _Stop(pages.settings_changed(name))
        return record, settings

    def _redeem(self, state: ConsentState, record: ConnectorRecord, params: Mapping[str, str],
                progress: _Progress) -> RedeemedGrant:
        name = state.connector
        secret = client_secret_of(self._secrets, record)
        if not secret:
            raise _Stop(pages.setup_problem(
                name, "No client secret is stored for the connector's app, and the app-wide secret "
                "bc-client-secret is not in Key Vault.",
                ["Ask the operator to save the connector with auth.clientSecret, or to store bc-client-secret in "
                 "Key Vault.", pages.START_AGAIN]))
        grant = self._redeemers.redeemer(state.tenant, state.client_id, secret).redeem(
            code=params["code"], state=state.state, redirect_uri=state.redirect_uri, scopes=state.scopes,
            code_verifier=state.code_verifier, nonce=state.nonce)
        progress.redeemed, progress.user = True, grant.username
        if not grant.refresh_token:
            raise _Stop(pages.no_refresh_token(name))
        tenant = state.tenant
        if grant.tenant_id and is_guid(tenant) and grant.tenant_id.lower() != tenant.lower():
            raise _Stop(pages.wrong_tenant(name, tenant, signed_in_tenant=grant.tenant_id, user=grant.username))
        return grant

    def _verify(self, state: ConsentState, settings: ConnectorSettings, grant: RedeemedGrant) -> Verification:
        client = self._bc_clients.with_token(settings, grant.access_token, grant.expires_in, name=state.connector)
        return verify_settings(settings, client, client_id=state.client_id)

    def _page_for(self, err: Exception, progress: _Progress) -> Page:
        """The one translation of the callback's errors into pages."""
        name = progress.connector or ""
        if isinstance(err, ConsentStateError):
            log.warning("Consent callback with a %s state (connector %s)", err.kind, err.connector or "unknown")
            return pages.state_problem(err.kind, err.connector, self._status_of(err.connector))
        if isinstance(err, TokenError) and progress.state and not progress.redeemed:
            log.warning("Connector %s: the authorization code was not redeemed: %s", name, err)
            state = progress.state
            return pages.redeem_failed(name, err, tenant=state.tenant, client_id=state.client_id,
                                       redirect_uri=state.redirect_uri)
        if isinstance(err, SettingsInvalid):
            log.warning("Connector %s: consent worked but %d settings do not fit BC", name, len(err.errors))
            return pages.settings_invalid(name, err.errors, user=progress.user)
        if _is_transient(err):
            log.warning("Connector %s: BC unavailable while checking the consent: %s", name, err)
            return pages.bc_unavailable(name)
        if isinstance(err, BcError):
            log.warning("Connector %s: BC refused the consent check: %s", name, err)
            return pages.bc_refused(name, str(err))
        raise err

    def _connect(self, record: ConnectorRecord, settings: ConnectorSettings, grant: RedeemedGrant,
                 verification: Verification) -> Page:
        """Every check passed: keep the grant, mark the connector connected, replay what waited."""
        name = record.name
        assert grant.refresh_token  # checked by _redeem
        version = ConnectorRefreshTokens(name, self._secrets, self._versions, clock=self._clock).store_new_grant(
            grant.refresh_token, consented_by=grant.username)
        self._bc_clients.forget(name)
        company = verification.company
        fields: dict[str, str | None] = dict(
            refresh_token_expires_at=version.expires_at, company_id=company.id, company_name=company.name,
            tax_mode=company.tax_mode, company_country=company.country)
        disabled = record.status == "disabled"
        if disabled:
            update_connector(self._connectors, self._clock, name, **fields)
        else:
            self._statuses.mark_connected(name, **fields)
        with log_scope(operation="consent", connector=name, status="connected"):
            log.info("Connector %s: consent completed by %s; company %s; refresh token generation %d stored", name,
                     grant.username or "(unknown user)", company.name, version.generation)
        summary = None if disabled else self._replay_after_consent(name)
        connected = self._connectors.get(name)
        if connected is not None:
            self._subscriptions.sync(connected)  # real-time expenses, now that BC can be called
        return pages.connected(name, company=company.name, environment=settings.environment,
                               tenant=settings.tenant_id, user=grant.username, checks=len(verification.checks),
                               replayed=summary.parked if summary else None,
                               replay_busy=bool(summary and summary.busy), disabled=disabled)

    def _replay_after_consent(self, name: str) -> ReplaySummary | None:
        try:
            return self._replays.run(name)
        except Exception:  # noqa: BLE001 - the consent is done; the keep-alive replays what is left
            log.exception("Connector %s: replay after consent failed; parked messages stay parked and are "
                          "replayed by the keep-alive or POST /api/connectors/%s/replay", name, name)
            return None

    def _status_of(self, name: str | None) -> str | None:
        if not name:
            return None
        try:
            record = self._connectors.get(name)
        except Exception:  # noqa: BLE001 - only decorates the page
            return None
        return record.status if record else None

    # -- a lost grant (ReconnectReporter) ------------------------------------------------------------------

    def report(self, name: str, reason: str) -> bool:
        """Mark connector `name` `reconnect_required` and notify once, with a fresh consent link.

        `reason` is the operator-facing cause (no token in it). Returns True when this call made the
        transition (and sent the notification): of many workers seeing the same error, one wins.
        """
        hint = consent_hint(name)
        if not self._statuses.mark_reconnect_required(name, reason=reason):
            return False
        self._notifier.notify(self._reconnect_notice(name, reason, hint))
        return True

    def _reconnect_notice(self, name: str, reason: str, hint: str) -> JsonObject:
        """The notification, with a consent link made once for it (not once per failing message)."""
        record = self._connectors.get(name)
        message = (f"Connector '{name}' lost its access to Business Central and must be reconnected: {reason} "
                   f"{hint} Work is parked meanwhile and replayed after reconnecting.")
        details: JsonObject = {"reason": reason, "consent": hint}
        try:
            start = self.start(name, record, purpose="reconnect")
        except Exception as exc:  # noqa: BLE001 - the notification matters more than the link
            log.warning("Connector %s: no consent link for the reconnect notification (%s)", name, exc)
        else:
            details.update(consentUrl=start.url, consentUrlExpiresAt=start.expires_at,
                           startConsent=f"POST /api/connectors/{name}/consent")
            message += f" Sign-in link (works once, until {start.expires_at}): {start.url}"
        return notification(connector=name, event="reconnect_required", severity="error", message=message,
                            recipients=_recipients(record),
                            details=details, at=self._clock.now())

    # -- replay -------------------------------------------------------------------------------------------

    def replay(self, name: str) -> ReplaySummary:
        """`POST /connectors/{name}/replay`: parked, then failed messages; only while `connected`.

        Raises ConnectorNotFound, and ConflictError while the connector is not connected (its replayed
        messages would only be parked again) or another replay is running.
        """
        record = self._connectors.get(parse_connector_name(name))
        if record is None:
            raise ConnectorNotFound(name)
        if record.status != "connected":
            raise ConflictError(
                f"Connector '{record.name}' is {record.status}, so replayed messages would only be parked again. "
                + (f"Complete the consent first (POST /api/connectors/{record.name}/consent); parked messages are "
                   "replayed automatically when it completes." if record.status != "disabled"
                   else "Enable it first."), field="(connector)")
        summary = self._replays.run(record.name, include_failed=True)
        if summary.busy:
            raise ConflictError(f"A replay of connector '{record.name}' is already running; it sends every parked "
                                "message. Try again in a minute if some are still parked.", field="(connector)")
        return summary

    def waiting(self, name: str) -> bool:
        """Parked messages wait for `name` (the keep-alive's catch-up)."""
        return self._replays.waiting(name)

    def replay_parked(self, name: str) -> int:
        """Replay `name`'s parked messages now; how many were sent (0 while another replay runs)."""
        return self._replays.run(name).parked


def _recipients(record: ConnectorRecord | None) -> tuple[str, ...]:
    """Who is told; nobody when the connector is gone or its settings no longer parse (the status changed
    anyway, and the notification still goes to the host)."""
    try:
        return record.settings.notification_recipients if record else ()
    except SettingsInvalid:
        return ()


def _is_transient(err: Exception) -> bool:
    return isinstance(err, TransientError)
