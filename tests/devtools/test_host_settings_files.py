"""host.json, local.settings.example.json, docs/app-settings.md and .funcignore hold what the contract says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from devtools.devhost import HostConfig, NCrontabSchedule, QueueSettings
from sandbox import constants

ROOT = Path(__file__).resolve().parents[2]

#: docs/contract.md §7 plus the Functions platform settings the app needs locally.
CONTRACT_SETTINGS = {
    "AzureWebJobsStorage", "KEY_VAULT_URL", "BC_CLIENT_ID", "BC_API_URL", "BC_AUTHORITY_HOST", "PUBLIC_BASE_URL",
    "EXPENSE_IMPORT_SCHEDULE", "TOKEN_KEEPALIVE_SCHEDULE", "REQUESTS_CA_BUNDLE",
}
PLATFORM_SETTINGS = {"FUNCTIONS_WORKER_RUNTIME", "AzureWebJobsFeatureFlags", "AZURE_FUNCTIONS_ENVIRONMENT"}


def host_json() -> dict:
    return json.loads((ROOT / "host.json").read_text(encoding="utf-8"))


def example_values() -> dict:
    return json.loads((ROOT / "local.settings.example.json").read_text(encoding="utf-8"))["Values"]


def test_host_json_targets_functions_v4_with_extension_bundle_4() -> None:
    host = host_json()
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert host["functionTimeout"] == "00:05:00"


def test_queue_settings_keep_at_most_five_messages_in_flight_per_function() -> None:
    queues = HostConfig.from_dict(host_json()).queues
    assert queues == QueueSettings(batch_size=4, new_batch_threshold=1, max_dequeue_count=5,
                                   visibility_timeout=30.0, max_polling_interval=2.0, message_encoding="none")
    assert queues.max_in_flight == 5  # BC allows 5 concurrent requests per user


def test_queue_messages_are_plain_utf8_text() -> None:
    assert host_json()["extensions"]["queues"]["messageEncoding"] == "none"


def test_request_telemetry_is_never_sampled() -> None:
    sampling = host_json()["logging"]["applicationInsights"]["samplingSettings"]
    assert sampling["isEnabled"] is True
    assert "Request" in sampling["excludedTypes"].split(";")


def test_example_settings_hold_every_contract_and_platform_setting() -> None:
    assert CONTRACT_SETTINGS | PLATFORM_SETTINGS <= set(example_values())


def test_example_settings_point_at_azurite_and_the_local_sandbox() -> None:
    values = example_values()
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["AzureWebJobsFeatureFlags"] == "EnableWorkerIndexing"
    assert values["AZURE_FUNCTIONS_ENVIRONMENT"] == "Development"
    assert values["KEY_VAULT_URL"] == ""
    assert values["BC_CLIENT_ID"] == constants.DEMO_CLIENT_ID
    assert values["BC_API_URL"] == values["BC_AUTHORITY_HOST"] == "https://127.0.0.1:8443"
    assert values["REQUESTS_CA_BUNDLE"] == ".sandbox/ca.pem"


def test_example_schedules_are_valid_ncrontab() -> None:
    values = example_values()
    assert NCrontabSchedule.parse(values["EXPENSE_IMPORT_SCHEDULE"]).expression == "0 */15 * * * *"
    assert NCrontabSchedule.parse(values["TOKEN_KEEPALIVE_SCHEDULE"]).expression == "0 0 3 * * *"


def test_every_example_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "app-settings.md").read_text(encoding="utf-8")
    undocumented = [name for name in example_values() if "| `%s` |" % name not in doc]
    assert undocumented == []


def test_development_tools_are_not_deployed() -> None:
    ignored = {line.strip() for line in (ROOT / ".funcignore").read_text().splitlines()}
    assert {"devtools/", "tests/", "sandbox/", "local.settings.json", ".venv/", "node_modules/"} <= ignored
    assert not {"function_app.py", "functions/", "shared/", "host.json", "requirements.txt"} & ignored


def test_production_code_never_imports_the_dev_tools() -> None:
    sources = [ROOT / "function_app.py", *(ROOT / "functions").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if re.search(r"^\s*(from|import)\s+devtools\b", p.read_text(encoding="utf-8"), re.M)]
    assert offenders == []
