"""JSON `$batch` at `api/v2.0/$batch` (use-odata-batch.md).

`{"requests":[{"method","id","url","headers","body"}]}` -> `{"responses":[{"id","status","headers","body"}]}`,
at most 100 operations. Inner URLs are relative to `api/v2.0/` or absolute. Without `Isolation: snapshot`
each operation stands alone; with it the batch runs as one transaction and any failure rolls all of it
back. BC does not document how the other operations are then reported; the sandbox stops at the first
failure and answers 424 Failed Dependency (OData 4.01 JSON batch) for every other operation, so no 2xx
is ever reported for work that was rolled back (inferred).
"""

from __future__ import annotations

import json
import uuid
from typing import Callable
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers

from sandbox.errors import BcApiError

from ._bcerrors import method_not_allowed
from ._company import Environment
from ._http import CONTENT_TYPE, Call, Result, json_body

__all__ = ["handle_batch", "MAX_BATCH_OPERATIONS", "count_operations"]

MAX_BATCH_OPERATIONS = 100  # operational-limits-online.md, use-odata-batch.md


def count_operations(body: bytes) -> int:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return 1
    requests = data.get("requests") if isinstance(data, dict) else None
    return len(requests) if isinstance(requests, list) else 1


def _inner_path(url: str) -> str:
    marker = "/api/v2.0/"
    if "://" in url or url.startswith("/"):
        pos = url.find(marker)
        if pos < 0:
            raise BcApiError(400, "BadRequest", "The URL '%s' of a batch operation is not an API v2.0 URL." % url)
        return url[pos + len(marker):]
    if url.startswith("api/v2.0/"):
        return url[len("api/v2.0/"):]
    return url


def handle_batch(call: Call, env: Environment, dispatch: Callable[[Call], Result]) -> Result:
    if call.method != "POST":
        raise method_not_allowed(call.method, "$batch")
    body = json_body(call)
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise BcApiError(400, "BadRequest", "The batch request body must contain a 'requests' array.")
    if len(requests) > MAX_BATCH_OPERATIONS:
        # The limit is documented; the wording of the error is inferred.
        raise BcApiError(400, "BadRequest", "The batch request contains %d operations, but the maximum allowed is %d."
                         % (len(requests), MAX_BATCH_OPERATIONS))
    snapshot = (call.header("Isolation") or "").strip().lower() == "snapshot"
    mark = env.db.begin() if snapshot else 0
    responses: list[dict] = []
    failed: str | None = None
    try:
        for n, item in enumerate(requests):
            if not isinstance(item, dict):
                raise BcApiError(400, "BadRequest", "Operation %d of the batch is not a JSON object." % n)
            op_id = str(item.get("id", n))
            result = _run(call, item, dispatch)
            responses.append(_response(op_id, result))
            if snapshot and result.status >= 400:
                failed = op_id
                break
        if failed is not None:
            env.db.rollback_to(mark)
            done = {r["id"] for r in responses}
            for r in responses:
                if r["id"] != failed:
                    r.update(_rolled_back(r["id"], failed))
            for n, item in enumerate(requests):
                op_id = str(item.get("id", n)) if isinstance(item, dict) else str(n)
                if op_id not in done:
                    responses.append(_rolled_back(op_id, failed))
    except BaseException:
        if snapshot:
            env.db.rollback_to(mark)
        raise
    finally:
        if snapshot:
            env.db.end()
    return Result(200, {"responses": responses})


def _rolled_back(op_id: str, failed: str) -> dict:
    cid = str(uuid.uuid4())
    err = BcApiError(424, "BadRequest", "The operation was not applied: the batch runs with Isolation: snapshot and "
                                        "operation '%s' failed, so the whole batch was rolled back." % failed)
    return {"id": op_id, "status": 424, "headers": {"content-type": CONTENT_TYPE}, "body": err.body(cid)}


def _run(outer: Call, item: dict, dispatch: Callable[[Call], Result]) -> Result:
    method = str(item.get("method", "")).upper()
    url = item.get("url")
    if method not in ("GET", "POST", "PATCH", "PUT", "DELETE") or not isinstance(url, str):
        return _error(BcApiError(400, "BadRequest", "A batch operation needs a 'method' and a 'url'."))
    path, _, qs = _inner_path(url).partition("?")
    if path.strip("/") == "$batch":
        return _error(BcApiError(400, "BadRequest", "A batch operation cannot itself be a $batch request."))
    headers = Headers()
    for name, value in (item.get("headers") or {}).items():
        headers.add(str(name), str(value))
    body = item.get("body")
    raw = b""
    if body is not None:
        raw = json.dumps(body).encode("utf-8") if not isinstance(body, str) else body.encode("utf-8")
        if "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
    args = dict(parse_qsl(qs, keep_blank_values=True))
    company = headers.get("Company")
    if company and "company" not in args and not path.startswith("companies"):
        args["company"] = company
    call = Call(method=method, path=path, args=args, headers=headers, body=raw, base_url=outer.base_url,
                url=outer.base_url + "/api/v2.0/" + path, in_batch=True)
    try:
        return dispatch(call)
    except BcApiError as err:
        return _error(err)


def _error(err: BcApiError) -> Result:
    cid = str(uuid.uuid4())
    return Result(err.status, err.body(cid), {"content-type": CONTENT_TYPE, **err.headers})


def _response(op_id: str, result: Result) -> dict:
    headers = {k.lower(): v for k, v in result.headers.items()}
    if result.body is not None:
        headers.setdefault("content-type", CONTENT_TYPE)
        headers.setdefault("odata-version", "4.0")
    out = {"id": op_id, "status": result.status, "headers": headers}
    if result.body is not None:
        out["body"] = result.body
    return out
