"""The app's registrations against the Contract (docs/contract.md §3): routes, methods, auth levels, names.

`app.get_functions()` is what the Functions worker indexes; it may be called only once per process
(azure-functions 1.26 quirk), so the index is built once here.
"""

from __future__ import annotations

import json

import azure.functions as func
import pytest

from tests._app import FUNCTIONS

HTTP_CONTRACT = {
    # name: (route, methods)
    "health": ("health", ["GET"]),
    "health_ready": ("health/ready", ["GET"]),
    "list_connectors": ("connectors", ["GET"]),
    "put_connector": ("connectors/{name}", ["PUT"]),
    "get_connector": ("connectors/{name}", ["GET"]),
    "delete_connector": ("connectors/{name}", ["DELETE"]),
    "connector_lookup": ("connectors/{name}/lookups/{kind}", ["GET"]),
    "start_consent": ("connectors/{name}/consent", ["POST"]),
    "consent_callback": ("consent/callback", ["GET"]),
    "replay_connector": ("connectors/{name}/replay", ["POST"]),
    "run_expense_import": ("connectors/{name}/expenses/import", ["POST"]),
    "bc_notifications": ("bc/notifications", ["POST", "GET"]),
}
#: The webhook endpoint is anonymous because BC cannot send a function key; it verifies the clientState.
ANONYMOUS = {"health", "consent_callback", "bc_notifications"}

#: name: (queue it is triggered by, output queues it binds). Queue names are the Contract (§4).
QUEUE_CONTRACT: dict[str, tuple[str, set[str]]] = {
    # Exports send their outcome through the worker's services (one path for outcomes, as for
    # notifications), so they bind no output queue.
    "export_customer": ("bc-customers", set()),
    "export_project": ("bc-projects", set()),
    "export_product": ("bc-products", set()),
    "export_invoice": ("bc-invoices", set()),
    "customers_poison": ("bc-customers-poison", set()),
    "projects_poison": ("bc-projects-poison", set()),
    "products_poison": ("bc-products-poison", set()),
    "invoices_poison": ("bc-invoices-poison", set()),
    "run_requested_import": ("bc-import-requests", set()),
}

#: name: schedule expression (an app setting of §7, so operators can change it without a deploy).
TIMER_CONTRACT: dict[str, str] = {
    "keep_tokens_fresh": "%TOKEN_KEEPALIVE_SCHEDULE%",
    "import_expenses": "%EXPENSE_IMPORT_SCHEDULE%",
}
#: Timers on a fixed schedule: the webhook keep-alive's 6 hours are part of why a subscription never lapses
#: (renewed with 2 of its 3 days left), so it is not an operator's setting (and cannot stop the host unset).
FIXED_TIMERS: dict[str, str] = {"keep_webhooks_alive": "0 15 */6 * * *"}


def _http_trigger(name: str):
    trigger = FUNCTIONS[name].get_trigger()
    assert trigger.type == "httpTrigger"
    return trigger


@pytest.mark.parametrize("name", sorted(HTTP_CONTRACT))
def test_http_function_serves_its_contract_route_and_methods(name):
    route, methods = HTTP_CONTRACT[name]
    trigger = _http_trigger(name)
    assert trigger.route == route
    assert [m.value for m in trigger.methods] == methods


def test_only_health_and_the_consent_callback_are_anonymous():
    for name, function in FUNCTIONS.items():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        expected = func.AuthLevel.ANONYMOUS if name in ANONYMOUS else func.AuthLevel.FUNCTION
        assert trigger.auth_level == expected, name


def test_no_two_http_functions_claim_the_same_route_and_method():
    seen = set()
    for function in FUNCTIONS.values():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        for method in trigger.methods:
            key = (trigger.route, method.value)
            assert key not in seen, key
            seen.add(key)


def test_every_function_json_is_what_the_worker_can_index():
    for function in FUNCTIONS.values():
        document = json.loads(function.get_function_json())
        assert document["scriptFile"] == "function_app.py"
        assert document["bindings"], function.get_function_name()


def test_queue_functions_listen_on_their_contract_queue_through_azure_web_jobs_storage():
    for name, (queue, outputs) in QUEUE_CONTRACT.items():
        function = FUNCTIONS[name]
        trigger = function.get_trigger()
        assert (trigger.type, trigger.queue_name, trigger.connection) == ("queueTrigger", queue,
                                                                          "AzureWebJobsStorage"), name
        bound = {b.queue_name for b in function.get_bindings() if b.type == "queue"}
        assert bound == outputs, name


def test_timers_take_their_schedule_from_an_app_setting_and_never_run_on_start_up():
    for name, schedule in {**TIMER_CONTRACT, **FIXED_TIMERS}.items():
        trigger = FUNCTIONS[name].get_trigger()
        assert trigger.type == "timerTrigger", name
        assert trigger.schedule == schedule, name
        assert not trigger.run_on_startup, name


def test_the_app_registers_exactly_the_functions_of_the_contract():
    # get_functions() itself refuses duplicate names; this pins that nothing unplanned is registered.
    assert set(FUNCTIONS) == set(HTTP_CONTRACT) | set(QUEUE_CONTRACT) | set(TIMER_CONTRACT) | set(FIXED_TIMERS)
