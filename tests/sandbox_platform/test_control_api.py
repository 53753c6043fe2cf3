"""The control API (`/_sandbox/...`) and the request log, through `SandboxAdmin` and raw HTTP."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from werkzeug.test import Client

from sandbox.admin import SandboxAdminError
from sandbox.constants import (
    BC_RESOURCE,
    DEMO_CLIENT_ID,
    ENVIRONMENT,
    TENANT_ID,
    VAT_COMPANY,
)
from tests.sandbox_platform.helpers import app_token, bc_get, client_credentials, sign_in


def test_the_request_log_counts_bc_and_entra_requests_separately(server, http, admin):
    token = app_token(http, server.url)
    for _ in range(3):
        bc_get(http, server.url, token)

    bc = admin.requests(kind="bc")
    entra = admin.requests(kind="entra")

    assert len(bc) == 3 and len(entra) == 1
    assert [e["status"] for e in bc] == [200, 200, 200]
    assert bc[0]["method"] == "GET" and bc[0]["path"] == f"/v2.0/{TENANT_ID}/{ENVIRONMENT}/api/v2.0/companies"
    assert all(e["durationMs"] >= 0 and e["requestId"] for e in bc)
    assert entra[0]["path"] == f"/{TENANT_ID}/oauth2/v2.0/token"


def test_the_request_log_returns_only_entries_after_since(server, http, admin):
    token = app_token(http, server.url)
    bc_get(http, server.url, token)
    mark = admin.last_seq()
    bc_get(http, server.url, token, path="api/v2.0/companies?$top=1")

    newer = admin.requests(since=mark)

    assert len(newer) == 1 and newer[0]["seq"] == mark + 1
    assert newer[0]["query"] == "%24top=1"


def test_the_request_log_masks_codes_and_secrets_in_query_strings(server, http, admin):
    http.get(f"{server.url}/{TENANT_ID}/oauth2/v2.0/token?client_secret=s3cr3t&code=abc")

    entry = admin.requests(kind="entra")[-1]

    assert "s3cr3t" not in entry["query"] and "abc" not in entry["query"]
    assert entry["query"] == "client_secret=%2A%2A%2A&code=%2A%2A%2A"


def test_clearing_the_request_log_keeps_sequence_numbers_increasing(server, http, admin):
    bc_get(http, server.url, None)
    before = admin.last_seq()

    admin.clear_requests()
    bc_get(http, server.url, None)

    entries = admin.requests()
    assert len(entries) == 1 and entries[0]["seq"] == before + 1


def test_control_calls_are_not_logged(server, admin):
    admin.world()
    admin.limits()

    assert admin.requests() == []


def test_reset_restores_fixtures_limits_faults_latency_clock_and_consent_mode(server, http, admin):
    admin.set_limits(requestsPerWindow=1)
    admin.add_fault("503")
    admin.set_latency(50)
    admin.advance_clock(1000)
    admin.set_consent_mode("consent_required")
    admin.register_app(homeTenant=TENANT_ID)

    admin.reset()

    world = admin.world()
    assert world["limits"]["requestsPerWindow"] == 6000
    assert world["faults"] == {"rules": [], "latencyMs": 0}
    assert world["clock"]["offsetSeconds"] == 0
    assert world["directory"]["consentMode"] == "normal"
    assert len(world["directory"]["apps"]) == 2
    assert "bc" in world


def test_the_world_summary_never_contains_secrets(admin):
    from sandbox.constants import DEMO_CLIENT_SECRET, UNREGISTERED_IN_BC_CLIENT_SECRET

    text = str(admin.world())

    assert DEMO_CLIENT_SECRET not in text and UNREGISTERED_IN_BC_CLIENT_SECRET not in text


def test_a_registered_app_gets_a_secret_once_and_can_sign_in(server, http, admin):
    app = admin.register_app(displayName="Another integration", homeTenant=TENANT_ID)

    response = client_credentials(http, server.url, client_id=app["clientId"], secret=app["clientSecret"])

    assert response.status_code == 200, response.text
    assert "clientSecret" not in admin._call("GET", "apps")["apps"][-1]


def test_a_registered_app_with_its_own_secret_and_redirect_uri_can_run_the_consent_flow(server, http, admin):
    app = admin.register_app(
        clientId="abcdefab-1234-4abc-8abc-abcdefabcdef",
        clientSecret="my-own-secret",
        homeTenant=TENANT_ID,
        redirectUris=["https://app.example/callback"],
    )
    assert "clientSecret" not in app

    code, _ = sign_in(http, server.url, client_id=app["clientId"], redirect_uri="https://app.example/callback")

    assert code


def test_bc_app_switch_rejects_unknown_tenants_and_environments(admin):
    with pytest.raises(SandboxAdminError) as info:
        admin.set_bc_app_enabled("nobody.onmicrosoft.com", ENVIRONMENT, DEMO_CLIENT_ID, True)
    assert info.value.status == 404 and "unknown BC tenant" in info.value.message

    with pytest.raises(SandboxAdminError, match="unknown environment"):
        admin.set_bc_app_enabled(TENANT_ID, "Staging", DEMO_CLIENT_ID, True)


def test_web_service_and_number_series_switches_reach_the_bc_world(server, admin):
    published = admin.set_web_service_published(TENANT_ID, ENVIRONMENT, VAT_COMPANY, "Customer_Card", False)
    manual = admin.set_manual_nos(TENANT_ID, ENVIRONMENT, VAT_COMPANY, "S-INV", True)

    assert published == {"company": VAT_COMPANY, "service": "Customer_Card", "published": False}
    assert manual == {"company": VAT_COMPANY, "code": "S-INV", "manualNos": True}
    if hasattr(server.world, "web_services"):  # the stand-in world records what it was told
        assert server.world.web_services[(TENANT_ID, ENVIRONMENT, VAT_COMPANY, "Customer_Card")] is False
        assert server.world.manual_nos[(TENANT_ID, ENVIRONMENT, VAT_COMPANY, "S-INV")] is True


def test_switches_need_a_boolean(admin, http, server):
    path = f"/_sandbox/web-services/{TENANT_ID}/{ENVIRONMENT}/{quote(VAT_COMPANY, safe='')}/Customer_Card"

    response = http.put(server.url + path, json={"published": "yes"})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == '"published" must be true or false'


def test_the_clock_only_moves_forward(admin):
    assert admin.advance_clock(30)["offsetSeconds"] == 30

    with pytest.raises(SandboxAdminError, match="only moves forward"):
        admin.advance_clock(-1)


def test_an_unknown_consent_mode_is_refused(admin):
    with pytest.raises(SandboxAdminError, match="consent mode must be one of"):
        admin.set_consent_mode("sometimes")


def test_unknown_control_routes_and_methods_are_named_in_the_error(server, http, admin):
    missing = http.get(server.url + "/_sandbox/nothing-here")
    wrong_method = http.delete(server.url + "/_sandbox/reset")

    assert missing.status_code == 404 and "/_sandbox/nothing-here" in missing.json()["error"]["message"]
    assert wrong_method.status_code == 405


def test_the_control_api_refuses_callers_that_are_not_on_loopback(server):
    client = Client(server.app)

    response = client.post("/_sandbox/reset", environ_overrides={"REMOTE_ADDR": "10.1.2.3"})

    assert response.status_code == 403


def test_unknown_paths_outside_bc_and_entra_are_404_with_a_hint(server, http, admin):
    response = http.get(server.url + "/favicon.ico")

    assert response.status_code == 404 and "GET / lists the routes" in response.json()["error"]["message"]


def test_the_index_names_the_bc_and_entra_base_urls(server, http, admin):
    index = http.get(server.url + "/").json()

    assert index["bcApi"] == f"{server.url}/v2.0/{{tenant}}/{{environment}}/api/v2.0"
    assert index["authority"] == f"{server.url}/{{tenant}}"
    assert BC_RESOURCE not in index["controlApi"]
