"""The app's deferred copy of an export message (docs/contract.md §4, "Deferred copies").

When a BC user's request budget is used up, the export functions put the message back on its queue with a
visibility delay. The copy is wrapped, so the worker that receives it can tell work *returning* at the time
the budget promised it from *new* work, which has to queue behind every deferred message of that BC user:

    {"deferral":{"returnAt":"2026-12-07T08:00:01.300Z","code":"BudgetExhausted"},"message":"<the text as sent>"}

`message` is the host's text byte for byte (the ledger, outcomes and replays only ever see that). Pure.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass

from ._envelope import MAX_MESSAGE_CHARS

__all__ = ["Received", "wrap_deferred", "unwrap_deferred"]

_PREFIX = '{"deferral":'


@dataclass(frozen=True)
class Received:
    """A queue message's text as the host sent it, and whether it is the app's deferred copy of it."""

    text: str
    deferred: bool = False


def wrap_deferred(text: str, *, return_at: _dt.datetime, code: str) -> str:
    """The deferred copy of `text`. A copy that would not fit in a queue message (the host's text was close
    to 64 KiB) is the text itself: it then comes back as new work, at worst deferred once more."""
    stamp = return_at.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    wrapped = (_PREFIX + json.dumps({"returnAt": stamp, "code": code}, separators=(",", ":"))
               + ',"message":' + json.dumps(text, ensure_ascii=False) + "}")
    return wrapped if len(wrapped) <= MAX_MESSAGE_CHARS else text


def unwrap_deferred(text: str) -> Received:
    """The host's text of a queue message, and whether this was a deferred copy of it. Any other text, the
    host's own or not even JSON, comes back unchanged (the message parser judges it)."""
    if not text.startswith(_PREFIX):
        return Received(text)
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return Received(text)
    if not isinstance(document, dict) or set(document) != {"deferral", "message"} \
            or not isinstance(document["deferral"], dict) or not isinstance(document["message"], str):
        return Received(text)
    return Received(document["message"], deferred=True)
