"""The Function App in infra/ carries every setting the code reads, with production values only."""

from __future__ import annotations

import json
import re

from devtools._ncrontab import NCrontabSchedule
from tests.infra import _code, _templates

#: A setting the code reads that Azure satisfies in another form, and why.
SATISFIED_BY = {
    # The connection-string form carries the account key; shared-key access is off on the account.
    "AzureWebJobsStorage": "AzureWebJobsStorage__accountName",
}

#: Settings that belong to a developer's machine only.
DEVELOPMENT_ONLY = {
    "FUNCTIONS_WORKER_RUNTIME": "Core Tools needs it locally; Flex Consumption rejects it (runtime is in functionAppConfig)",
    "REQUESTS_CA_BUNDLE": "trusts the local BC sandbox's self-signed certificate",
    "AzureWebJobsFeatureFlags": "EnableWorkerIndexing is the host's default since 4.28",
}

#: Settings whose local example value is also right in Azure.
SAME_VALUE_IN_AZURE = {"EXPENSE_IMPORT_SCHEDULE", "TOKEN_KEEPALIVE_SCHEDULE", "FUNCTIONS_WORKER_RUNTIME"}


def _local_example() -> dict[str, str]:
    path = _templates.ROOT / "local.settings.example.json"
    return json.loads(path.read_text(encoding="utf-8"))["Values"]


def test_the_collector_finds_settings_and_binding_expressions_in_the_code() -> None:
    # Guards the collector itself: an empty result would make the tests below pass vacuously.
    assert "KEY_VAULT_URL" in _code.settings_read()
    assert {"EXPENSE_IMPORT_SCHEDULE", "TOKEN_KEEPALIVE_SCHEDULE"} <= _code.binding_expressions()


def test_every_setting_the_code_reads_is_set_on_the_function_app() -> None:
    settings = _templates.app_settings()
    missing = sorted(name for name in _code.settings_read()
                     if name not in settings and SATISFIED_BY.get(name) not in settings)
    assert missing == []


def test_every_percent_expression_of_the_registrations_is_set_on_the_function_app() -> None:
    # The host resolves %SETTING% binding values at start-up and gives them no default.
    missing = sorted(_code.binding_expressions() - set(_templates.app_settings()))
    assert missing == []


def test_the_timer_schedules_default_to_valid_ncrontab() -> None:
    settings = _templates.resolved_app_settings()
    for name in _code.binding_expressions():
        NCrontabSchedule.parse(settings[name])


def test_the_functions_environment_is_production_and_not_a_parameter() -> None:
    value = _templates.app_settings()["AZURE_FUNCTIONS_ENVIRONMENT"]
    assert value == "Production"
    assert value not in _templates.parse(_templates.INFRA / "app" / "api.bicep")["parameters"]


def test_no_development_only_setting_is_set() -> None:
    assert sorted(set(DEVELOPMENT_ONLY) & set(_templates.app_settings())) == []


def test_no_local_development_value_appears_in_the_templates() -> None:
    local_values = {value for name, value in _local_example().items()
                    if value and name not in SAME_VALUE_IN_AZURE}
    # Bicep without its // comments (a comment may name a development value to say it is never used).
    texts = [re.sub(r"(^|\s)//.*$", "", path.read_text(encoding="utf-8"), flags=re.M)
             for path in _templates.bicep_files()]
    texts.append((_templates.INFRA / "main.parameters.json").read_text(encoding="utf-8"))
    leaked = sorted(v for v in local_values if any(v in text for text in texts))
    assert leaked == []


def test_storage_is_reached_by_the_apps_user_assigned_identity() -> None:
    settings = _templates.app_settings()
    assert "AzureWebJobsStorage" not in settings
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == settings["AZURE_CLIENT_ID"]


def test_business_central_endpoints_default_to_the_codes_public_cloud_defaults() -> None:
    settings = _templates.resolved_app_settings()
    assert settings["BC_API_URL"] == _code.module_level_literal("DEFAULT_BC_API_URL")
    assert settings["BC_AUTHORITY_HOST"] == _code.module_level_literal("DEFAULT_AUTHORITY_HOST")


def test_the_public_base_url_is_the_apps_https_host_name_unless_overridden() -> None:
    value = _templates.main_value(_templates.module_call("app/api.bicep")["params"]["publicBaseUrl"])
    assert value["operator"]["operands"]["true_value"] == "https://${functionAppName}.azurewebsites.net"


def test_application_insights_ingestion_uses_the_apps_identity() -> None:
    settings = _templates.app_settings()
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" in settings
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "ClientId=${identityClientId};Authorization=AAD"
