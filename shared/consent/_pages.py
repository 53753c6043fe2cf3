"""The page for each way a consent can end (`_html` draws them).

Words follow what the person did and what they can do next; Entra's error numbers go to the reference
line for support. The numbers are Entra's (https://learn.microsoft.com/entra/identity-platform/
reference-error-codes): 65004 declined, 90094 admin approval, 65001 consent missing, 50020/700005 wrong
tenant, 501481 PKCE, 54005 code reused, 70008 code expired, 500112 redirect URI.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from shared.auth import (
    InvalidClientError,
    ReconnectRequiredError,
    TokenEndpointUnavailableError,
    TokenError,
    UnknownApplicationError,
    UnknownTenantError,
)

from shared.connectors import FieldError

from ._html import Page

__all__ = [
    "connected",
    "state_problem",
    "connector_gone",
    "not_delegated",
    "settings_changed",
    "missing_answer",
    "entra_refused",
    "redeem_failed",
    "no_refresh_token",
    "wrong_tenant",
    "settings_invalid",
    "bc_unavailable",
    "bc_refused",
    "setup_problem",
    "unexpected_error",
]

START_AGAIN = "Start the connection to Business Central again from the application that sent you here."
_AADSTS = re.compile(r"AADSTS(\d{4,7})")
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _ref(connector: str | None, *extra: str) -> tuple[str, ...]:
    lines = [f"Connector: {connector}"] if connector else []
    return tuple(lines) + tuple(e for e in extra if e)


def _status_words(status: str | None) -> str:
    return {
        "connected": "connected",
        "consent_required": "waiting for its first consent",
        "reconnect_required": "waiting to be reconnected",
        "disabled": "disabled",
    }.get(status or "", status or "unknown")


# -- success ---------------------------------------------------------------------------------------


def connected(connector: str, *, company: str, environment: str, tenant: str, user: str | None,
              checks: int, replayed: int | None, replay_busy: bool, disabled: bool) -> Page:
    facts = [("Connector", connector), ("Company", company), ("Environment", environment),
             ("Microsoft Entra tenant", tenant)]
    if user:
        facts.append(("Signed in as", user))
    facts.append(("Settings checked", f"{checks} checks passed against Business Central"))
    if replayed:
        facts.append(("Waiting work", f"{replayed} waiting message{'s' if replayed != 1 else ''} sent again"))
    steps = ["Nothing more to do. You can close this window."]
    if replayed:
        steps.append(f"The {replayed} message{'s' if replayed != 1 else ''} that waited for this connection "
                     "are processed now, in the order they arrived.")
    elif replay_busy:
        steps.append("Work that waited for this connection is being sent again by a replay that was already "
                     "running.")
    if disabled:
        steps.append(f"Connector '{connector}' is disabled, so it does not export or import until it is enabled "
                     "again.")
    who = f" on behalf of {user}" if user else ""
    return Page(
        status=200, tone="ok", title="Business Central is connected", outcome="connected",
        lead=[f"Connector '{connector}' can now reach company '{company}' in Business Central{who}.",
              "bc-connector keeps this access alive by itself: it renews the sign-in every day, so it does not "
              "lapse after 90 days without use and does not need to be repeated after Microsoft's updates. "
              "It has to be run again only if the access is withdrawn (for example an administrator revokes "
              "it or the password changes); the people named on the connector are told if that happens."],
        facts=facts, steps_heading="What happens next", steps=steps)


# -- the state ---------------------------------------------------------------------------------------


def state_problem(kind: str, connector: str | None, status: str | None) -> Page:
    if kind == "expired":
        return Page(
            status=400, tone="error", title="This sign-in link has expired", outcome="state-expired",
            lead=["Sign-in links work for 10 minutes, and this one is older. Nothing was stored and nothing "
                  "was changed."],
            steps=[START_AGAIN, "Finish the Microsoft sign-in within 10 minutes of starting it."],
            reference=_ref(connector))
    if kind == "reused":
        if status == "connected":
            steps = [f"If you have just signed in, you are done: connector '{connector}' is connected. You can "
                     "close this window."]
        else:
            steps = [f"Connector '{connector}' is {_status_words(status)}. {START_AGAIN}"]
        return Page(
            status=400, tone="warning", title="This sign-in link was already used", outcome="state-reused",
            lead=["Each sign-in link works once, and this one has been used already (for example the page was "
                  "reloaded, or the link was opened twice). This visit changed nothing."],
            facts=[("Connector", connector or ""), ("Status", _status_words(status))] if connector else (),
            steps=steps)
    return Page(
        status=400, tone="error", title="This sign-in link is not valid", outcome="state-unknown",
        lead=["The link that brought you here does not belong to a sign-in that bc-connector started, or it was "
              "changed on the way. Nothing was stored and nothing was changed."],
        steps=[START_AGAIN, "Open the new link straight away, in the same browser, and do not edit it."])


def connector_gone(connector: str) -> Page:
    return Page(
        status=404, tone="error", title="This connector no longer exists", outcome="connector-gone",
        lead=[f"Connector '{connector}' was deleted after this sign-in started. Nothing was stored."],
        steps=["If the connector is still needed, create it again, then start its connection to Business "
               "Central."],
        reference=_ref(connector))


def not_delegated(connector: str) -> Page:
    return Page(
        status=409, tone="warning", title="This connector does not use a personal sign-in",
        outcome="not-delegated",
        lead=[f"Connector '{connector}' now signs in as an application (client credentials), so it needs no "
              "consent. Nothing was stored."],
        steps=["Nothing to do here. If the connector should act on behalf of a user, change its sign-in mode to "
               "delegated first, then start the connection again."],
        reference=_ref(connector))


def settings_changed(connector: str) -> Page:
    return Page(
        status=409, tone="error", title="The connector changed during the sign-in", outcome="settings-changed",
        lead=[f"The tenant or the app of connector '{connector}' was changed after this sign-in started, so the "
              "answer from Microsoft no longer fits. Nothing was stored."],
        steps=[START_AGAIN], reference=_ref(connector))


def missing_answer(connector: str | None = None) -> Page:
    return Page(
        status=400, tone="error", title="This page needs the answer from Microsoft's sign-in",
        outcome="missing-answer",
        lead=["This address is where Microsoft sends people back after they sign in to connect Business "
              "Central, and it was opened without the sign-in's answer. Nothing was stored."],
        steps=[START_AGAIN], reference=_ref(connector))


# -- Entra said no at the authorize endpoint ---------------------------------------------------------


#: The `error` words of the authorization endpoint (RFC 6749 §4.1.2.1, OpenID Connect Core §3.1.2.6, Entra's
#: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#error-codes-for-authorization-endpoint-errors).
#: A page names only these; anything else in the callback's query is not shown (it is not Entra's word).
KNOWN_ENTRA_ERRORS = frozenset({
    "invalid_request", "unauthorized_client", "access_denied", "unsupported_response_type", "invalid_scope",
    "server_error", "temporarily_unavailable", "invalid_resource", "login_required", "interaction_required",
    "consent_required", "account_selection_required", "invalid_request_uri", "invalid_request_object",
    "request_not_supported", "request_uri_not_supported", "registration_not_supported"})


def entra_refused(connector: str | None, *, status: str | None, error: str, subcode: str | None,
                  description: str | None, tenant: str | None, client_id: str | None, redirect_uri: str | None
                  ) -> Page:
    error = error if error in KNOWN_ENTRA_ERRORS else "an error it did not name"
    codes = [int(c) for c in _AADSTS.findall(description or "")]
    correlation = _correlation(description)
    reference = _ref(connector, f"Microsoft error: {error}" + (f" (AADSTS{codes[0]})" if codes else ""),
                     f"Correlation id: {correlation}" if correlation else "")
    stays = (f" Connector '{connector}' is still {_status_words(status)}." if connector and status else "")
    if 90094 in codes or 90095 in codes:
        return _admin_approval(connector, tenant, client_id, reference, stays)
    if 65001 in codes or error == "consent_required":
        return _consent_missing(connector, tenant, client_id, reference, stays)
    if codes and set(codes) & {50020, 700005, 50034}:
        return wrong_tenant(connector, tenant, reference=reference)
    if error == "access_denied":
        return Page(
            status=403, tone="warning", title="You did not give access", outcome="declined",
            lead=["Microsoft's consent page was cancelled, so bc-connector was not given access to Business "
                  f"Central. Nothing was stored and nothing was changed.{stays}"],
            steps=["To connect, start again from the application that sent you here, sign in with the account "
                   "that should run the integration, and choose Accept.",
                   "That account needs a Business Central licence and the permissions the integration uses."],
            reference=reference)
    if error in ("interaction_required", "login_required", "account_selection_required"):
        return Page(
            status=400, tone="error", title="Microsoft needs you to sign in again", outcome="sign-in-required",
            lead=[f"Microsoft did not finish the sign-in ({error}). Nothing was stored.{stays}"],
            steps=[START_AGAIN, "Sign in when Microsoft asks, including any extra verification."],
            reference=reference)
    if error in ("temporarily_unavailable", "server_error"):
        return _entra_unavailable(connector, reference)
    return Page(
        status=400, tone="error", title="Microsoft refused the sign-in request", outcome="entra-error",
        lead=[f"Microsoft Entra ID refused the request ({error}). This points to the set-up of bc-connector's app "
              f"registration, not to something you did. Nothing was stored.{stays}"],
        steps=[f"Ask your administrator to check app registration {client_id or '(BC_CLIENT_ID)'}: it must list "
               f"the redirect URI {redirect_uri or '(PUBLIC_BASE_URL)/api/consent/callback'} (platform Web) and "
               "the delegated permission Dynamics 365 Business Central > user_impersonation.",
               START_AGAIN],
        reference=reference)


def _admin_approval(connector: str | None, tenant: str | None, client_id: str | None,
                    reference: Sequence[str], stays: str = "") -> Page:
    return Page(
        status=403, tone="warning", title="An administrator must approve bc-connector first",
        outcome="admin-approval-required",
        lead=["Your organization lets only administrators give apps access to Business Central, and Microsoft "
              f"asked for an administrator's approval. Nothing was stored.{stays}"],
        facts=[("App (client) ID", client_id or ""), ("Microsoft Entra tenant", tenant or "")],
        steps=["Ask an administrator of your Microsoft Entra tenant (Global Administrator, Privileged Role "
               "Administrator or Cloud Application Administrator) to grant admin consent: Microsoft Entra admin "
               "center > Enterprise applications > the app with the ID above > Permissions > Grant admin "
               "consent. Or the administrator runs this sign-in and ticks 'Consent on behalf of your "
               "organization'.",
               "Then " + START_AGAIN[0].lower() + START_AGAIN[1:]],
        reference=reference)


def _consent_missing(connector: str | None, tenant: str | None, client_id: str | None,
                     reference: Sequence[str], stays: str = "") -> Page:
    return Page(
        status=403, tone="warning", title="Consent to bc-connector is missing", outcome="consent-required",
        lead=[f"Microsoft says nobody has consented to bc-connector's access to Business Central in this tenant "
              f"for this account yet. Nothing was stored.{stays}"],
        facts=[("App (client) ID", client_id or ""), ("Microsoft Entra tenant", tenant or "")],
        steps=[START_AGAIN + " On Microsoft's page, choose Accept.",
               "If Microsoft asks for an administrator, ask one to grant admin consent to the app with the ID "
               "above (Microsoft Entra admin center > Enterprise applications > Permissions)."],
        reference=reference)


def _entra_unavailable(connector: str | None, reference: Sequence[str]) -> Page:
    return Page(
        status=503, tone="error", title="Microsoft's sign-in service is unavailable right now",
        outcome="entra-unavailable",
        lead=["Microsoft Entra ID did not answer, so the sign-in could not be finished. Nothing was stored and "
              "nothing is lost: work waiting for this connector stays parked."],
        steps=["Wait a few minutes.", START_AGAIN], reference=reference)


def wrong_tenant(connector: str | None, tenant: str | None, *, signed_in_tenant: str | None = None,
                 user: str | None = None, reference: Sequence[str] = ()) -> Page:
    facts = [("Connector's tenant", tenant or "")]
    if signed_in_tenant:
        facts.append(("Tenant of the account used", signed_in_tenant))
    if user:
        facts.append(("Account used", user))
    return Page(
        status=403, tone="error", title="You signed in with an account of another organization",
        outcome="wrong-tenant",
        lead=[f"Connector '{connector}' belongs to Microsoft Entra tenant {tenant}, but the account used for the "
              "sign-in is not from that tenant. Nothing was stored."],
        facts=facts,
        steps=[START_AGAIN + f" Pick, or sign in with, an account of tenant {tenant}: the account that should run "
               "the integration.",
               f"A guest account must first be invited to tenant {tenant} by one of its administrators."],
        reference=reference or _ref(connector))


# -- redeeming the code ------------------------------------------------------------------------------


def redeem_failed(connector: str, err: TokenError, *, tenant: str, client_id: str, redirect_uri: str) -> Page:
    codes = set(err.error_codes)
    reference = _ref(connector, f"Microsoft error: {err.aadsts}" if err.aadsts else f"Microsoft error: {err.error}",
                     f"Correlation id: {err.correlation_id}" if err.correlation_id else "")
    if isinstance(err, TokenEndpointUnavailableError):
        return _entra_unavailable(connector, reference)
    if 501481 in codes:
        return Page(
            status=400, tone="error", title="The sign-in could not be verified", outcome="pkce-mismatch",
            lead=["Microsoft did not accept this sign-in's proof key (PKCE): the answer did not come from the "
                  "browser session that started it, or it was changed on the way. Nothing was stored."],
            steps=[START_AGAIN, "Finish it in the same browser window, without copying links between browsers."],
            reference=reference)
    if 54005 in codes:
        return Page(
            status=400, tone="warning", title="This sign-in was already completed", outcome="code-reused",
            lead=["Microsoft's one-time sign-in code in this link was already used. This visit changed nothing."],
            steps=["If the connector does not show as connected, " + START_AGAIN[0].lower() + START_AGAIN[1:]],
            reference=reference)
    if 70008 in codes:
        return Page(
            status=400, tone="error", title="The sign-in took too long", outcome="code-expired",
            lead=["Microsoft's one-time sign-in code expired before bc-connector could use it. Nothing was stored."],
            steps=[START_AGAIN], reference=reference)
    if 65001 in codes or err.error == "consent_required":
        return _consent_missing(connector, tenant, client_id, reference)
    if codes & {700005, 50020}:
        return wrong_tenant(connector, tenant, reference=reference)
    if 500112 in codes:
        return Page(
            status=400, tone="error", title="bc-connector's address changed during the sign-in",
            outcome="redirect-mismatch",
            lead=["The sign-in came back to a different address than the one it started from, so Microsoft "
                  "refused it. Nothing was stored."],
            steps=[f"Ask the operator to check PUBLIC_BASE_URL (the sign-in returns to {redirect_uri}).", START_AGAIN],
            reference=reference)
    if isinstance(err, InvalidClientError):
        return setup_problem(connector, "Microsoft rejected bc-connector's app credentials (its client secret is "
                             "wrong or has expired).",
                             ["Ask the operator to create a new client secret for app "
                              f"{client_id} and save it on the connector (auth.clientSecret) or as the Key Vault "
                              "secret bc-client-secret.", START_AGAIN], reference)
    if isinstance(err, UnknownApplicationError):
        return _admin_approval(connector, tenant, client_id, reference)
    if isinstance(err, UnknownTenantError):
        return setup_problem(connector, f"Microsoft does not know tenant '{tenant}'.",
                             ["Correct the connector's tenantId (Business Central shows it under Help & Support).",
                              START_AGAIN], reference)
    if isinstance(err, ReconnectRequiredError):
        return Page(
            status=400, tone="error", title="Microsoft did not complete the sign-in", outcome="sign-in-refused",
            lead=[f"Microsoft refused to finish the sign-in ({err.aadsts or err.error}). Nothing was stored."],
            steps=[START_AGAIN], reference=reference)
    return Page(
        status=400, tone="error", title="Microsoft did not complete the sign-in", outcome="sign-in-refused",
        lead=[f"Microsoft refused to finish the sign-in ({err.aadsts or err.error or 'no details'}). Nothing was "
              "stored."],
        steps=[START_AGAIN], reference=reference)


def no_refresh_token(connector: str) -> Page:
    return Page(
        status=400, tone="error", title="Microsoft did not allow lasting access", outcome="no-refresh-token",
        lead=["The sign-in worked, but Microsoft issued no refresh token, so bc-connector could not keep the "
              "connection alive. The permission 'Maintain access to data you have given it access to' "
              "(offline_access) was not granted. Nothing was stored."],
        steps=["Ask an administrator whether a policy blocks offline_access for this app.", START_AGAIN],
        reference=_ref(connector))


# -- checking BC -------------------------------------------------------------------------------------


def settings_invalid(connector: str, errors: Iterable[FieldError], *, user: str | None) -> Page:
    facts = [(e.field, e.message) for e in errors]
    return Page(
        status=422, tone="error", title="Signed in, but the connector's settings do not fit Business Central",
        outcome="settings-invalid",
        lead=[f"The sign-in{' as ' + user if user else ''} worked and Business Central answered, but the settings "
              f"of connector '{connector}' do not fit that company. The connection was not saved, so that no export "
              "runs with settings that would fail."],
        facts=facts,
        steps=["Correct these settings (the settings screen of your application, or PUT /api/connectors/"
               f"{connector}).", START_AGAIN],
        reference=_ref(connector))


def bc_unavailable(connector: str) -> Page:
    return Page(
        status=503, tone="error", title="Business Central is unavailable right now", outcome="bc-unavailable",
        lead=["The sign-in worked, but Business Central did not answer in time, so the connection could not be "
              "checked. Nothing was stored and nothing is lost: work waiting for this connector stays parked."],
        steps=["Wait a few minutes.", START_AGAIN], reference=_ref(connector))


def bc_refused(connector: str, message: str) -> Page:
    return Page(
        status=502, tone="error", title="Business Central refused the check", outcome="bc-error",
        lead=["The sign-in worked, but Business Central refused the request that checks the connection. Nothing "
              "was stored."],
        facts=[("Business Central said", message)],
        steps=["Check that the account has a Business Central licence and permissions in that environment.",
               START_AGAIN],
        reference=_ref(connector))


# -- set-up and the unexpected ---------------------------------------------------------------------------


def setup_problem(connector: str | None, what: str, steps: Sequence[str], reference: Sequence[str] = ()) -> Page:
    return Page(
        status=500, tone="error", title="bc-connector is not fully set up", outcome="setup-problem",
        lead=[what + " Nothing was stored."], steps=list(steps), reference=reference or _ref(connector))


def unexpected_error(reference: str) -> Page:
    return Page(
        status=500, tone="error", title="Something went wrong on our side", outcome="unexpected-error",
        lead=["bc-connector could not finish the connection because of an unexpected error. Work waiting for "
              "the connector is kept."],
        steps=["Check in your application whether the connector shows as connected; if it does not, start "
               "the connection to Business Central again.",
               "If this happens again, give the reference below to your administrator."],
        reference=(f"Reference: {reference}",))


def _correlation(description: str | None) -> str | None:
    match = re.search(r"Correlation ID:\s*(" + _GUID.pattern + ")", description or "")
    return match.group(1) if match else None
