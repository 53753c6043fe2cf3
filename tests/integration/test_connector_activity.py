"""Export activity counts every outcome even when workers finish at the same moment."""

from __future__ import annotations

import threading

from shared.adapters import ensure_table, table_service_from_settings
from shared.adapters.activity import TableActivityLog


def test_concurrent_outcomes_are_all_counted(azurite, unique_suffix):
    table = ensure_table(table_service_from_settings({"AzureWebJobsStorage": azurite})
                         .get_table_client(f"Activity{unique_suffix}"))
    outcomes = [{"connector": "acme", "type": "invoice", "id": f"INV-{i}", "status": "created",
                 "completedAt": f"2026-11-23T10:00:{i:02d}Z"} for i in range(4)]
    log = TableActivityLog(lambda: table)
    threads = [threading.Thread(target=log.record_export_outcome, args=(o,)) for o in outcomes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = log.read("acme")["lastExports"]["invoice"]["counts"]
    assert counts["created"] == 4


def test_an_outcome_without_a_connector_or_known_status_is_ignored(azurite, unique_suffix):
    table = ensure_table(table_service_from_settings({"AzureWebJobsStorage": azurite})
                         .get_table_client(f"Activity{unique_suffix}"))
    log = TableActivityLog(lambda: table)
    log.record_export_outcome({"connector": None, "type": "invoice", "status": "created"})
    log.record_export_outcome({"connector": "acme", "type": "invoice", "status": "exploded"})
    assert log.read("acme") == {}
