"""The one error tree of the app, grouped by what the caller can do, and the one translation of an error
into what each surface shows (a queue outcome, an HTTP answer, an import summary, a consent page).

    ConnectorError                    root: code, message, field, details (never mutated after raising)
    ├── PermanentError                give up: outcome `failed`, HTTP 4xx/502; `replayable` when replaying
    │   │                             the same message may succeed once a person fixes something in BC or
    │   │                             in the settings (it is NOT a hint to retry automatically)
    │   ├── InvalidInput              the input itself is wrong: a message field, a setting (HTTP 400/422)
    │   ├── NotFound                  the thing named does not exist (HTTP 404)
    │   └── ConfigurationError        an app setting is missing or unusable (HTTP 500, names the setting)
    ├── TransientError                not now: the queue redelivers, HTTP 503 with Retry-After; `retry_after`
    │                                 in seconds when the service said how long (BC's or Entra's Retry-After)
    ├── ReconnectRequired             the grant is gone: connector `reconnect_required`, message `parked`
    └── ConflictError                 someone else changed the same row first: re-read and decide again
                                      (`shared.guarded.guarded_update`), or HTTP 409

Errors of Business Central, Entra ID, Table Storage and Key Vault are translated into this tree once, at
the edge of their adapters (`shared.bc`, `shared.auth`, `shared.adapters`); everything above the adapters
sees only these classes. `disposition(err)` is the one place that decides what an error means for each
surface, so a queue outcome, an HTTP status and an import summary never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Mapping

__all__ = [
    "ConnectorError",
    "PermanentError",
    "InvalidInput",
    "NotFound",
    "TooLarge",
    "PreconditionFailed",
    "ConfigurationError",
    "TransientError",
    "ReconnectRequired",
    "ConflictError",
    "Disposition",
    "disposition",
]

JsonScalar = str | int | float | bool | None


class ConnectorError(Exception):
    """Root of every error the app raises on purpose.

    `code` is a stable machine word (BC's or Entra's own code where they gave one), `message` is what a
    person reads, `field` names the input field it is about (dotted path, e.g. `data.lines[2].quantity`
    or `customers.domestic.genBusPostingGroup`), `details` carries ids for support (BC request id,
    correlation id, status). Attributes are set once, in the constructor.
    """

    default_code = "Error"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: Mapping[str, JsonScalar] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.details: dict[str, JsonScalar] = dict(details or {})

    def __str__(self) -> str:
        return self.message

    def to_error(self) -> dict[str, JsonScalar]:
        """The `error` object of an outcome or summary: `{code, message, field, retryable}` (contract)."""
        return {"code": self.code, "message": self.message, "field": self.field,
                "retryable": disposition(self).replayable}


class PermanentError(ConnectorError):
    """Retrying the same call cannot help. `replayable`: a replay may succeed after a person fixes the
    cause (publish a web service, enable an export, correct a posting group); False when the message or
    request itself must change."""

    default_code = "Failed"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: Mapping[str, JsonScalar] | None = None, replayable: bool = False) -> None:
        super().__init__(message, code=code, field=field, details=details)
        self.replayable = replayable


class InvalidInput(PermanentError):
    """The input is wrong as sent (a message field, a settings field, a request parameter)."""

    default_code = "InvalidInput"


class TooLarge(InvalidInput):
    """The input would not fit where it is kept (a stored row over Table Storage's limits): HTTP 413.
    `fields` names the biggest parts, largest first, so the person knows what to shorten."""

    default_code = "TooLarge"

    def __init__(self, message: str, *, fields: tuple[str, ...], code: str | None = None) -> None:
        super().__init__(message, code=code, field=fields[0] if fields else None)
        self.fields = fields


class NotFound(PermanentError):
    """What the request names does not exist (a connector, a look-up kind)."""

    default_code = "NotFound"


class ConfigurationError(PermanentError):
    """An app setting is missing or invalid; the message names the setting and the fix."""

    default_code = "ConfigurationError"


class TransientError(ConnectorError):
    """Not now: try again later. `retry_after` is the service's own wait in seconds, when it gave one."""

    default_code = "Unavailable"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: Mapping[str, JsonScalar] | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, code=code, field=field, details=details)
        self.retry_after = retry_after


class ReconnectRequired(ConnectorError):
    """The delegated grant is gone (revoked, expired, consent missing): reconnect, then replay."""

    default_code = "ReconnectRequired"


class ConflictError(ConnectorError):
    """Someone else changed the same row first (its ETag moved), or the row already exists."""

    default_code = "Conflict"


class PreconditionFailed(ConflictError):
    """A request's condition (`If-Match`, `If-None-Match`) does not hold for the row as stored: HTTP 412."""

    default_code = "PreconditionFailed"


Action = Literal["failed", "retry", "parked", "conflict"]

#: Seconds a caller is told to wait when the service gave no Retry-After.
DEFAULT_RETRY_AFTER = 30


@dataclass(frozen=True)
class Disposition:
    """What an error means on every surface.

    action       queue: `failed` (outcome, message completed), `retry` (raise: the queue redelivers),
                 `parked` (outcome parked, replayed after reconnecting), `conflict` (retry, like `retry`)
    http_status  the HTTP answer of a route that ran into it
    replayable   the outcome's `retryable` (contract): replaying the message later may succeed
    retry_after  seconds, for `retry` (HTTP Retry-After)
    """

    action: Action
    http_status: int
    replayable: bool
    retry_after: int | None = None


def disposition(err: BaseException) -> Disposition:
    """The one translation of an error into outcome, HTTP status and replayability.

    Anything outside the tree is a bug, not a decision: it maps to `retry` / 500 so the queue keeps the
    message (the poison trigger records it after the last delivery) and nothing is lost.
    """
    if isinstance(err, TooLarge):
        return Disposition("failed", 413, err.replayable)
    if isinstance(err, InvalidInput):
        return Disposition("failed", 422 if err.field and not err.field.startswith("(") else 400,
                           err.replayable)
    if isinstance(err, NotFound):
        return Disposition("failed", 404, err.replayable)
    if isinstance(err, ConfigurationError):
        return Disposition("failed", 500, True)
    if isinstance(err, PermanentError):
        return Disposition("failed", 502, err.replayable)
    if isinstance(err, TransientError):
        seconds = max(1, int(err.retry_after)) if err.retry_after else DEFAULT_RETRY_AFTER
        return Disposition("retry", 503, True, seconds)
    if isinstance(err, ReconnectRequired):
        return Disposition("parked", 409, True)
    if isinstance(err, PreconditionFailed):
        return Disposition("failed", 412, False)
    if isinstance(err, ConflictError):
        return Disposition("conflict", 409, True)
    return Disposition("retry", 500, True, DEFAULT_RETRY_AFTER)
