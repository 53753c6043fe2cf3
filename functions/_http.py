"""HTTP plumbing shared by the blueprints: JSON answers, body parsing, and the one place where domain
errors become HTTP statuses (as cosmicpython's flask_app does), so every route answers alike."""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

import azure.functions as func

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

Handler = Callable[[func.HttpRequest], func.HttpResponse]


class BadRequest(Exception):
    """The request itself is unusable (not JSON, too large); answered 400/413 with one error entry."""

    def __init__(self, message: str, *, status: int = 400, field: str = "(body)"):
        super().__init__(message)
        self.status, self.field = status, field


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, ensure_ascii=False), status_code=status,
                             mimetype="application/json", charset="utf-8", headers=headers)


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
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise BadRequest(f"The body is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}.") \
            from None


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
    # Imported here, not at module level: the domain modules pull in requests and the Azure SDKs, and
    # the worker imports every blueprint at cold start.
    from shared.auth import TokenEndpointUnavailableError
    from shared.bc import BcError, BcTransientError
    from shared.connectors import ConnectorConflict, ConnectorNotFound, SettingsInvalid, UnknownLookup
    from shared.errors import ConfigurationError, ConflictError

    if isinstance(err, BadRequest):
        return errors_response(err.status, [{"field": err.field, "message": str(err)}])
    if isinstance(err, SettingsInvalid):
        return errors_response(422, [e.to_dict() for e in err.errors])
    if isinstance(err, (ConnectorNotFound, UnknownLookup)):
        return errors_response(404, [{"field": "(route)", "message": str(err)}])
    if isinstance(err, (ConnectorConflict, ConflictError)):
        return errors_response(409, [{"field": "(connector)", "message": str(err)}])
    if isinstance(err, (BcTransientError, TokenEndpointUnavailableError)):
        retry_after = getattr(err, "retry_after", None)
        seconds = str(max(1, int(retry_after))) if retry_after else "30"
        log.warning("Transient failure answering %s %s: %s", req.method, req.url, err)
        return errors_response(503, [{"field": "(service)", "message":
                                      "Business Central or Entra ID is unavailable right now; nothing was "
                                      f"changed. Try again in {seconds} seconds. ({err})"}],
                               headers={"Retry-After": seconds})
    if isinstance(err, BcError):
        log.warning("Business Central refused %s %s: %s", req.method, req.url, err)
        return errors_response(502, [{"field": "(businessCentral)",
                                      "message": f"Business Central answered with an error: {err}"}])
    if isinstance(err, ConfigurationError):
        log.error("Configuration error: %s", err)
        return errors_response(500, [{"field": "(configuration)", "message": str(err)}])
    raise err
