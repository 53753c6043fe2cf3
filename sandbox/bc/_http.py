"""One request as the BC data model sees it (from werkzeug or from a $batch item) and its result."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote

from werkzeug.datastructures import Headers

from sandbox.errors import BcApiError

from ._schema import EntityType
from ._values import coerce_value

__all__ = ["Call", "Result", "CONTENT_TYPE", "json_body", "coerce_body", "check_if_match", "query_string"]

#: BC's JSON content type (same as sandbox/errors.py uses for error bodies).
CONTENT_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"


@dataclass
class Call:
    method: str
    path: str  # after "api/v2.0/" or "ODataV4/", still percent-encoded
    args: dict[str, str]
    headers: Headers
    body: bytes
    base_url: str  # ".../v2.0/{tenant}/{environment}"
    url: str  # the full request URL, for messages
    in_batch: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


@dataclass
class Result:
    status: int
    body: Any = None  # dict -> JSON; None -> no content; str -> text/plain
    headers: dict[str, str] = field(default_factory=dict)


def json_body(call: Call) -> dict:
    """The request body as a JSON object, after BC's content-type check.

    A missing or non-JSON content type is refused with 415 (inferred: ASP.NET OData's "The request entity's
    media type ... is not supported for this resource.").
    """
    ctype = call.content_type.split(";")[0].strip().lower()
    if ctype != "application/json":
        raise BcApiError(415, "BadRequest", "The request entity's media type '%s' is not supported for this "
                                            "resource." % (call.content_type or "(none)"))
    try:
        data = json.loads(call.body.decode("utf-8") if call.body else "")
    except (ValueError, UnicodeDecodeError):
        raise BcApiError(400, "BadRequest", "Invalid JSON. The request body could not be parsed as a JSON object.") from None
    if not isinstance(data, dict):
        raise BcApiError(400, "BadRequest", "Invalid JSON. A JSON object was expected in the request body.")
    return data


def coerce_body(
    etype: EntityType,
    body: Mapping[str, Any],
    *,
    navs_allowed: tuple[str, ...] = (),
    extra_writable: tuple[str, ...] = (),
    navs_known: tuple[str, ...] = (),
    is_patch: bool = False,
) -> tuple[dict[str, Any], dict[str, list]]:
    """Client JSON -> (record values keyed by record key, nested navigation payloads).

    Strict like BC: unknown properties, read-only properties and wrong JSON types are refused.
    Instance annotations (`@odata.etag`, ...) are ignored.
    """
    values: dict[str, Any] = {}
    navs: dict[str, list] = {}
    for name, raw in body.items():
        if name.startswith("@") or "@odata." in name:
            continue
        prop = etype.props.get(name)
        if prop is None:
            if name in navs_allowed and not is_patch:
                if not isinstance(raw, list) or not all(isinstance(x, dict) for x in raw):
                    raise BcApiError(400, "BadRequest", "An array of '%s' entities was expected for the navigation "
                                                        "property '%s'." % (name, name))
                navs[name] = raw
                continue
            if name in navs_known or name in navs_allowed:
                # Deep update is not supported (odata-known-limitations.md); deep insert only where BC has it.
                raise BcApiError(400, "BadRequest",
                                 "The navigation property '%s' cannot be written in a %s request; deep %s is not "
                                 "supported for it." % (name, "PATCH" if is_patch else "POST",
                                                        "update" if is_patch else "insert"))
            raise BcApiError(400, "BadRequest",
                             "The property '%s' does not exist on type '%s'. Make sure to only use property names "
                             "that are defined by the type." % (name, etype.qualified))
        if not prop.editable and name not in extra_writable:
            # dynamics-error-codes.md: BadRequest_InvalidOperation "Control '…' is read-only"; API pages name
            # their controls after the JSON field, so the text says the field name.
            raise BcApiError(400, "BadRequest_InvalidOperation", "Control '%s' is read-only." % name)
        values[prop.key] = coerce_value(prop, raw)
    return values, navs


def check_if_match(call: Call, current_etag: str) -> None:
    """PATCH/DELETE need If-Match: the current ETag or '*' (use-odata-to-modify-data.md)."""
    given = call.header("If-Match")
    if not given:
        raise BcApiError(400, "BadRequest_InvalidToken",
                         "Could not validate the client concurrency token required by the service. Please provide a "
                         "valid token in the client request.")
    candidates = [c.strip() for c in given.split(",")]
    if "*" in candidates or current_etag in candidates:
        return
    raise BcApiError(409, "Request_EntityChanged", "Another user has already changed the record.")


def query_string(args: Mapping[str, str]) -> str:
    return "&".join("%s=%s" % (k, quote(v, safe="$'(),:@/!*")) for k, v in args.items())
