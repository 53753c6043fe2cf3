"""The one error a message can have: a field that is missing, of the wrong type, or out of BC's bounds."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from shared.errors import InvalidInput

__all__ = ["MessageInvalid", "unforeseen"]

log = logging.getLogger(__name__)


class MessageInvalid(InvalidInput):
    """A queue message cannot be exported as sent: permanent, so the outcome is `failed`, never a retry
    (and not replayable: the host has to send a corrected message).

    `field` is the dotted path of the bad value as the host wrote it (`data.lines[2].quantity`, or
    `(message)` for the text as a whole), so the outcome points at the one thing to fix; `message` says
    what is wrong in words, without echoing long values. `code` is `InvalidMessage` unless a more specific
    word helps the host (`NegativeInvoiceTotal`); every code of this class means "send a corrected message".
    """

    default_code = "InvalidMessage"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message, field=field, code=code)
        self.field: str = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@contextmanager
def unforeseen(field: str) -> Iterator[None]:
    """Turn a failure the parsers did not foresee (a parser bug met by odd content) into MessageInvalid of
    `field`: the content caused it, so retrying cannot help. Logged with its traceback, to be fixed."""
    try:
        yield
    except MessageInvalid:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure of a pure parser is about the text it was given
        log.exception("A message could not be parsed (%s): %s", field, type(exc).__name__)
        raise MessageInvalid(field, f"could not be read ({type(exc).__name__}); correct the message and send it "
                                    "again") from None
