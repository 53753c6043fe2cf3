"""The callback ends every flow on a page that says what happened; none of the failures stores anything."""

from __future__ import annotations

from dataclasses import replace

import html as _html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import constants
from shared.auth import RedeemedGrant, classify_token_error
from shared.consent import PAGE_HEADERS, render_page


def _state(ports) -> str:
    url = ports.service().start("acme").url
    return parse_qs(urlsplit(url).query)["state"][0]


def _text(page) -> str:
    body = re.sub(r"<style>.*?</style>", " ", render_page(page), flags=re.S)
    return re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]+>", " ", body)))


def _nothing_stored(ports) -> None:
    assert ports.secrets.names() == ["bc-client-secret"]  # the app-wide secret of the set-up, nothing more
    assert ports.versions.get("acme") is None
    assert ports.store.get("acme").status == "consent_required"


def test_a_callback_without_state_asks_to_start_from_the_application(ports):
    page = ports.service().complete({"code": "abc"})

    assert (page.status, page.outcome) == (400, "missing-answer")
    assert "opened without the sign-in's answer" in _text(page)
    _nothing_stored(ports)


@pytest.mark.parametrize("state", ["forged-state", "A" * 43, "x'; drop table--", ""])
def test_an_unknown_or_tampered_state_gives_a_clear_page_and_stores_nothing(ports, redeemer, state):
    _state(ports)

    page = ports.service().complete({"code": "abc", "state": state})

    assert page.status == 400
    assert page.outcome in ("state-unknown", "missing-answer")
    if state:
        assert page.title == "This sign-in link is not valid"
        assert "does not belong to a sign-in that bc-connector started" in _text(page)
    assert redeemer.calls == []
    _nothing_stored(ports)


def test_a_state_older_than_ten_minutes_has_expired(ports, clock, redeemer):
    state = _state(ports)
    clock.advance(minutes=10, seconds=1)

    page = ports.service().complete({"code": "abc", "state": state})

    assert (page.status, page.outcome, page.title) == (400, "state-expired", "This sign-in link has expired")
    assert "work for 10 minutes" in _text(page)
    assert redeemer.calls == []
    _nothing_stored(ports)


def test_a_state_works_once_even_when_its_first_use_failed(ports, redeemer):
    state = _state(ports)
    redeemer.error = classify_token_error({"error": "invalid_grant", "error_codes": [501481]},
                                          client_id="c", tenant="t")
    assert ports.service().complete({"code": "abc", "state": state}).outcome == "pkce-mismatch"
    redeemer.error = None

    page = ports.service().complete({"code": "abc", "state": state})

    assert (page.outcome, page.title) == ("state-reused", "This sign-in link was already used")
    assert "waiting for its first consent" in _text(page)
    assert len(redeemer.calls) == 1
    _nothing_stored(ports)


def test_the_code_is_redeemed_with_the_stored_verifier_nonce_and_redirect_uri(ports, redeemer):
    state = _state(ports)
    (row,) = ports.states.rows()
    redeemer.error = classify_token_error({"error": "temporarily_unavailable"}, client_id="c", tenant="t")

    ports.service().complete({"code": "the-code", "state": state})

    (call,) = redeemer.calls
    assert call == {"code": "the-code", "state": state, "redirect_uri": row.redirect_uri, "scopes": row.scopes,
                    "code_verifier": row.code_verifier, "nonce": row.nonce}


@pytest.mark.parametrize("error, description, outcome, title, advice", [
    ("access_denied", "AADSTS65004: User declined to consent to access the app.", "declined",
     "You did not give access", "choose Accept"),
    ("access_denied", "AADSTS90094: Admin consent is required for the permissions requested.",
     "admin-approval-required", "An administrator must approve bc-connector first", "Grant admin consent"),
    ("consent_required", "AADSTS65001: The user or administrator has not consented.", "consent-required",
     "Consent to bc-connector is missing", "choose Accept"),
    ("invalid_request", "AADSTS50020: User account from identity provider does not exist in tenant.",
     "wrong-tenant", "You signed in with an account of another organization",
     f"an account of tenant {constants.TENANT_ID}"),
    ("interaction_required", "AADSTS50076: multi-factor authentication required.", "sign-in-required",
     "Microsoft needs you to sign in again", "extra verification"),
    ("temporarily_unavailable", "AADSTS90033: A transient error has occurred.", "entra-unavailable",
     "Microsoft's sign-in service is unavailable right now", "Wait a few minutes"),
    ("invalid_scope", "AADSTS70011: The provided value for scope is not valid.", "entra-error",
     "Microsoft refused the sign-in request", "user_impersonation"),
])
def test_an_error_from_entra_ends_on_a_page_that_says_what_to_do(ports, redeemer, error, description, outcome,
                                                                 title, advice):
    state = _state(ports)

    page = ports.service().complete({"error": error, "error_description": description, "state": state})

    assert (page.outcome, page.title) == (outcome, title)
    assert advice in _text(page)
    assert "Nothing was stored" in _text(page)
    assert redeemer.calls == []
    _nothing_stored(ports)


def test_entras_free_text_is_not_shown_only_its_code_and_correlation_id(ports):
    state = _state(ports)
    description = ("AADSTS65004: <script>alert(1)</script> Call +1 555 0100 now.\r\nTrace ID: x\r\n"
                   "Correlation ID: 0c9f0d67-aaaa-4bbb-8ccc-ddddeeeeffff\r\nTimestamp: 2026")

    html = render_page(ports.service().complete({"error": "access_denied", "error_description": description,
                                                 "state": state}))

    assert "<script>" not in html and "555 0100" not in html
    assert "AADSTS65004" in html and "0c9f0d67-aaaa-4bbb-8ccc-ddddeeeeffff" in html


@pytest.mark.parametrize("payload, outcome, words", [
    ({"error": "invalid_grant", "error_codes": [501481]}, "pkce-mismatch", "proof key (PKCE)"),
    ({"error": "invalid_grant", "error_codes": [54005]}, "code-reused", "already used"),
    ({"error": "invalid_grant", "error_codes": [70008]}, "code-expired", "expired before"),
    ({"error": "invalid_grant", "error_codes": [65001], "suberror": "consent_required"}, "consent-required",
     "nobody has consented"),
    ({"error": "invalid_grant", "error_codes": [700005]}, "wrong-tenant", "not from that tenant"),
    ({"error": "invalid_grant", "error_codes": [500112]}, "redirect-mismatch", "PUBLIC_BASE_URL"),
    ({"error": "invalid_client", "error_codes": [7000222]}, "setup-problem", "client secret"),
    ({"error": "unauthorized_client", "error_codes": [700016]}, "admin-approval-required", "admin consent"),
])
def test_a_refused_redemption_ends_on_a_specific_page_and_stores_nothing(ports, redeemer, payload, outcome, words):
    state = _state(ports)
    redeemer.error = classify_token_error(payload, client_id=constants.DEMO_CLIENT_ID, tenant=constants.TENANT_ID)

    page = ports.service().complete({"code": "abc", "state": state})

    assert page.outcome == outcome
    assert words in _text(page)
    _nothing_stored(ports)


def test_an_entra_outage_during_redemption_says_to_wait_and_try_again(ports, redeemer):
    state = _state(ports)
    redeemer.error = classify_token_error({"error": "server_error"}, client_id="c", tenant="t", status=503)

    page = ports.service().complete({"code": "abc", "state": state})

    assert (page.status, page.outcome) == (503, "entra-unavailable")
    assert "work waiting for this connector stays parked" in _text(page)


def test_a_code_issued_for_another_tenant_is_refused(ports, redeemer):
    state = _state(ports)
    redeemer.grant = RedeemedGrant("at", "rt", 3599, {"tid": constants.OTHER_TENANT_ID,
                                                      "preferred_username": "someone@fabrikam.example"})

    page = ports.service().complete({"code": "abc", "state": state})

    assert (page.status, page.outcome) == (403, "wrong-tenant")
    assert constants.OTHER_TENANT_ID in _text(page) and "someone@fabrikam.example" in _text(page)
    _nothing_stored(ports)


def test_a_grant_without_a_refresh_token_is_not_kept(ports, redeemer):
    state = _state(ports)
    redeemer.grant = RedeemedGrant("at", None, 3599, {"tid": constants.TENANT_ID})

    page = ports.service().complete({"code": "abc", "state": state})

    assert page.outcome == "no-refresh-token" and "offline_access" in _text(page)
    _nothing_stored(ports)


def test_a_connector_deleted_during_the_sign_in_gets_its_own_page(ports, redeemer):
    state = _state(ports)
    ports.store.delete("acme")

    page = ports.service().complete({"code": "abc", "state": state})

    assert (page.status, page.outcome) == (404, "connector-gone")
    assert redeemer.calls == []


def test_a_tenant_changed_during_the_sign_in_is_refused(ports, redeemer):
    state = _state(ports)
    record = ports.store.get("acme")
    record.settings = replace(record.settings, tenant_id=constants.OTHER_TENANT_ID)
    ports.store.update(record)

    page = ports.service().complete({"code": "abc", "state": state})

    assert page.outcome == "settings-changed"
    assert redeemer.calls == []


def test_pages_escape_what_they_show_and_carry_no_secret(ports, redeemer):
    from shared.connectors import FieldError
    from shared.consent._pages import settings_invalid

    page = settings_invalid("acme", [FieldError("company", "No company '<b>Evil & Co</b>'")], user="<i>x</i>")
    html = render_page(page)

    assert "<b>" not in html and "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html
    assert "<i>x</i>" not in html
    for secret in ("at-secret", "rt-secret", "client-secret"):
        assert secret not in html


def test_pages_are_never_cached_framed_or_allowed_to_load_anything():
    assert PAGE_HEADERS["Cache-Control"] == "no-store"
    assert PAGE_HEADERS["X-Frame-Options"] == "DENY"
    assert PAGE_HEADERS["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in PAGE_HEADERS["Content-Security-Policy"]


def test_a_page_has_one_heading_a_language_and_an_alert_role_for_failures(ports):
    html = render_page(ports.service().complete({"state": "nope", "code": "x"}))

    assert html.startswith('<!doctype html><html lang="en">')
    assert html.count("<h1>") == 1
    assert 'role="alert"' in html


def test_an_error_word_that_is_not_one_of_entras_is_not_shown(ports):
    state = _state(ports)

    html = render_page(ports.service().complete({"error": "Call_555_0100_to_fix_your_account", "state": state}))

    assert "555_0100" not in html
    assert "an error it did not name" in html
