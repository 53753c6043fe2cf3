"""The storage account: identity only, and every queue, table and container of the contract created."""

from __future__ import annotations

from tests.infra import _code, _templates

STORAGE = _templates.INFRA / "app" / "storage.bicep"


def _main_list(variable: str) -> list[str]:
    return list(_templates.main()["variables"][variable]["value"])


def _created_queues() -> set[str]:
    return set(_main_list("inputQueues") + _main_list("outputQueues") + _main_list("poisonQueues")
               + _main_list("internalQueues"))


def _account() -> dict:
    accounts = _templates.resources(STORAGE, "Microsoft.Storage/storageAccounts")
    assert len(accounts) == 1
    return _templates.resource_body(accounts[0])["properties"]


def test_every_queue_of_the_contract_is_created() -> None:
    assert set(_code.module_level_literal("QUEUES").values()) <= _created_queues()


def test_every_queue_a_function_is_registered_on_is_created() -> None:
    assert _code.queue_names_in_registrations() <= _created_queues()


def test_no_queue_outside_the_contract_is_created() -> None:
    assert _created_queues() <= set(_code.module_level_literal("QUEUES").values())


def test_every_table_of_the_contract_is_created() -> None:
    assert set(_code.module_level_literal("TABLES").values()) <= set(_main_list("tableNames"))


def test_the_storage_module_gets_all_queues_and_tables() -> None:
    params = _templates.module_call("app/storage.bicep")["params"]
    assert params["tableNames"] == "tableNames"
    queues = params["queueNames"]["function"]["parameters"]
    assert {"inputQueues", "outputQueues", "poisonQueues"} <= set(str(v) for v in _templates.strings(queues))


def test_the_claim_check_container_is_created() -> None:
    assert _templates.main()["variables"]["payloadContainerName"]["value"] == "bc-payloads"
    containers = _templates.module_call("app/storage.bicep")["params"]["containerNames"]
    assert "payloadContainerName" in containers


def test_shared_key_access_is_off() -> None:
    assert _account()["allowSharedKeyAccess"] is False


def test_tls_1_2_https_only_and_no_public_blobs() -> None:
    account = _account()
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["supportsHttpsTrafficOnly"] is True
    assert account["allowBlobPublicAccess"] is False
