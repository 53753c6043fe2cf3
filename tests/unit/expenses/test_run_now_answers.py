"""What "run now" answers: the use case refuses a connector without expenses, and a summary's HTTP status
and `error` are read off the error that stopped the run (`shared.errors.disposition`)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tests.unit.expenses._fakes import NAME, World

from shared.bc import BcThrottledError
from shared.connectors import ConnectorNotFound, SettingsInvalid
from shared.errors import PermanentError


def test_run_now_for_a_connector_without_expenses_is_refused_on_expenses_enabled():
    world = World(enabled=False)
    with pytest.raises(SettingsInvalid) as refused:
        world.run()
    assert [e.to_dict() for e in refused.value.errors] == [{
        "field": "expenses.enabled",
        "message": "Expense import is off for this connector: set expenses.enabled to true and save it first."}]
    assert world.bc.requests == []


def test_run_now_for_an_unknown_connector_raises_not_found():
    with pytest.raises(ConnectorNotFound):
        World().importer().import_one("no-such-one")


def test_a_completed_run_answers_200_and_a_busy_one_409():
    world = World()
    assert world.run().http_status() == (200, None)
    world.leases.acquire(NAME, "other-run", ttl=world.options.lease_ttl)
    assert world.run().http_status() == (409, None)


def test_a_missing_setting_answers_422_naming_the_field():
    world = World()
    record = world.store.get(NAME)
    record.settings = replace(record.settings, projects_enabled=False, project_dimension=None)
    world.store.update(record)
    summary = world.run()
    assert summary.http_status() == (422, None)
    assert summary.error == {"code": "SettingsInvalid", "field": "projects.dimension", "retryable": False,
                             "message": summary.message}


def test_throttling_answers_503_with_the_wait_bc_asked_for():
    world = World()
    world.bc.fail_next = BcThrottledError("Too many requests.", status=429, code="Application_TooManyRequests",
                                          retry_after=12)
    summary = world.run()
    assert summary.http_status() == (503, {"Retry-After": "12"})
    assert (summary.error["code"], summary.error["retryable"], summary.error["retryAfter"]) == (
        "Application_TooManyRequests", True, 12)


def test_an_unexpected_error_answers_502_without_its_text():
    world = World()
    world.bc.fail_next = KeyError("secret-ish detail")
    summary = world.run()
    assert summary.http_status() == (502, None)
    assert summary.error["code"] == "InternalError" and "secret-ish" not in summary.error["message"]
    assert isinstance(summary.failure, PermanentError)
