"""The host's modification stamp of an entity (docs/contract.md §4): an integer or an ISO-8601 date-time.

A message older than what the ledger already applied is acknowledged as `unchanged`. Stamps of two
different kinds (an integer against a date-time) cannot be ordered; they are treated as "not older", so
the content hash decides, rather than dropping a change.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass

from shared.jsontypes import JsonValue

__all__ = ["Version"]

_DIGITS = re.compile(r"[+-]?[0-9]{1,30}")
_MAX_TEXT = 64


@dataclass(frozen=True)
class Version:
    """One parsed stamp. `raw` is what the host sent (echoed in the outcome); `text` is how it is stored."""

    raw: int | str
    kind: str  # "int" | "time"
    value: int | _dt.datetime  # an aware datetime in UTC for "time"

    @classmethod
    def parse(cls, raw: JsonValue) -> "Version":
        """Raises ValueError with a reason a person can act on."""
        if isinstance(raw, bool) or raw is None:
            raise ValueError("must be an integer or an ISO-8601 date-time such as 2026-11-20T10:15:00Z")
        if isinstance(raw, int):
            return cls(raw, "int", raw)
        if isinstance(raw, float):
            if raw.is_integer():
                return cls(int(raw), "int", int(raw))
            raise ValueError("must be a whole number or an ISO-8601 date-time, not a fraction")
        if not isinstance(raw, str):
            raise ValueError("must be an integer or an ISO-8601 date-time such as 2026-11-20T10:15:00Z")
        text = raw.strip()
        if not text or len(text) > _MAX_TEXT:
            raise ValueError("must be an integer or an ISO-8601 date-time such as 2026-11-20T10:15:00Z")
        if _DIGITS.fullmatch(text):
            return cls(raw, "int", int(text))
        try:
            moment = _dt.datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"'{text[:40]}' is neither an integer nor an ISO-8601 date-time such as "
                             "2026-11-20T10:15:00Z") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=_dt.timezone.utc)  # a stamp without zone is taken as UTC
        try:
            utc = moment.astimezone(_dt.timezone.utc)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first instant Python can hold in UTC
            raise ValueError(f"'{text[:40]}' lies outside the years 1 to 9999 once converted to UTC") from None
        return cls(raw, "time", utc)

    @classmethod
    def from_text(cls, text: str | None) -> "Version | None":
        """The stored form back; None for rows written without a version (snapshots)."""
        if not text:
            return None
        try:
            return cls.parse(json.loads(text))
        except ValueError:
            return None

    @property
    def text(self) -> str:
        return json.dumps(self.raw)

    def is_older_than(self, other: "Version | None") -> bool:
        if other is None or other.kind != self.kind:
            return False
        return bool(self.value < other.value)

    def is_newer_than(self, other: "Version | None") -> bool:
        if other is None:
            return True
        if other.kind != self.kind:
            return False
        return bool(self.value > other.value)
