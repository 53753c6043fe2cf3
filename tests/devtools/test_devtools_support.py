"""Small pieces behind `make run` and `make test`: settings files, child processes, the demo's words."""

from __future__ import annotations

import os
import time

import pytest

from devtools._config import apply_settings, load_local_settings, parse_timespan, resolve_setting_expression
from devtools._services import start_child
from devtools.demo import demo_settings, report_errors, report_saved
from devtools.devhost import SettingError


def test_local_settings_never_override_variables_already_set() -> None:
    environ = {"BC_API_URL": "https://bc.example"}
    applied = apply_settings({"BC_API_URL": "https://127.0.0.1:8443", "KEY_VAULT_URL": ""}, environ)
    assert environ == {"BC_API_URL": "https://bc.example", "KEY_VAULT_URL": ""}
    assert applied == ["KEY_VAULT_URL"]


def test_a_missing_local_settings_file_means_no_settings(tmp_path) -> None:
    assert load_local_settings(tmp_path / "local.settings.json") == {}


def test_setting_expressions_resolve_from_the_environment() -> None:
    assert resolve_setting_expression("%SCHED%", {"SCHED": "0 0 3 * * *"}, "x") == "0 0 3 * * *"
    with pytest.raises(SettingError, match=r"app setting 'SCHED' \(used as %SCHED% in the schedule of f\) is not set"):
        resolve_setting_expression("%SCHED%", {}, "the schedule of f")


def test_timespans_read_like_dotnet() -> None:
    assert parse_timespan("00:00:30") == 30
    assert parse_timespan("1.02:00:00") == 93600
    with pytest.raises(ValueError, match="'30s' is not a timespan like 00:00:30"):
        parse_timespan("30s")


def test_stopping_a_child_also_stops_what_it_spawned(tmp_path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    child = start_child("sleeper", ["/bin/sh", "-c", "sleep 30 & echo $! > %s; wait" % pid_file], log_path=None,
                        cwd=tmp_path)
    deadline = time.monotonic() + 5
    while not (pid_file.exists() and pid_file.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.02)
    grandchild = int(pid_file.read_text())

    child.stop(timeout=5)

    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open("/proc/%d/stat" % pid) as fh:  # a zombie is as good as gone
        return fh.read().split()[2] != "Z"


def test_the_demo_connector_is_a_valid_settings_document() -> None:
    from shared.connectors import parse_put_body

    settings, _secrets = parse_put_body(demo_settings())
    assert (settings.auth_mode, settings.company) == ("clientCredentials", "CRONUS%20USA%2C%20Inc.")


def test_the_demo_prints_each_field_error_on_its_own_line(capsys) -> None:
    report_errors(422, {"errors": [
        {"field": "defaults.unitOfMeasure", "message": "No unit of measure PCX.", "choices": ["PCS", "HOUR"]},
        {"field": "projects.dimension", "message": "No dimension PROJ."},
    ]})
    assert capsys.readouterr().out.splitlines() == [
        "Connector 'demo' was NOT saved (HTTP 422). The API says:",
        "  - defaults.unitOfMeasure: No unit of measure PCX. Valid choices: PCS, HOUR.",
        "  - projects.dimension: No dimension PROJ.",
    ]


def test_the_demo_says_what_was_saved_and_verified(capsys) -> None:
    report_saved(201, {"status": "Created", "checks": ["Unit of measure PCS exists."], "connector": {
        "status": "connected", "companyName": "CRONUS USA, Inc.", "companyId": "c-1", "taxMode": "salesTax"}})
    assert capsys.readouterr().out.splitlines() == [
        "Connector 'demo' was Created (HTTP 201): connected to company 'CRONUS USA, Inc.' (id c-1), US sales tax; "
        "status connected.",
        "What the save verified in Business Central:",
        "  - Unit of measure PCS exists.",
    ]


def test_the_demo_counts_bc_requests_apart_from_sign_in_requests(capsys) -> None:
    from devtools.demo import RequestLog, report_cost

    log = RequestLog("https://127.0.0.1:8443", False)
    report_cost(log, [
        {"kind": "entra", "method": "POST", "path": "/t/oauth2/v2.0/token", "status": 200},
        {"kind": "bc", "method": "GET", "path": "/v2.0/t/Production/api/v2.0/companies", "status": 200},
        {"kind": "bc", "method": "POST", "path": "/v2.0/t/Production/api/v2.0/$batch", "status": 200,
         "batchOperations": 5},
    ])
    assert capsys.readouterr().out.splitlines() == [
        "The verified save cost 2 BC requests and 1 Entra ID sign-in request (sandbox request log):",
        "  POST /t/oauth2/v2.0/token -> 200",
        "  GET api/v2.0/companies -> 200",
        "  POST api/v2.0/$batch (5 operations) -> 200",
    ]
