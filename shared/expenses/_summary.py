"""What one import run did: counts per source, status, error; shown in the HTTP answer, the connector's
stats (`GET /connectors/{name}`, key `expenseImport`) and the log.

Counts are per entry (a document line or a G/L entry): `read` = `sent` + every `skipped` reason +
`unknownProjects`.

Statuses: `completed` (read up to BC's newest), `partial` (the time budget ran out; the next run
continues), `busy` (another run holds the lease), `skipped` (the connector needs reconnecting or its
consent), `reconnect_required` (the grant was revoked during this run), `failed`.

A run that could not go on keeps the error it ran into (`failure`, in the app's error tree); the summary's
`error` object and its HTTP status are both read off it with `shared.errors.disposition`, so they never
disagree with what the same error means for an export.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from shared.errors import ConnectorError, disposition
from shared.jsontypes import JsonObject

__all__ = ["SourceCounts", "ImportSummary", "SKIP_REASONS", "error_object"]

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
#: The statuses of a run that did what it could (200), and of one that did not start (409).
_DONE = ("completed", "partial")
_NOT_STARTED = ("busy", "skipped", "reconnect_required")


def error_object(err: ConnectorError) -> JsonObject:
    """The summary's `error`: `{code, message, field, retryable}` as in an outcome, plus `retryAfter`
    (seconds) when trying again later can help."""
    out: JsonObject = {**err.to_error()}
    meaning = disposition(err)
    if meaning.action == "retry":
        out["retryAfter"] = meaning.retry_after
    return out


@dataclass
class SourceCounts:
    read: int = 0
    sent: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)  # dimension value -> entries
    pages: int = 0
    finished: bool = False
    cursor: str = ""

    @property
    def unknown_projects(self) -> int:
        return sum(self.unknown.values())

    def to_dict(self) -> JsonObject:
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
    #: Why a `failed` or `reconnect_required` run stopped.
    failure: ConnectorError | None = None

    @property
    def error(self) -> JsonObject | None:
        return error_object(self.failure) if self.failure is not None else None

    def http_status(self) -> tuple[int, dict[str, str] | None]:
        """The status (and headers) of the "run now" answer: 200 completed/partial; 409 busy, skipped,
        reconnect_required; a failed run answers what its error means on HTTP (`disposition`): 422 for a
        setting, 503 with Retry-After when trying again later can help, 502 when BC refused."""
        if self.status in _DONE:
            return 200, None
        if self.status in _NOT_STARTED or self.failure is None:
            return 409, None
        meaning = disposition(self.failure)
        if meaning.action == "retry":
            return meaning.http_status, {"Retry-After": str(meaning.retry_after)}
        return meaning.http_status, None

    def counts(self, source: str) -> SourceCounts:
        return self.sources.setdefault(source, SourceCounts())

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.sources.values())

    @property
    def skipped(self) -> int:
        return sum(sum(c.skipped.values()) for c in self.sources.values())

    @property
    def unknown_values(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for c in self.sources.values():
            out.update(c.unknown)
        return out

    def to_dict(self) -> JsonObject:
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

    def log_line(self) -> tuple[str, tuple[str | int, ...]]:
        """A `%s` log message and its arguments (no f-strings in log calls)."""
        return ("Expense import of connector %s %s: %d read, %d sent, %d skipped, %d on unknown projects, "
                "%d ms. %s", (self.connector, self.status, self.total("read"), self.total("sent"), self.skipped,
                              sum(self.unknown_values.values()), self.duration_ms, self.message))
