"""Read, decide, write if nothing changed meanwhile: the one conditional-update loop of the app.

Table Storage rows are updated with their ETag (`match_condition=IfNotModified`); when another worker
wrote first, the write raises `ConflictError` and the loop reads the row again and decides again with
what is there now (Azure SDK design guidelines, "Conditional request methods"). Every store that guards a
row with its ETag uses this loop instead of writing its own.

    def decide(row: Row | None) -> Row | None:      # None: nothing to write (already done, or gone)
        ...
    result = guarded_update(lambda: store.get(key), decide, store.replace)
"""

from __future__ import annotations

import logging
from typing import Callable, TypeVar

from shared.errors import ConflictError

__all__ = ["guarded_update", "DEFAULT_ATTEMPTS"]

log = logging.getLogger(__name__)

Current = TypeVar("Current")
Change = TypeVar("Change")
Written = TypeVar("Written")

#: Conflicts come from a handful of workers touching one row at once; after this many rounds something
#: else is wrong (a hot row), and the caller's own failure handling (queue retry, HTTP 409) takes over.
DEFAULT_ATTEMPTS = 8


def guarded_update(read: Callable[[], Current], decide: Callable[[Current], Change | None],
                   write: Callable[[Change], Written], *, attempts: int = DEFAULT_ATTEMPTS,
                   what: str = "row") -> Written | None:
    """Run read → decide → write until a write succeeds or `decide` says there is nothing to write.

    `decide` gets the current state (None when absent, if `read` returns None) and returns the change
    to write, or None for "nothing to do" (then `guarded_update` returns None). `write` must raise
    `ConflictError` when the state it was decided on is no longer current (its ETag moved). Raises
    ConflictError after `attempts` lost rounds.
    """
    for attempt in range(1, attempts + 1):
        change = decide(read())
        if change is None:
            return None
        try:
            return write(change)
        except ConflictError:
            log.debug("%s changed meanwhile (round %d of %d): reading it again", what, attempt, attempts)
    raise ConflictError(f"The {what} kept changing while it was being updated ({attempts} rounds); "
                        "try again.")
