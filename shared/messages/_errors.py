"""The one error a message can have: a field that is missing, of the wrong type, or out of BC's bounds."""

from __future__ import annotations

__all__ = ["MessageInvalid"]


class MessageInvalid(ValueError):
    """A queue message cannot be exported as sent: permanent, so the outcome is `failed`, never a retry.

    `field` is the dotted path of the bad value as the host wrote it (`data.lines[2].quantity`), so the
    outcome points at the one thing to fix; `message` says what is wrong in words, without echoing
    long values.
    """

    code = "InvalidMessage"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
