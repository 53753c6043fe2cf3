"""Application Insights accepts Entra-authenticated telemetry only, and the alerts match what the code logs."""

from __future__ import annotations

import re

from tests.infra import _code, _templates

APP = _templates.INFRA / "app"
ALERT = "Microsoft.Insights/scheduledQueryRules"


def _queries() -> dict[str, str]:
    rules = _templates.parse(APP / "alerts.bicep")["resources"]
    return {name: _templates.resource_body(rule)["properties"]["criteria"]["allOf"][0]["query"]
            for name, rule in rules.items() if rule["type"] == ALERT}


def test_application_insights_and_log_analytics_refuse_local_auth() -> None:
    insights = _templates.resource_body(_templates.resources(APP / "monitoring.bicep", "Microsoft.Insights/components")[0])
    workspace = _templates.resource_body(
        _templates.resources(APP / "monitoring.bicep", "Microsoft.OperationalInsights/workspaces")[0])
    assert insights["properties"]["DisableLocalAuth"] is True
    assert workspace["properties"]["features"]["disableLocalAuth"] is True


def test_there_is_an_alert_for_exhausted_retries_reconnects_and_expense_import_streaks() -> None:
    assert set(_queries()) == {"retriesExhausted", "reconnectRequired", "expenseImportStreak"}


def test_every_message_text_an_alert_matches_is_written_by_the_code() -> None:
    # The alerts match today's log texts; a reworded log line must come with a reworded alert.
    written = _code.log_format_strings()
    for name, query in _queries().items():
        fragments = re.findall(r'(?:startswith|has) "([^"]+)"', query)
        assert fragments, name
        unmatched = [f for f in fragments if f != "-poison" and not any(f in text for text in written)]
        assert unmatched == [], name


def test_the_poison_alert_matches_every_poison_queue_of_the_contract() -> None:
    poison = [q for q in _code.module_level_literal("QUEUES").values() if q.endswith("-poison")]
    assert poison and '"-poison"' in _queries()["retriesExhausted"]
