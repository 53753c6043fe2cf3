"""What an export can end in besides success, as classes of the app's error tree (`shared.errors`).

    ExportFailed   PermanentError: outcome `failed` with code, message, field; notification; the ledger
                   keeps the message for replay. Carries what BC already has when part of the work was done.
    ClaimBusy      TransientError: another worker holds the entity's ledger claim; the queue redelivers.

`translate(exc)` is the one place where errors from outside the tree (Business Central's, Entra's, a
stored settings document that no longer parses, a message that does not parse) become tree errors for the export; `ExportService`
then decides what happens to the message with `shared.errors.disposition` alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from shared.auth import TokenError
from shared.bc import BcError, BcPermanentError
from shared.connectors import SettingsInvalid
from shared.errors import PermanentError, TransientError
from shared.jsontypes import JsonObject, JsonValue
from shared.messages import MessageInvalid

__all__ = ["ExportFailed", "ClaimBusy", "BcHas", "failed_from_bc", "attribute_field", "translate",
           "Candidate"]

JsonScalar = str | int | float | bool | None
#: (host field, words that name it in BC's texts, the value we sent) for attributing BC's errors.
Candidate = tuple[str, Sequence[str], JsonValue]


@dataclass(frozen=True)
class BcHas:
    """What BC already holds of an entity when its export failed half way (an invoice created, its posting
    refused): reported in the outcome's `bc` and kept on the ledger row."""

    id: str | None = None
    number: str | None = None

    def or_else(self, other: "BcHas") -> "BcHas":
        return self if self.id or self.number else other


class ExportFailed(PermanentError):
    """The message cannot be exported as it is: retrying the same message cannot help.

    `replayable`: replaying it after a person fixes something (a setting, BC data) may succeed.
    `bc`: what BC already holds. `ledger_details`: facts to merge into the ledger row's details (an
    invoice's posted state). `recorded_for`: (type, host id) of the ledger row that already records
    this failure, so it is not recorded twice. All set once, in the constructor: a changed view of a
    failure is a new error raised `from` the old (`with_bc`, `recorded`).
    """

    default_code = "Failed"

    def __init__(self, code: str, message: str, field: str | None = None, *, replayable: bool = False,
                 bc: BcHas = BcHas(), details: Mapping[str, JsonScalar] | None = None,
                 ledger_details: JsonObject | None = None, recorded_for: tuple[str, str] | None = None) -> None:
        super().__init__(message, code=code, field=field, details=details, replayable=replayable)
        self.bc = bc
        self.ledger_details: JsonObject = dict(ledger_details or {})
        self.recorded_for = recorded_for

    def _copy(self, *, bc: BcHas | None = None, recorded_for: tuple[str, str] | None = None) -> "ExportFailed":
        return ExportFailed(self.code, self.message, self.field, replayable=self.replayable,
                            bc=bc if bc is not None else self.bc, details=self.details,
                            ledger_details=self.ledger_details,
                            recorded_for=recorded_for if recorded_for is not None else self.recorded_for)

    def with_bc(self, bc: BcHas) -> "ExportFailed":
        """The same failure, saying what BC holds when this error did not know it yet."""
        return self._copy(bc=self.bc.or_else(bc))

    def recorded(self, kind: str, host_id: str) -> "ExportFailed":
        """The same failure, already written to the ledger row of (kind, host id)."""
        return self._copy(recorded_for=(kind, host_id))


class ClaimBusy(TransientError):
    """Another worker is exporting the same entity right now (its ledger claim is fresh)."""

    default_code = "ClaimBusy"



def failed_from_bc(err: BcError, field: str | None, *, bc: BcHas = BcHas(), replayable: bool = False,
                   prefix: str = "", ledger_details: JsonObject | None = None) -> ExportFailed:
    """An ExportFailed carrying BC's own code and message (without the correlation suffix); `prefix` says
    what had been done before BC refused."""
    details = {k: v for k, v in (("correlationId", err.correlation_id), ("requestId", err.request_id),
                                  ("status", err.status)) if v}
    message = err.message or str(err)
    if err.hint and err.hint not in message:
        message = f"{message} {err.hint}"
    return ExportFailed(err.code or type(err).__name__, prefix + message, field, replayable=replayable, bc=bc,
                        details=details, ledger_details=ledger_details)


def translate(exc: BaseException) -> BaseException:
    """The tree error an export failure stands for: BC's and Entra's refusals become `ExportFailed` with
    the field they are about; other tree errors (transient ones, a revoked grant) are returned as they
    are, and `disposition` decides what happens to the message."""
    if isinstance(exc, MessageInvalid):
        return ExportFailed(exc.code, exc.message, exc.field)
    if isinstance(exc, ExportFailed):
        return exc
    if isinstance(exc, BcPermanentError):
        return failed_from_bc(exc, None)
    if isinstance(exc, SettingsInvalid):
        first = exc.errors[0] if exc.errors else None
        return ExportFailed("SettingsInvalid", first.message if first else str(exc), first.field if first else None,
                            replayable=True)
    if isinstance(exc, TokenError) and isinstance(exc, PermanentError):
        return ExportFailed(type(exc).__name__, str(exc), "auth", replayable=True)
    return exc


_WORD = re.compile(r"[A-Za-z0-9]")


def attribute_field(message: str, candidates: Iterable[Candidate], default: str | None) -> str | None:
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
