"""Who may do what: the app's identity, the host application's identity, Key Vault and the plan."""

from __future__ import annotations

import json

from tests.infra import _code, _templates

APP = _templates.INFRA / "app"
ROLE = "Microsoft.Authorization/roleAssignments"

# Built-in role IDs (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
QUEUE_MESSAGE_SENDER = "c6a89b2d-59bc-44d0-9896-0f6e12d7b80a"
QUEUE_MESSAGE_PROCESSOR = "8a0f0c08-91a1-4084-bc3d-661d67233fed"
QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"


#: Queues only the app itself sends to and reads (webhook notifications asking for import runs).
INTERNAL_QUEUES = {"bc-import-requests"}


def _input_queues() -> list[str]:
    """The queues the app's export functions are triggered by (not their -poison queues, not internal ones)."""
    return sorted(q for q in _code.queue_names_in_registrations()
                  if not q.endswith("-poison") and q not in INTERNAL_QUEUES)


def _output_queues() -> list[str]:
    """The contract's queues the host application reads: neither inputs nor -poison queues."""
    return sorted(set(_code.module_level_literal("QUEUES").values()) - set(_input_queues()) - INTERNAL_QUEUES
                  - {q for q in _code.queue_names_in_registrations() if q.endswith("-poison")})


def _assignments(path) -> dict[str, dict]:
    """resource name -> {role, scope, loop} of every role assignment in a module."""
    tree = _templates.parse(path)
    roles = tree["variables"]["roles"]["value"]
    found = {}
    for name, resource in tree["resources"].items():
        if resource["type"] != ROLE:
            continue
        body = _templates.resource_body(resource)
        accessor = body["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
        operands = accessor["operator"]["operands"]
        assert operands["operand_1"] == "roles", f"{name}: role IDs come from the `roles` variable"
        role_key = operands["operand_2"]
        config = resource["config"]
        loop = config["loop_type"]["detail"] if "loop_type" in config else None
        found[name] = {"role": roles[role_key], "scope": json.dumps(body["scope"]), "loop": loop}
    return found


def test_the_host_application_may_only_send_to_the_input_queues() -> None:
    send = _assignments(APP / "host-access.bicep")["send"]
    assert send["role"] == QUEUE_MESSAGE_SENDER
    assert send["loop"]["array_name"] == "inputQueueNames"
    assert "inputQueues" in send["scope"]
    for call in _templates.module_calls("app/host-access.bicep"):
        assert sorted(_templates.main_value(call["params"]["inputQueueNames"])) == _input_queues()


def test_the_host_application_may_only_receive_from_the_output_queues() -> None:
    receive = _assignments(APP / "host-access.bicep")["receive"]
    assert receive["role"] == QUEUE_MESSAGE_PROCESSOR
    assert receive["loop"]["array_name"] == "outputQueueNames"
    for call in _templates.module_calls("app/host-access.bicep"):
        assert sorted(_templates.main_value(call["params"]["outputQueueNames"])) == _output_queues()


def test_the_host_application_writes_claim_check_payloads_in_their_container_only() -> None:
    write = _assignments(APP / "host-access.bicep")["writePayloads"]
    assert write["role"] == BLOB_DATA_CONTRIBUTOR
    assert write["scope"] == json.dumps("payloads")


def test_the_host_application_gets_no_account_wide_role() -> None:
    scopes = {a["scope"] for a in _assignments(APP / "host-access.bicep").values()}
    assert json.dumps("account") not in scopes


def test_the_apps_queue_rights_are_per_queue() -> None:
    queues = _assignments(APP / "rbac.bicep")["queueContributor"]
    assert queues["role"] == QUEUE_DATA_CONTRIBUTOR
    assert queues["loop"]["array_name"] == "queueNames"


def test_the_app_may_get_set_delete_and_recover_secrets() -> None:
    officer = _assignments(APP / "rbac.bicep")["secretsOfficer"]
    assert officer["role"] == KEY_VAULT_SECRETS_OFFICER
    assert officer["scope"] == json.dumps("vault")


def test_the_app_may_publish_telemetry() -> None:
    assert _assignments(APP / "rbac.bicep")["metricsPublisher"]["role"] == MONITORING_METRICS_PUBLISHER


def test_key_vault_uses_rbac_with_soft_delete_and_purge_protection() -> None:
    vault = _templates.resource_body(_templates.resources(APP / "keyvault.bicep", "Microsoft.KeyVault/vaults")[0])
    properties = vault["properties"]
    assert properties["enableRbacAuthorization"] is True
    assert properties["enableSoftDelete"] is True
    assert properties["enablePurgeProtection"] is True


def test_the_function_app_runs_python_3_11_on_flex_consumption_with_a_user_assigned_identity() -> None:
    plan = _templates.resource_body(_templates.resources(APP / "api.bicep", "Microsoft.Web/serverfarms")[0])
    assert plan["sku"] == {"tier": "FlexConsumption", "name": "FC1"}
    site = _templates.resource_body(_templates.resources(APP / "api.bicep", "Microsoft.Web/sites")[0])
    assert site["identity"]["type"] == "UserAssigned"
    assert site["properties"]["functionAppConfig"]["runtime"] == {"name": "python", "version": "3.11"}
    assert site["properties"]["httpsOnly"] is True


def test_more_instances_are_allowed_because_bc_requests_share_one_budget_per_bc_user() -> None:
    # Every BC request takes a permit of its BC user's budget in table BcBudgets, across instances.
    instances = _templates.main()["parameters"]["maximumInstanceCount"]["default"]
    assert instances > 1
    assert "BcBudgets" in _code.module_level_literal("TABLES").values()


def test_http_concurrency_per_instance_is_within_bcs_concurrency() -> None:
    concurrency = _templates.main()["parameters"]["httpPerInstanceConcurrency"]["default"]
    assert concurrency <= _code.module_level_literal("BC_CONCURRENCY_PER_USER")
