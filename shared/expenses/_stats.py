"""The run summary on the connector (`stats.expenseImport`, shown by `GET /connectors/{name}`) and the
notifications of an import.

The connector row is also written by saves and status changes, so the stats are written with
`guarded_update`: re-read, change only `expenseImport`, write if the row did not change meanwhile. The
failure streak lives there too: `import_failed` goes out when a streak starts (the first failed run after
a success), not for every failed run of the streak.
"""

from __future__ import annotations

import datetime as _dt
import logging
from collections.abc import Mapping

from shared.connectors import ConnectorRecord, ConnectorStore
from shared.errors import ConflictError
from shared.guarded import guarded_update
from shared.jsontypes import JsonObject
from shared.messages import notification

from ._summary import MAX_LISTED_VALUES, ImportSummary

__all__ = ["record_summary", "failure_notification", "unknown_projects_notification", "STATS_KEY"]

log = logging.getLogger(__name__)

STATS_KEY = "expenseImport"


def record_summary(store: ConnectorStore, name: str, summary: ImportSummary) -> bool:
    """Write `summary` into the connector's stats. True when this run starts a failure streak."""
    starts: list[bool] = []

    def decide(record: ConnectorRecord | None) -> ConnectorRecord | None:
        if record is None:
            return None  # deleted meanwhile: nothing to keep the summary on
        stats = dict(record.stats or {})
        previous = stats.get(STATS_KEY) or {}
        streak = int(previous.get("failureStreak", 0))
        last_success = previous.get("lastSuccessAt")
        if summary.status == "failed":
            streak += 1
        elif summary.status in ("completed", "partial"):
            streak, last_success = 0, summary.finished_at
        entry = summary.to_dict()
        entry.pop("connector", None)
        entry.update({"failureStreak": streak, "lastSuccessAt": last_success})
        stats[STATS_KEY] = entry
        record.stats = stats
        starts[:] = [summary.status == "failed" and streak == 1]
        return record

    try:
        written = guarded_update(lambda: store.get(name), decide, store.update, what=f"connector {name}")
    except ConflictError:
        log.warning("Connector %s: gave up writing the expense import summary after conflicting updates", name)
        return False
    return written is not None and starts == [True]


def failure_notification(name: str, recipients: tuple[str, ...], summary: ImportSummary,
                         at: _dt.datetime) -> JsonObject:
    error = summary.error or {}
    return notification(
        connector=name, event="import_failed", severity="error",
        message=(f"The expense import of connector '{name}' failed: {error.get('message', 'unknown error')} "
                 "It is retried at every scheduled run; you are told again only after it has worked once."),
        recipients=recipients, details={"reason": "run_failed", "error": error, "summary": summary.to_dict()},
        at=at, timespec="seconds")


def unknown_projects_notification(name: str, recipients: tuple[str, ...], dimension: str,
                                  values: Mapping[str, JsonObject], at: _dt.datetime) -> JsonObject:
    listed = sorted(values)[:MAX_LISTED_VALUES]
    shown = ", ".join(f"{v} ({values[v].get('lines', 0)} so far)" for v in listed)
    return notification(
        connector=name, event="import_failed", severity="warning",
        message=(f"Expenses posted in Business Central on {dimension} value(s) {shown} were not imported: no "
                 f"host project of connector '{name}' is exported as that value. If it is a host project, "
                 "export it (its number becomes the value): expenses posted on it afterwards are imported, "
                 "those already read are not. Otherwise correct the postings in BC. Reported once per value."),
        recipients=recipients,
        details={"reason": "unknown_projects", "dimension": dimension, "values": {v: values[v] for v in listed}},
        at=at, timespec="seconds")
