"""What an export can end in besides success, grouped by what happens to the message.

    ExportFailed      permanent: outcome `failed` with code, message, field; notification; message completed
    ExportTransient   try again later: the function raises so the queue redelivers (ClaimBusy, GateBusy)

Business Central's own errors (`shared.bc.BcError`) and Entra's (`shared.auth.TokenError`) are turned
into these in one place (`_export.py`); `ReconnectRequiredError` parks the message instead.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

__all__ = ["ExportFailed", "ExportTransient", "ClaimBusy", "failed_from_bc", "attribute_field"]


class ExportFailed(Exception):
    """The message cannot be exported as it is: retrying the same message cannot help."""

    def __init__(self, code: str, message: str, field: str | None = None, *, retryable: bool = False,
                 bc_id: str | None = None, bc_number: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}" + (f" ({field})" if field else ""))
        self.code = code
        self.message = message
        self.field = field
        #: Whether replaying the message later may succeed (after the operator fixes something).
        self.retryable = retryable
        #: What BC already has, when part of the work was done (an invoice created, its posting refused).
        self.bc_id = bc_id
        self.bc_number = bc_number
        self.details = details or {}
        #: (type, host id) of the ledger row that already records this failure.
        self.recorded_for: tuple[str, str] | None = None

    def error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "field": self.field, "retryable": self.retryable}


class ExportTransient(Exception):
    """Not now: raise so the queue redelivers the message after its visibility timeout."""

    retryable = True


class ClaimBusy(ExportTransient):
    """Another worker is exporting the same entity right now (its ledger claim is fresh)."""


def failed_from_bc(err: Any, field: str | None, *, bc_id: str | None = None,
                   bc_number: str | None = None) -> ExportFailed:
    """An ExportFailed carrying BC's own code and message (without the correlation suffix)."""
    details = {k: v for k, v in (("correlationId", getattr(err, "correlation_id", None)),
                                  ("requestId", getattr(err, "request_id", None)),
                                  ("status", getattr(err, "status", None))) if v}
    message = getattr(err, "message", None) or str(err)
    hint = getattr(err, "hint", None)
    if hint and hint not in message:
        message = f"{message} {hint}"
    return ExportFailed(getattr(err, "code", None) or type(err).__name__, message, field,
                        bc_id=bc_id, bc_number=bc_number, details=details)


_WORD = re.compile(r"[A-Za-z0-9]")


def attribute_field(message: str, candidates: Iterable[tuple[str, Sequence[str], Any]],
                    default: str | None) -> str | None:
    """The host field a BC error message is about.

    `candidates` are (host field, words that name it in BC's texts, the value we sent). BC's messages
    name the API field in quotes ('The "currencyCode" does not match to a Currency.'), the table field
    by caption ('The field Gen. Bus. Posting Group of table Customer contains a value (X) …') or quote
    the value; the first candidate named wins, then the first whose value is quoted.
    """
    items = list(candidates)
    for field, names, _ in items:
        if any(name and name in message for name in names):
            return field
    for field, _, value in items:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            text = str(value)
            if len(text) >= 2 and _WORD.search(text) and any(
                    form in message for form in (f"({text})", f"'{text}'", f'"{text}"', f"={text}")):
                return field
    for field, _, value in items:
        # "Dimension Value PROJECT - P-0999 is blocked.": the value as a word of its own.
        if isinstance(value, str) and len(value) >= 3 and _WORD.search(value) and re.search(
                r"(?<![\w-])" + re.escape(value) + r"(?![\w-])", message):
            return field
    return default
