"""What one import run did: counts per source, status, error; shown in the HTTP answer, the connector's
stats (`GET /connectors/{name}`, key `expenseImport`) and the log.

Counts are per entry (a document line or a G/L entry): `read` = `sent` + every `skipped` reason +
`unknownProjects`.

Statuses: `completed` (read up to BC's newest), `partial` (the time budget ran out; the next run
continues), `busy` (another run holds the lease), `skipped` (the connector needs reconnecting or its
consent), `reconnect_required` (the grant was revoked during this run), `failed`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SourceCounts", "ImportSummary", "SKIP_REASONS"]

#: Why an entry read was not sent.
SKIP_REASONS = (
    "alreadyImported",  # its document or entry number was processed before (overlap, or modified later)
    "notPosted",  # a line of a draft document
    "comment",  # a comment line: no amount
    "noProject",  # no value of the project dimension on the line (nor its document) or the entry
    "notExpenseAccount",  # a G/L entry on an account outside the expense categories (README)
    "zeroAmount",
    "beforeFromDate",
)
MAX_LISTED_VALUES = 20


@dataclass
class SourceCounts:
    read: int = 0
    sent: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown: Counter = field(default_factory=Counter)  # dimension value -> entries
    pages: int = 0
    finished: bool = False
    cursor: str = ""

    @property
    def unknown_projects(self) -> int:
        return sum(self.unknown.values())

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "sent": self.sent, "skipped": sum(self.skipped.values()),
                "skippedBy": dict(sorted(self.skipped.items())), "unknownProjects": self.unknown_projects,
                "pages": self.pages, "finished": self.finished, "cursor": self.cursor}


@dataclass
class ImportSummary:
    connector: str
    source: str = ""
    status: str = "completed"
    started_at: str = ""
    finished_at: str = ""
    duration_ms: int = 0
    sources: dict[str, SourceCounts] = field(default_factory=dict)
    message: str = ""
    error: dict[str, Any] | None = None

    def counts(self, source: str) -> SourceCounts:
        return self.sources.setdefault(source, SourceCounts())

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.sources.values())

    @property
    def skipped(self) -> int:
        return sum(sum(c.skipped.values()) for c in self.sources.values())

    @property
    def unknown_values(self) -> Counter:
        out: Counter = Counter()
        for c in self.sources.values():
            out.update(c.unknown)
        return out

    def to_dict(self) -> dict[str, Any]:
        unknown = self.unknown_values
        return {
            "connector": self.connector,
            "status": self.status,
            "source": self.source,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "durationMs": self.duration_ms,
            "read": self.total("read"),
            "sent": self.total("sent"),
            "skipped": self.skipped,
            "unknownProjects": sum(unknown.values()),
            "unknownProjectValues": sorted(unknown)[:MAX_LISTED_VALUES],
            "sources": {name: counts.to_dict() for name, counts in self.sources.items()},
            "message": self.message,
            "error": self.error,
        }

    def log_line(self) -> tuple[str, tuple[Any, ...]]:
        """A `%s` log message and its arguments (no f-strings in log calls)."""
        return ("Expense import of connector %s %s: %d read, %d sent, %d skipped, %d on unknown projects, "
                "%d ms. %s", (self.connector, self.status, self.total("read"), self.total("sent"), self.skipped,
                              sum(self.unknown_values.values()), self.duration_ms, self.message))
