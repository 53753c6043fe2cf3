"""How an import run ends when it cannot go on, in the app's error tree (`shared.errors`), and the one
translation of whatever a run ran into into that tree, so the summary, its HTTP status and the failure
notification are all read off one `ConnectorError` (`disposition`).
"""

from __future__ import annotations

from shared.adapters import LeaseLost
from shared.errors import ConnectorError, PermanentError, TransientError

__all__ = ["OutOfTime", "OutOfOrder", "StorageUnavailable", "as_connector_error"]


class OutOfTime(TransientError):
    """The time budget is spent: the run stops before reading another page (`partial`); the next run
    continues where it stopped."""

    default_code = "OutOfTime"


class OutOfOrder(PermanentError):
    """BC answered rows out of the order the read asked for: page-wise progress would skip rows, so the
    run stops before sending them (unsorted data is never guessed at)."""

    default_code = "OutOfOrder"


class StorageUnavailable(TransientError):
    """Azure Storage could not be reached or refused a write: the page was not recorded; the next run
    reads it again."""


def as_connector_error(err: Exception) -> ConnectorError:
    """`err` in the error tree, as the run's summary reports it: a lost lease means another run took over
    (try again later); storage failures outside the tree mean the page was not recorded; anything else
    unforeseen stops the run without its text reaching the answer."""
    if isinstance(err, LeaseLost):
        return TransientError(str(err), code="LeaseLost")
    if isinstance(err, ConnectorError):
        return err
    if _is_storage(err):
        return StorageUnavailable(
            f"Azure Storage could not be reached or refused a write ({type(err).__name__}); the page was not "
            "recorded and is read again next time.", code=type(err).__name__)
    return PermanentError(f"The import stopped on an unexpected error ({type(err).__name__}); see the log.",
                          code="InternalError")


def _is_storage(err: Exception) -> bool:
    if isinstance(err, (ConnectionError, TimeoutError)):
        return True
    try:
        from azure.core.exceptions import AzureError  # the SDK is heavy; only a failed run needs it
    except ImportError:  # pragma: no cover - the SDK is a dependency of the app
        return False
    return isinstance(err, AzureError)
