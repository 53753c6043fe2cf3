"""The run summary on the connector (`stats.expenseImport`, shown by `GET /connectors/{name}`) and the
notifications of an import.

The connector row is also written by saves and status changes, so the stats update is ETag-guarded and
retried on a conflict: re-read, change only `expenseImport`, write again. The failure streak lives there
too: `import_failed` goes out when a streak starts (the first failed run after a success), not for every
failed run of the streak.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any, Callable

from shared.clock import iso
from shared.connectors import ConnectorSettings, ConnectorStore
from shared.errors import ConflictError

from ._summary import MAX_LISTED_VALUES, ImportSummary

__all__ = ["record_summary", "failure_notification", "unknown_projects_notification", "STATS_KEY"]

log = logging.getLogger(__name__)

STATS_KEY = "expenseImport"
_MAX_ATTEMPTS = 8


def record_summary(store: ConnectorStore, name: str, summary: ImportSummary) -> bool:
    """Write `summary` into the connector's stats. True when this run starts a failure streak."""
    for _ in range(_MAX_ATTEMPTS):
        record = store.get(name)
        if record is None:
            return False
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
        try:
            store.update(record)
        except ConflictError:
            continue
        return summary.status == "failed" and streak == 1
    log.warning("Connector %s: gave up writing the expense import summary after %d conflicting updates", name,
                _MAX_ATTEMPTS)
    return False


def _recipients(settings: ConnectorSettings) -> list[str]:
    return list(settings.notification_recipients)


def failure_notification(name: str, settings: ConnectorSettings, summary: ImportSummary,
                         now: Callable[[], _dt.datetime]) -> dict[str, Any]:
    error = summary.error or {}
    return {
        "connector": name,
        "event": "import_failed",
        "severity": "error",
        "message": (f"The expense import of connector '{name}' failed: {error.get('message', 'unknown error')} "
                    "It is retried at every scheduled run; you are told again only after it has worked once."),
        "recipients": _recipients(settings),
        "details": {"reason": "run_failed", "error": error, "summary": summary.to_dict()},
        "at": iso(now(), timespec="seconds"),
    }


def unknown_projects_notification(name: str, settings: ConnectorSettings, dimension: str, values: dict[str, dict],
                                  now: Callable[[], _dt.datetime]) -> dict[str, Any]:
    listed = sorted(values)[:MAX_LISTED_VALUES]
    shown = ", ".join(f"{v} ({values[v].get('lines', 0)} so far)" for v in listed)
    return {
        "connector": name,
        "event": "import_failed",
        "severity": "warning",
        "message": (f"Expenses posted in Business Central on {dimension} value(s) {shown} were not imported: no "
                    f"host project of connector '{name}' is exported as that value. If it is a host project, "
                    "export it (its number becomes the value): expenses posted on it afterwards are imported, "
                    "those already read are not. Otherwise correct the postings in BC. Reported once per value."),
        "recipients": _recipients(settings),
        "details": {"reason": "unknown_projects", "dimension": dimension,
                    "values": {v: values[v] for v in listed}},
        "at": iso(now(), timespec="seconds"),
    }
