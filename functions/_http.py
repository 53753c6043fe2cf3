"""HTTP plumbing shared by the blueprints: JSON answers, body parsing, and the one place where errors
become HTTP answers, through `shared.errors.disposition`, so every route answers alike."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

import azure.functions as func

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
#: Deeper JSON is refused before it reaches any code that walks it (a settings document is 3 levels deep).
MAX_JSON_DEPTH = 32

#: Sent with every JSON answer: browsers must not guess another type, and nobody may keep a copy
#: (answers carry connector settings; OWASP REST Security Cheat Sheet, "Security headers").
JSON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}

Handler = Callable[[func.HttpRequest], func.HttpResponse]


class BadRequest(Exception):
    """The request itself is unusable (not JSON, too large); answered 400/413 with one error entry."""

    def __init__(self, message: str, *, status: int = 400, field: str = "(body)"):
        super().__init__(message)
        self.status, self.field = status, field


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, ensure_ascii=False), status_code=status,
                             mimetype="application/json", charset="utf-8", headers={**JSON_HEADERS, **(headers or {})})


def errors_response(status: int, errors: list[dict[str, Any]], headers: dict[str, str] | None = None
                    ) -> func.HttpResponse:
    return json_response({"errors": errors}, status, headers)


def json_body(req: func.HttpRequest) -> Any:
    """The request body as JSON, or BadRequest saying precisely what is wrong with it."""
    raw = req.get_body() or b""
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest(f"The body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are accepted.", status=413)
    if not raw.strip():
        raise BadRequest("The body is empty; send the settings as a JSON object.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The body is not UTF-8 text.") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadRequest(f"The body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}.") \
            from None
    except RecursionError:
        raise BadRequest(f"The body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep.") from None
    except ValueError as err:  # an integer of more than 4,300 digits (sys.get_int_max_str_digits)
        raise BadRequest(f"The body holds a number JSON readers cannot take: {str(err)[:120]}") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadRequest(f"The body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep.")
    return value


def _depth(value: Any) -> int:
    """How deeply `value` nests arrays and objects (iteratively: no recursion limit to run into)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_DEPTH:
            stack.extend((child, level + 1) for child in children)
    return deepest


def mapped_errors(handler: Handler) -> Handler:
    """Turn the errors a use case raises into the statuses the contract promises."""

    @functools.wraps(handler)
    def wrapper(req: func.HttpRequest) -> func.HttpResponse:
        try:
            return handler(req)
        except Exception as err:  # noqa: BLE001 - unknown errors are re-raised by _error_response
            return _error_response(req, err)
    return wrapper


def _error_response(req: func.HttpRequest, err: Exception) -> func.HttpResponse:
    """The answer to `err`: its status (and Retry-After) from `shared.errors.disposition`, one body per kind."""
    # Imported here, not at module level: the worker imports every blueprint at cold start, and only a
    # failing request needs the error tree.
    from shared.errors import (
        ConfigurationError,
        ConflictError,
        ConnectorError,
        InvalidInput,
        NotFound,
        PermanentError,
        PreconditionFailed,
        ReconnectRequired,
        TooLarge,
        TransientError,
        disposition,
    )

    if isinstance(err, BadRequest):
        return errors_response(err.status, [{"field": err.field, "message": str(err)}])
    if not isinstance(err, ConnectorError):
        raise err  # a bug, not a decision: the host logs it and answers 500
    tree = err
    answer = disposition(tree)
    if isinstance(tree, TooLarge):
        return errors_response(answer.http_status, [{"field": f, "message": str(tree)} for f in tree.fields]
                               or [{"field": "(body)", "message": str(tree)}])
    if isinstance(tree, PreconditionFailed):
        return errors_response(answer.http_status, [{"field": tree.field or "(If-Match)", "message": str(tree)}])
    if isinstance(tree, InvalidInput):
        field_errors = getattr(tree, "errors", None)  # SettingsInvalid: one entry per bad field
        if field_errors is not None:
            return errors_response(422, [e.to_dict() for e in field_errors])
        return errors_response(answer.http_status, [{"field": tree.field or "(body)", "message": str(tree)}])
    if isinstance(tree, NotFound):
        return errors_response(answer.http_status, [{"field": "(route)", "message": str(tree)}])
    if isinstance(tree, (ConflictError, ReconnectRequired)):
        return errors_response(answer.http_status, [{"field": "(connector)", "message": str(tree)}])
    if isinstance(tree, TransientError):
        seconds = str(answer.retry_after)
        log.warning("Transient failure answering %s %s: %s", req.method, req.url, err)
        return errors_response(answer.http_status, [{"field": "(service)", "message":
                                                     "Business Central or Entra ID is unavailable right now; "
                                                     f"nothing was changed. Try again in {seconds} seconds. ({err})"}],
                               headers={"Retry-After": seconds})
    if isinstance(tree, ConfigurationError):
        log.error("Configuration error: %s", err)
        return errors_response(answer.http_status, [{"field": "(configuration)", "message": str(err)}])
    if isinstance(tree, PermanentError):
        log.warning("Business Central refused %s %s: %s", req.method, req.url, err)
        return errors_response(answer.http_status, [{"field": "(businessCentral)",
                                                     "message": f"Business Central answered with an error: {err}"}])
    raise err
