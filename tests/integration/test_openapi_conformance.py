"""Schemathesis against the running app (the dev host over HTTP, on Azurite and the sandbox): for the settings
and connector routes, no answer is a 5xx and every answer matches docs/openapi.yaml (status, content type,
body schema, headers). The dev host, like `func start`, does not enforce function keys, so the check that
an answer without a key is 401/403 (`ignored_auth`) is left out here; in Azure the Functions host enforces
them (docs/openapi.yaml `security`). Also left out: "a schema-valid request is accepted"
(`positive_data_acceptance`): a settings document can follow its schema and still be refused with 422 by
the verification against Business Central (a code that does not exist in the company), which no schema
can express. Bounded: `EXAMPLES` cases per operation, so the run stays under a minute."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from hypothesis import HealthCheck, given, settings

from tests.browser.conftest import app_host  # noqa: F401 - the dev host fixture, reused

pytestmark = pytest.mark.integration

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
EXAMPLES = 25
#: The settings and connector routes (the consent, replay and import routes have tests of their own).
ROUTES = r"^/(health|connectors|connectors/\{name\}|connectors/\{name\}/lookups/\{kind\})$"
CASES: list[str] = []


def _operations():
    schema = schemathesis.openapi.from_path(str(DOCUMENT)).include(path_regex=ROUTES)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("operation", _operations(), ids=lambda op: op.label)
def test_every_answer_of_the_settings_and_connector_routes_matches_the_document(operation, app_host):  # noqa: F811
    host, _worker = app_host

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case):
        CASES.append(operation.label)
        case.call_and_validate(base_url=host.base_url + "/api", timeout=30, excluded_checks=[ignored_auth, positive_data_acceptance])

    before = len(CASES)
    check()
    print(f"schemathesis: {len(CASES) - before} cases for {operation.label}")
