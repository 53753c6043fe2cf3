"""Azure Storage errors translated into the error tree, once, at the edge of the adapters.

    with storage_errors("connector acme"):
        table.update_entity(entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=IfNotModified)

- 412 `ResourceModifiedError` (the ETag moved) and 409 `ResourceExistsError` (the row is already there):
  `ConflictError`, so `shared.guarded.guarded_update` reads again and decides again;
- 408, 429, 500, 502, 503, 504 and `ServiceRequestError`/`ServiceResponseError` (no answer): the storage
  service is busy or away, `TransientError` with its Retry-After when it sent one;
- everything else (403 of a missing role, 404, 400 of a malformed request) passes through unchanged: it
  is a bug or a misconfiguration, which the queue keeps retrying and the poison trigger records.

azure.core is imported when an error is being translated, not at import time (cold start).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from shared.adapters.http import parse_retry_after
from shared.errors import ConflictError, TransientError

__all__ = ["storage_errors", "TRANSIENT_STATUSES"]

#: Statuses after which the same request may succeed later (Azure Storage's own retry policy retries them).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@contextmanager
def storage_errors(what: str = "the row") -> Iterator[None]:
    """Run the body, raising the tree's ConflictError / TransientError for the Azure errors above.

    `what` names the thing for the message ("connector acme", "lease replay of acme").
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - only azure.core's errors are translated; the rest re-raised
        translated = translate_storage_error(exc, what)
        if translated is None:
            raise
        raise translated from exc


def translate_storage_error(exc: BaseException, what: str = "the row") -> ConflictError | TransientError | None:
    """The tree's error for an Azure SDK error, or None when it stays as it is (see the module docstring)."""
    from azure.core.exceptions import (
        HttpResponseError,
        ResourceExistsError,
        ResourceModifiedError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, ResourceModifiedError):
        return ConflictError(f"{what} was changed by someone else meanwhile.", code="ETagMismatch")
    if isinstance(exc, ResourceExistsError):
        return ConflictError(f"{what} already exists.", code=getattr(exc, "error_code", None) or "AlreadyExists")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return TransientError(f"Azure Storage could not be reached for {what}; try again later.",
                              code="StorageUnavailable")
    if isinstance(exc, HttpResponseError) and exc.status_code in TRANSIENT_STATUSES:
        headers = exc.response.headers if exc.response is not None else {}
        return TransientError(
            f"Azure Storage answered {exc.status_code} for {what}; try again later.",
            code=str(getattr(exc, "error_code", None) or "StorageUnavailable"),
            retry_after=parse_retry_after(headers.get("Retry-After")))
    return None
