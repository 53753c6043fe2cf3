"""The one error a message can have: a field that is missing, of the wrong type, or out of BC's bounds."""

from __future__ import annotations

from shared.errors import InvalidInput

__all__ = ["MessageInvalid"]


class MessageInvalid(InvalidInput):
    """A queue message cannot be exported as sent: permanent, so the outcome is `failed`, never a retry
    (and not replayable: the host has to send a corrected message).

    `field` is the dotted path of the bad value as the host wrote it (`data.lines[2].quantity`, or
    `(message)` for the text as a whole), so the outcome points at the one thing to fix; `message` says
    what is wrong in words, without echoing long values.
    """

    default_code = "InvalidMessage"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field: str = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
