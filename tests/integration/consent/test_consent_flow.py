"""The delegated consent end to end: HTTP functions, Azurite tables, and the sandbox's Entra and BC over HTTPS.

The sign-in page is clicked through with requests here; tests/browser does the same in Chromium.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox import constants
from tests._app import call_http, json_of
from tests.integration.consent._helpers import (
    callback,
    consent,
    delegated_settings,
    outcome,
    page_text,
    put_delegated,
    sign_in,
    start,
)

pytestmark = pytest.mark.integration


def get(name):
    return json_of(call_http("get_connector", route_params={"name": name}))


def refresh_token_of(services, name):
    return services.secrets().get_secret(f"connector-{name}-refresh-token")


def assert_nothing_stored(services, name):
    assert refresh_token_of(services, name) is None
    assert services.token_versions().get(name) is None
    assert get(name)["status"] == "consent_required"


def state_row(services, consent_url):
    state = parse_qs(urlsplit(consent_url).query)["state"][0]
    return services.table("consent").get_entity("state", state)


# -- saving and starting -----------------------------------------------------------------------------


def test_saving_a_delegated_connector_answers_consent_required_with_a_consent_url(services, connector_name, sandbox):
    body = put_delegated(connector_name)

    assert body["connector"]["status"] == "consent_required"
    url = urlsplit(body["consentUrl"])
    assert f"{url.scheme}://{url.netloc}" == sandbox.url
    assert url.path == f"/{constants.TENANT_ID}/oauth2/v2.0/authorize"
    assert "code_challenge_method=S256" in url.query


def test_post_consent_answers_a_url_its_expiry_and_the_redirect_uri(services, connector_name):
    put_delegated(connector_name)

    response = call_http("start_consent", route_params={"name": connector_name})

    assert response.status_code == 200
    body = json_of(response)
    assert body["redirectUri"] == "http://127.0.0.1:7071/api/consent/callback"
    assert body["consentUrl"].startswith(services.app_settings.bc_authority_host)
    expires = dt.datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=9) < expires - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=10)
    assert response.headers["Cache-Control"] == "no-store"


def test_post_consent_of_an_unknown_connector_is_404(services):
    response = call_http("start_consent", route_params={"name": "no-such-connector"})

    assert response.status_code == 404
    assert "no connector named 'no-such-connector'" in json_of(response)["errors"][0]["message"]


def test_a_client_credentials_connector_is_connected_by_its_save_and_needs_no_consent(services, connector_name):
    document = delegated_settings(auth={"mode": "clientCredentials", "clientId": constants.DEMO_CLIENT_ID,
                                        "clientSecret": constants.DEMO_CLIENT_SECRET})
    saved = json_of(call_http("put_connector", route_params={"name": connector_name}, body=document))
    assert saved["connector"]["status"] == "connected" and "consentUrl" not in saved

    response = call_http("start_consent", route_params={"name": connector_name})

    assert response.status_code == 422
    assert json_of(response)["errors"][0]["field"] == "auth.mode"


# -- completing ---------------------------------------------------------------------------------------


def test_consent_connects_the_connector_and_keeps_the_refresh_token_in_key_vault(services, connector_name, sandbox):
    put_delegated(connector_name)

    response = consent(connector_name, sandbox.ca_bundle)

    assert response.status_code == 200 and outcome(response) == "connected"
    connector = get(connector_name)
    assert connector["status"] == "connected"
    assert connector["companyName"] == constants.US_COMPANY and connector["taxMode"] == "salesTax"
    assert connector["companyId"] and connector["companyCountry"] == "US"
    expires = dt.datetime.fromisoformat(connector["refreshTokenExpiresAt"].replace("Z", "+00:00"))
    assert abs(expires - dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=90)) < dt.timedelta(minutes=1)
    token = refresh_token_of(services, connector_name)
    assert token
    version = services.token_versions().get(connector_name)
    assert (version.generation, version.consented_by) == (1, constants.DEMO_USER)
    row = services.table("tokens").get_entity(connector_name, "refresh-token")
    assert token not in str(dict(row))


def test_the_success_page_says_what_was_connected_and_carries_no_token(services, connector_name, sandbox):
    put_delegated(connector_name)

    response = consent(connector_name, sandbox.ca_bundle)

    text = page_text(response)
    assert "Business Central is connected" in text
    assert f"can now reach company '{constants.US_COMPANY}'" in text
    assert f"Signed in as {constants.DEMO_USER}" in text
    assert "checks passed against Business Central" in text
    assert "does not need to be repeated after Microsoft's updates" in text
    assert refresh_token_of(services, connector_name) not in response.get_body().decode()
    assert (response.mimetype, response.charset) == ("text/html", "utf-8")
    assert response.headers["Cache-Control"] == "no-store"


def test_the_consent_proves_bc_access_as_the_user_with_the_full_settings_check(services, connector_name, sandbox,
                                                                               bc):
    put_delegated(connector_name)
    since = bc.last_seq()

    consent(connector_name, sandbox.ca_bundle)

    calls = bc.requests(since=since, kind="bc")
    assert calls, "the callback must call BC"
    assert {c["user"] for c in calls} == {constants.DEMO_USER}
    paths = " ".join(c["path"] for c in calls)
    assert "/companies" in paths and "$batch" in paths and "Customer_Card" in paths


def test_cancel_on_the_consent_page_changes_nothing_and_says_how_to_connect(services, connector_name, sandbox):
    put_delegated(connector_name)

    response = consent(connector_name, sandbox.ca_bundle, action="cancel")

    assert response.status_code == 403 and outcome(response) == "declined"
    text = page_text(response)
    assert "You did not give access" in text and "choose Accept" in text and "AADSTS65004" in text
    assert_nothing_stored(services, connector_name)


def test_when_an_administrator_must_approve_the_page_says_who_and_where(services, connector_name, sandbox, bc):
    put_delegated(connector_name)
    bc.set_consent_mode("admin_approval_required")

    response = consent(connector_name, sandbox.ca_bundle, action="cancel")

    assert outcome(response) == "admin-approval-required"
    text = page_text(response)
    assert "An administrator must approve bc-connector first" in text
    assert "Grant admin consent" in text and constants.DEMO_CLIENT_ID in text
    assert_nothing_stored(services, connector_name)


def test_a_replayed_callback_url_changes_nothing_the_second_time(services, connector_name, sandbox, bc):
    put_delegated(connector_name)
    params = sign_in(start(connector_name), sandbox.ca_bundle)
    assert outcome(callback(params)) == "connected"
    token = refresh_token_of(services, connector_name)
    since = bc.last_seq()

    again = callback(params)

    assert outcome(again) == "state-reused"
    assert "you are done" in page_text(again)
    assert refresh_token_of(services, connector_name) == token
    assert services.token_versions().get(connector_name).generation == 1
    assert bc.requests(since=since) == []  # no second redemption, no BC call


def test_a_tampered_state_is_refused_and_the_real_one_still_works(services, connector_name, sandbox):
    put_delegated(connector_name)
    params = sign_in(start(connector_name), sandbox.ca_bundle)
    state = params["state"]
    tampered = {**params, "state": state[:-1] + ("A" if state[-1] != "A" else "B")}

    refused = callback(tampered)

    assert refused.status_code == 400 and outcome(refused) == "state-unknown"
    assert "This sign-in link is not valid" in page_text(refused)
    assert_nothing_stored(services, connector_name)
    assert outcome(callback(params)) == "connected"


def test_a_state_of_another_sign_in_cannot_redeem_this_code(services, connector_name, sandbox):
    put_delegated(connector_name)
    params = sign_in(start(connector_name), sandbox.ca_bundle)
    other_state = parse_qs(urlsplit(start(connector_name)).query)["state"][0]

    response = callback({**params, "state": other_state})

    # The other state's verifier does not match this code's challenge: Entra refuses (AADSTS501481).
    assert outcome(response) == "pkce-mismatch"
    assert_nothing_stored(services, connector_name)


def test_a_pkce_verifier_that_does_not_match_is_refused_by_entra_and_nothing_is_stored(services, connector_name,
                                                                                      sandbox):
    from azure.data.tables import UpdateMode

    put_delegated(connector_name)
    url = start(connector_name)
    params = sign_in(url, sandbox.ca_bundle)
    row = state_row(services, url)
    row["codeVerifier"] = "x" * 86
    services.table("consent").update_entity(row, mode=UpdateMode.REPLACE)

    response = callback(params)

    assert response.status_code == 400 and outcome(response) == "pkce-mismatch"
    text = page_text(response)
    assert "The sign-in could not be verified" in text and "AADSTS501481" in text
    assert_nothing_stored(services, connector_name)


def test_an_expired_state_is_refused_and_nothing_is_stored(services, connector_name, sandbox):
    from azure.data.tables import UpdateMode

    put_delegated(connector_name)
    url = start(connector_name)
    params = sign_in(url, sandbox.ca_bundle)
    row = state_row(services, url)
    row["expiresAt"] = "2020-01-01T00:00:00Z"
    services.table("consent").update_entity(row, mode=UpdateMode.REPLACE)

    response = callback(params)

    assert outcome(response) == "state-expired" and "has expired" in page_text(response)
    assert_nothing_stored(services, connector_name)


def test_settings_that_do_not_fit_the_company_are_listed_and_nothing_is_stored(services, connector_name, sandbox):
    put_delegated(connector_name, defaults__unitOfMeasure="FURLONG")

    response = consent(connector_name, sandbox.ca_bundle)

    assert response.status_code == 422 and outcome(response) == "settings-invalid"
    text = page_text(response)
    assert "defaults.unitOfMeasure" in text and "FURLONG" in text
    assert_nothing_stored(services, connector_name)


def test_bc_unavailable_during_the_check_stores_nothing_and_says_to_try_again(services, connector_name, sandbox, bc):
    put_delegated(connector_name)
    params = sign_in(start(connector_name), sandbox.ca_bundle)
    bc.add_fault("503", count=10, retry_after=0, path="/companies")

    response = callback(params)

    assert response.status_code == 503 and outcome(response) == "bc-unavailable"
    assert "Wait a few minutes" in page_text(response)
    assert_nothing_stored(services, connector_name)


# -- after the consent --------------------------------------------------------------------------------


def test_saving_a_connected_delegated_connector_keeps_it_connected_without_a_new_link(services, connector_name,
                                                                                     sandbox):
    put_delegated(connector_name)
    consent(connector_name, sandbox.ca_bundle)

    body = put_delegated(connector_name, notes="changed")

    assert body["connector"]["status"] == "connected" and "consentUrl" not in body


def test_lookups_work_for_a_connected_delegated_connector(services, connector_name, sandbox):
    put_delegated(connector_name)
    consent(connector_name, sandbox.ca_bundle)

    response = call_http("connector_lookup", route_params={"name": connector_name, "kind": "unitsOfMeasure"})

    assert response.status_code == 200
    assert "PCS" in {v.get("code") for v in json_of(response)["values"]}


def test_no_code_verifier_or_token_reaches_the_log(services, connector_name, sandbox, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    put_delegated(connector_name)
    url = start(connector_name)
    verifier = state_row(services, url)["codeVerifier"]
    params = sign_in(url, sandbox.ca_bundle)

    assert outcome(callback(params)) == "connected"
    call_http("connector_lookup", route_params={"name": connector_name, "kind": "taxGroups"})  # a rotation

    for secret in (params["code"], verifier, refresh_token_of(services, connector_name), constants.DEMO_CLIENT_SECRET):
        assert secret not in caplog.text
