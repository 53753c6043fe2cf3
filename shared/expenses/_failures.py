"""How an import run ends when it cannot go on, in the app's error tree (`shared.errors`), and the one
translation of whatever a run ran into into that tree, so the summary, its HTTP status and the failure
notification are all read off one `ConnectorError` (`disposition`).
"""

from __future__ import annotations

from shared.adapters import LeaseLost
from shared.auth import ReconnectRequiredError, TokenError
from shared.bc import BcError
from shared.errors import ConnectorError, PermanentError, ReconnectRequired, TransientError

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
    """`err` in the error tree. Errors already in it are kept; the ones of packages that do not raise
    tree errors yet are translated here, by what the caller can do about them."""
    if isinstance(err, ConnectorError):
        return err
    # Until Business Central's, Entra's and the lease's errors join the tree at their adapters
    # (shared.bc, shared.auth, shared.adapters), they are translated here; these branches go then.
    if isinstance(err, ReconnectRequiredError):
        return ReconnectRequired(str(err), code=err.error or None)
    if isinstance(err, (BcError, TokenError)):
        code = (err.code if isinstance(err, BcError) else err.error) or type(err).__name__
        if err.retryable:
            return TransientError(str(err), code=code, retry_after=err.retry_after)
        return PermanentError(str(err), code=code)
    if isinstance(err, LeaseLost):
        return TransientError(str(err), code="LeaseLost")
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
