"""Business Central errors, grouped by what the caller should do with the work item.

    BcError (ConnectorError)        anything BC (or the way to it) refused, with BC's ids
    ├── BcPermanentError            give up: outcome `failed` (retrying the same request cannot help);
    │                               a `shared.errors.PermanentError`
    │   ├── BcValidationError       400: BC rejected the request or its data (BadRequest*, Application_*)
    │   ├── BcNotFoundError         404: no such record, company, environment or web service
    │   ├── BcConflictError         409/412: the record changed since it was read (Request_EntityChanged)
    │   │                           or already exists (Internal_EntityWithSameKeyExists)
    │   ├── BcAuthorizationError    401/403: the app is not enabled in BC or lacks permission sets
    │   └── BcPaginationError       BC repeated a next link ("loop detected in pagination")
    └── BcTransientError            try again later: the queue redelivers; `retry_after` when known;
                                    a `shared.errors.TransientError`
        ├── BcThrottledError        429: over BC's per-user limits 
        ├── BcUnavailableError      502/503/504, other 5xx, 408, connection failures and timeouts
        └── BcOutcomeUnknownError   a POST/PATCH was sent but no answer came (read timeout, dropped
                                    connection, 504): BC may have acted. Look the record up by its key
                                    before sending it again 

`decode_error` is the one place that turns a BC answer into one of these. It parses BC's envelope
`{"error":{"code","message":"…  CorrelationId:  <guid>."}}`, keeps BC's code (`bc_code`; the tree's
`code` is BC's code or, when BC gave none, the class name), the message without the correlation suffix,
the correlation id, BC's `request-id` header and our `client-request-id`. `str(error)` is written for an operator's notification; it never holds a token,
because BC's messages do not echo headers and the request is not part of it.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, Mapping

import requests

from shared.adapters.http import parse_retry_after
from shared.errors import ConnectorError, PermanentError, TransientError
from shared.jsontypes import JsonValue

__all__ = [
    "BcError",
    "BcPermanentError",
    "BcValidationError",
    "BcNotFoundError",
    "BcConflictError",
    "BcAuthorizationError",
    "BcPaginationError",
    "BcTransientError",
    "BcThrottledError",
    "BcUnavailableError",
    "BcOutcomeUnknownError",
    "decode_error",
    "NON_IDEMPOTENT_METHODS",
]

#: Methods where a lost answer leaves the outcome unknown (urllib3 does not retry them either).
NON_IDEMPOTENT_METHODS = frozenset({"POST", "PATCH"})

# "<text>  CorrelationId:  <guid>." at the end of every BC error message (BC's error envelope).
_CORRELATION = re.compile(
    r"\s*CorrelationId:\s*([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\.?\s*$")
_MAX_TEXT = 300


class BcError(ConnectorError):
    """Business Central refused a request, or could not be reached. See the module docstring.

    Every attribute is set by the constructor; a changed copy (`_with`) is a new error, never a mutation.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        correlation_id: str | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        details = {k: v for k, v in (("status", status), ("correlationId", correlation_id),
                                     ("requestId", request_id), ("clientRequestId", client_request_id)) if v}
        super().__init__(message, code=code or type(self).__name__, details=details)
        #: BC's message without the "CorrelationId: …" suffix, or our own description.
        self.message = message
        self.status = status
        #: BC's own error code, e.g. "Request_EntityChanged"; None when BC gave none.
        self.bc_code = code
        self.correlation_id = correlation_id
        #: BC's `request-id` response header.
        self.request_id = request_id
        #: Our `client-request-id` request header (the same on every attempt of one call).
        self.client_request_id = client_request_id
        self.method = method
        #: The URL path of the request (no query string: filters can hold customer data).
        self.path = path
        #: Seconds to wait before trying again, when known (BC's Retry-After or our backoff).
        self.retry_after = retry_after
        #: What an operator can do about it, when we know.
        self.hint = hint


    def _with(self, **changes: str | float | None) -> "BcError":
        """A new error of the same class with some attributes changed (errors are not mutated)."""
        fields: dict[str, Any] = dict(
            status=self.status, code=self.bc_code, correlation_id=self.correlation_id,
            request_id=self.request_id, client_request_id=self.client_request_id, method=self.method,
            path=self.path, retry_after=self.retry_after, hint=self.hint)
        fields.update(changes)
        return type(self)(self.message, **fields)

    def __str__(self) -> str:
        head = "Business Central"
        if self.status is not None:
            head += f" answered {self.status}"
            if self.bc_code:
                head += f" {self.bc_code}"
        text = f"{head}: {self.message}" if self.status is not None else self.message
        if self.hint:
            text = f"{text} {self.hint}"
        ids = []
        if self.correlation_id:
            ids.append(f"correlation id {self.correlation_id}")
        if self.request_id and self.request_id != self.correlation_id:
            ids.append(f"request id {self.request_id}")
        return f"{text} ({', '.join(ids)})" if ids else text

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(status={self.status!r}, code={self.bc_code!r}, "
                f"correlation_id={self.correlation_id!r}, request_id={self.request_id!r})")


class BcPermanentError(BcError, PermanentError):
    """Retrying the same request cannot succeed: record the outcome as failed and tell someone."""


class BcValidationError(BcPermanentError):
    """400: BC rejected the request or its data; `message` says which field or rule."""


class BcNotFoundError(BcPermanentError):
    """404: the record, company, environment or web service does not exist (or is not published)."""


class BcConflictError(BcPermanentError):
    """409/412: the record changed since it was read (re-read and decide again), or already exists."""


class BcAuthorizationError(BcPermanentError):
    """401/403: BC does not accept the app or user. Never retried: the hint says what to fix in BC."""


class BcPaginationError(BcPermanentError):
    """BC sent a next link it had already sent: following it would never end."""


class BcTransientError(BcError, TransientError):
    """Try again later; let the queue redeliver. `retry_after` holds the wait when known."""


class BcThrottledError(BcTransientError):
    """429: over BC's per-user request limits."""


class BcUnavailableError(BcTransientError):
    """BC or the network in between is unavailable right now (5xx, 408, connection failures)."""


class BcOutcomeUnknownError(BcTransientError):
    """The request was sent but its answer was lost: BC may have acted. Look up by key, then resend."""


_AUTH_HINTS = {
    401: ("In Business Central, open the page 'Microsoft Entra applications', add the app's client id, "
          "set State to Enabled and grant permission sets; for delegated access the user needs a BC "
          "licence."),
    403: ("The app or user lacks permission in Business Central: assign the needed permission sets on the "
          "'Microsoft Entra applications' page (or to the user), then try again."),
}


BatchResponse = Mapping[str, Any]  # one inner response of a JSON $batch answer (JSON)


def decode_error(
    response: requests.Response | BatchResponse,
    *,
    method: str | None = None,
    judge_as: str | None = None,
    client_request_id: str | None = None,
) -> BcError:
    """Turn a failed BC answer into the matching `BcError`.

    `response` is a `requests.Response` or one inner response of a JSON `$batch` answer
    (`{"id","status","headers","body"}`). For a POST/PATCH, 408 and 504 mean BC was working on it when
    the answer was lost, so they give `BcOutcomeUnknownError` (BC answers 408 after 8 minutes, 504 after
    10). `judge_as` is the method the classification uses when it differs from `method` (a `$batch` POST
    that only reads is judged as a GET).
    """
    if isinstance(response, Mapping):
        status = int(response.get("status") or 0)
        headers = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
        body: JsonValue = response.get("body")
        text = body if isinstance(body, str) else ""
    else:
        status = int(response.status_code)
        headers = {k.lower(): v for k, v in response.headers.items()}
        text = response.text or ""
        try:
            body = response.json() if text.strip() else None
        except ValueError:
            body = None
        request = getattr(response, "request", None)
        if request is not None:
            method = method or request.method
            client_request_id = client_request_id or request.headers.get("client-request-id")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None

    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = str(error.get("code") or "") or None
        raw_message = str(error.get("message") or "")
    else:
        code = None
        raw_message = _short(text) if text and not text.lstrip().startswith("<") else ""
    match = _CORRELATION.search(raw_message)
    correlation_id = match.group(1) if match else headers.get("ms-correlation-x")
    message = raw_message[: match.start()] if match else raw_message
    message = message.strip() or _reason(status)
    return _build(
        status, code, message, (judge_as or method or "").upper(),
        correlation_id=correlation_id,
        request_id=headers.get("request-id") or headers.get("x-ms-request-id"),
        client_request_id=client_request_id,
        method=(method or "").upper() or None,
        path=_path_of(response),
        retry_after=parse_retry_after(headers.get("retry-after")),
    )


def _build(status: int, code: str | None, message: str, judged: str, **kwargs: str | float | None) -> BcError:
    if code == "Request_EntityChanged" or status in (409, 412):
        cls: type[BcError] = BcConflictError
    elif status in (401, 403):
        cls = BcAuthorizationError
        kwargs.setdefault("hint", _AUTH_HINTS[status])
    elif status == 404:
        cls = BcNotFoundError
    elif status == 429:
        cls = BcThrottledError
    elif status in (408, 504) and judged in NON_IDEMPOTENT_METHODS:
        cls = BcOutcomeUnknownError
        kwargs.setdefault("hint", "BC may have completed it: look the record up by its key before sending it "
                                  "again.")
    elif status == 408 or status >= 500:
        cls = BcUnavailableError
    elif status == 400:
        cls = BcValidationError
    else:
        cls = BcPermanentError
    return cls(message, status=status, code=code, **kwargs)


def _path_of(response: requests.Response | BatchResponse) -> str | None:
    request = getattr(response, "request", None)
    url = getattr(request, "path_url", None) or ""
    return url.split("?", 1)[0] or None


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase + "."
    except ValueError:
        return f"HTTP status {status}."


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
