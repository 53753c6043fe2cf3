"""Read-modify-write of a connector (issue 11 item 3): GET answers an ETag, PUT and DELETE honour If-Match
(412 on a stale one) and If-None-Match: * (create only), and a GET body saves back unchanged."""

from __future__ import annotations

import pytest

from sandbox import constants
from tests._app import call_http, json_of
from tests._settings import connector_settings

pytestmark = pytest.mark.integration


def put(name, document, **headers):
    return call_http("put_connector", route_params={"name": name}, body=document,
                     headers={k.replace("_", "-"): v for k, v in headers.items()})


def get(name):
    return call_http("get_connector", route_params={"name": name})


def delete(name, **headers):
    return call_http("delete_connector", route_params={"name": name},
                     headers={k.replace("_", "-"): v for k, v in headers.items()})


def fields(response):
    return {e["field"]: e["message"] for e in json_of(response)["errors"]}


def test_get_answers_the_rows_etag_quoted_and_put_answers_the_new_one(services, connector_name):
    saved = put(connector_name, connector_settings())
    read = get(connector_name)
    etag = read.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert saved.headers["ETag"] == etag
    again = put(connector_name, connector_settings(notes="changed"), If_Match=etag)
    assert again.status_code == 200 and again.headers["ETag"] != etag


def test_a_stale_if_match_is_refused_with_412_and_nothing_changes(services, connector_name):
    put(connector_name, connector_settings())
    stale = get(connector_name).headers["ETag"]
    put(connector_name, connector_settings(notes="someone else"))
    response = put(connector_name, connector_settings(notes="mine"), If_Match=stale)
    assert response.status_code == 412
    assert "changed since it was read" in fields(response)["(If-Match)"]
    assert json_of(get(connector_name))["notes"] == "someone else"
    assert services.secrets().list_names(f"connector-{connector_name}-") == \
        [services.store().get(connector_name).client_secret_name.lower()]


def test_if_none_match_star_creates_only(services, connector_name):
    assert put(connector_name, connector_settings(), If_None_Match="*").status_code == 201
    response = put(connector_name, connector_settings(notes="again"), If_None_Match="*")
    assert response.status_code == 412
    assert "already exists" in fields(response)["(If-None-Match)"]


def test_a_malformed_if_match_is_a_400_naming_the_header(services, connector_name):
    put(connector_name, connector_settings())
    response = put(connector_name, connector_settings(), If_Match="not-quoted")
    assert response.status_code == 400
    assert "(If-Match)" in fields(response)


def test_delete_honours_if_match(services, connector_name):
    put(connector_name, connector_settings())
    stale = get(connector_name).headers["ETag"]
    put(connector_name, connector_settings(notes="changed"))
    assert delete(connector_name, If_Match=stale).status_code == 412
    assert get(connector_name).status_code == 200
    assert delete(connector_name, If_Match=get(connector_name).headers["ETag"]).status_code == 204
    assert services.secrets().list_names(f"connector-{connector_name}-") == []


def test_a_get_body_sent_back_as_a_put_body_succeeds_unchanged(services, connector_name):
    put(connector_name, connector_settings())
    read = get(connector_name)
    body = json_of(read)
    assert body["auth"]["clientSecret"] == "stored"
    response = put(connector_name, body, If_Match=read.headers["ETag"])
    assert response.status_code == 200, json_of(response)
    after = json_of(get(connector_name))
    assert {k: v for k, v in after.items() if k != "updatedAt"} == {k: v for k, v in body.items() if k != "updatedAt"}
    assert services.adapters.secrets.get_secret(services.store().get(connector_name).client_secret_name) == \
        constants.DEMO_CLIENT_SECRET


def test_a_read_only_field_that_differs_is_a_field_error(services, connector_name):
    put(connector_name, connector_settings())
    body = json_of(get(connector_name))
    body.update(status="disabled", companyId="00000000-0000-0000-0000-000000000000")
    response = put(connector_name, body)
    assert response.status_code == 422
    assert {"status", "companyId"} <= set(fields(response))


def test_a_get_body_saved_back_after_reports_moved_on_still_saves(services, connector_name):
    put(connector_name, connector_settings())
    body = json_of(get(connector_name))
    body.update(updatedAt="2020-01-01T00:00:00Z", lastExports={"invoice": {"lastStatus": "created"}},
                expenseImport={"status": "completed"})
    response = put(connector_name, body)
    assert response.status_code == 200, json_of(response)


def test_stored_keeps_the_secret_and_is_never_sent_to_entra_as_one(services, connector_name):
    put(connector_name, connector_settings())
    body = json_of(get(connector_name))
    # No cached token: the save's verification must sign in, and the sandbox's Entra refuses any secret
    # but the app's (AADSTS7000215, a 422 on auth.clientSecret), so a 200 means the stored one was sent.
    services.forget_credentials()
    response = put(connector_name, body)
    assert response.status_code == 200, json_of(response)
    assert json_of(response)["connector"]["status"] == "connected"


def test_stored_on_a_new_connector_asks_for_the_secret_itself(services, connector_name):
    response = put(connector_name, connector_settings(auth__clientSecret="stored"))
    assert response.status_code == 422
    assert "send the client secret itself" in fields(response)["auth.clientSecret"]


def test_app_wide_switches_to_the_app_wide_secret_and_removes_the_own_one(services, connector_name):
    services.secrets().set_secret("bc-client-secret", constants.DEMO_CLIENT_SECRET)
    put(connector_name, connector_settings())
    response = put(connector_name, connector_settings(auth__clientSecret="app-wide"))
    assert response.status_code == 200
    assert json_of(response)["connector"]["auth"]["clientSecret"] == "app-wide"
    assert services.secrets().list_names(f"connector-{connector_name}-") == []


def test_json_answers_forbid_sniffing_and_caching(services, connector_name):
    for response in (put(connector_name, connector_settings()), get(connector_name), get("no-such-connector")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"
