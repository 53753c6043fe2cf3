"""The world as the platform half sees it: tenants, environments, apps, isolation, reset, admin switches."""

from __future__ import annotations

import json

import pytest

from sandbox import constants as C
from sandbox.bc import BcWorld
from sandbox.bc._fixtures import read_fixtures

from ._client import OTHER, OTHER_COMPANY, US, Client, company_path


def test_tenants_resolve_by_guid_or_domain_in_any_case(world):
    assert world.resolve_tenant(C.TENANT_ID.upper()) == C.TENANT_ID
    assert world.resolve_tenant(C.TENANT_DOMAIN.upper()) == C.TENANT_ID
    assert world.resolve_tenant(C.OTHER_TENANT_DOMAIN) == C.OTHER_TENANT_ID
    assert world.resolve_tenant("nobody.onmicrosoft.com") is None


def test_environment_names_are_case_insensitive(world):
    assert world.has_environment(C.TENANT_ID, "production")
    assert world.has_environment(C.TENANT_ID, "SANDBOX")
    assert not world.has_environment(C.TENANT_ID, "Staging")
    assert not world.has_environment(C.OTHER_TENANT_ID, "Sandbox")


def test_apps_are_enabled_per_environment_on_the_entra_applications_page(world):
    assert world.is_app_enabled(C.TENANT_ID, "Production", C.DEMO_CLIENT_ID)
    assert world.is_app_enabled(C.TENANT_ID, "Sandbox", C.DEMO_CLIENT_ID.upper())
    assert not world.is_app_enabled(C.TENANT_ID, "Production", C.UNREGISTERED_IN_BC_CLIENT_ID)
    world.set_app_enabled(C.TENANT_ID, "Production", C.DEMO_CLIENT_ID, False)
    assert not world.is_app_enabled(C.TENANT_ID, "Production", C.DEMO_CLIENT_ID)
    assert world.is_app_enabled(C.TENANT_ID, "Sandbox", C.DEMO_CLIENT_ID)


def test_a_tenant_sees_only_its_own_companies(world):
    other = Client(world, tenant=C.OTHER_TENANT_ID, environment="Production")
    names = [c["name"] for c in other.get("api/v2.0/companies").value]
    assert names == [OTHER_COMPANY]
    assert other.get(company_path(US) + "/customers").error_code == "Internal_CompanyNotFound"
    assert len(other.get(company_path(OTHER) + "/customers").value) == 2


def test_environments_do_not_share_data(world, bc):
    bc.post(company_path() + "/customers", {"number": "PROD-ONLY", "displayName": "Only in Production"})
    sandbox = Client(world, environment=C.SANDBOX_ENVIRONMENT)
    companies = {c["name"]: c["id"] for c in sandbox.get("api/v2.0/companies").value}
    sandbox_us = companies[C.US_COMPANY]
    assert sandbox_us != US
    numbers = {c["number"] for c in sandbox.get(company_path(sandbox_us) + "/customers").value}
    assert "PROD-ONLY" not in numbers and "C10000" in numbers


def test_reset_returns_to_the_fixtures(world, bc):
    bc.post(company_path() + "/customers", {"number": "GONE", "displayName": "Gone after reset"})
    world.set_manual_nos(C.TENANT_ID, C.ENVIRONMENT, C.US_COMPANY, "S-INV", True)
    world.reset()
    assert "GONE" not in {c["number"] for c in bc.get(company_path() + "/customers").value}
    series = bc.get("ODataV4/Company(Id=%s)/NoSeries('S-INV')" % US).body
    assert series["Manual_Nos"] is False


def test_summary_lists_tenants_environments_companies_services_and_series(world):
    summary = world.summary()
    tenant = next(t for t in summary["tenants"] if t["id"] == C.TENANT_ID)
    assert [e["name"] for e in tenant["environments"]] == ["Production", "Sandbox"]
    company = next(c for c in tenant["environments"][0]["companies"] if c["name"] == C.US_COMPANY)
    assert company["id"] == US
    assert "Customer_Card" in company["publishedServices"]
    assert {"code": "S-INV", "manualNos": False, "lastNoUsed": "S-INV100002"} in company["series"]
    json.dumps(summary)


def test_admin_switches_accept_a_company_name_or_id_and_refuse_unknown_targets(world):
    world.set_manual_nos(C.TENANT_ID, C.ENVIRONMENT, US, "s-inv", True)
    with pytest.raises(KeyError):
        world.set_manual_nos(C.TENANT_ID, C.ENVIRONMENT, "No Such Company", "S-INV", True)
    with pytest.raises(KeyError):
        world.set_web_service_published(C.TENANT_ID, C.ENVIRONMENT, C.US_COMPANY, "Job_Card", True)
    with pytest.raises(KeyError):
        world.set_app_enabled(C.TENANT_ID, "Staging", C.DEMO_CLIENT_ID, True)


def test_an_unknown_route_is_no_http_resource(bc):
    answer = bc.get("api/v1.0/companies")
    assert answer.status == 404
    assert answer.error_code == "BadRequest_NotFound"


def test_a_replacement_fixture_file_can_be_loaded(tmp_path):
    data = read_fixtures(None)
    data["tenants"] = data["tenants"][1:]
    path = tmp_path / "bc.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    world = BcWorld.load(str(path))
    assert world.resolve_tenant(C.TENANT_ID) is None
    assert world.resolve_tenant(C.OTHER_TENANT_ID) == C.OTHER_TENANT_ID


def test_last_modified_follows_the_shared_sandbox_clock():
    from datetime import datetime, timezone

    class FixedClock:
        def utcnow(self) -> datetime:
            return datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)

    world = BcWorld.load(clock=FixedClock())
    created = Client(world).post(company_path() + "/customers", {"displayName": "Time traveller"}).body
    assert created["lastModifiedDateTime"] == "2030-01-02T03:04:05.678Z"
