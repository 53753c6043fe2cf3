"""Operations of a JSON `$batch` and the relative URLs they name, built in one place.

    base = entity_url(company_id, "salesInvoices", invoice_id)
    ops = [patch(base, {"dueDate": "2027-01-01"}, if_match=etag),
           post(child_url(base, "salesInvoiceLines"), line),
           delete(child_url(base, "salesInvoiceLines", line_id))]
    client.batch([op.to_request() for op in ops], isolation_snapshot=True)

URLs are relative to the API root (`companies(…)/…`), as `$batch` wants them
(https://learn.microsoft.com/en-us/dynamics365/business-central/dev-itpro/developer/devenv-connect-apps-tips#batch).
Keys of API v2.0 entities are GUIDs and go into the path as they are; query values are percent-encoded
like the client's own query strings, keeping `=` so a nested `$filter=` inside `$expand` survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote as _percent_encode

from shared.jsontypes import JsonObject, JsonValue

__all__ = ["BatchOperation", "Method", "company_url", "entity_url", "child_url", "query_url", "query_value",
           "get", "post", "patch", "delete", "ANY_ETAG"]

Method = Literal["GET", "POST", "PATCH", "DELETE"]

#: `If-Match: *`: write whatever the record's ETag is now (the write is decided on content, not version).
ANY_ETAG = "*"

_QUERY_SAFE = "'(),:/@!*$;="


@dataclass(frozen=True)
class BatchOperation:
    """One request inside a `$batch`: method, relative URL, body, If-Match, optional id."""

    method: Method
    url: str
    body: JsonObject | None = None
    if_match: str | None = None
    id: str | None = None

    def to_request(self) -> dict[str, JsonValue]:
        """The operation as `BcClient.batch` takes it: `{"id"?, "method", "url", "headers"?, "body"?}`."""
        out: dict[str, JsonValue] = {}
        if self.id is not None:
            out["id"] = self.id
        out["method"] = self.method
        out["url"] = self.url
        if self.if_match is not None:
            out["headers"] = {"If-Match": self.if_match}
        if self.body is not None:
            out["body"] = dict(self.body)
        return out


def company_url(company_id: str) -> str:
    """`companies({id})`."""
    return f"companies({company_id})"


def entity_url(company_id: str, entity_set: str, key: str | None = None) -> str:
    """`companies({id})/{entitySet}` or, with a key, `…/{entitySet}({key})`."""
    url = f"{company_url(company_id)}/{entity_set}"
    return f"{url}({key})" if key is not None else url


def child_url(parent: str, navigation: str, key: str | None = None) -> str:
    """`{parent}/{navigation}` or `{parent}/{navigation}({key})` (lines, dimension set lines)."""
    return f"{parent}/{navigation}({key})" if key is not None else f"{parent}/{navigation}"


def query_value(value: str) -> str:
    """A query option value percent-encoded, so `&`, `#` or `+` in a code survive."""
    return _percent_encode(value, safe=_QUERY_SAFE)


def query_url(url: str, **options: str | None) -> str:
    """`url?$filter=…&$expand=…`: `filter="…"` becomes `$filter=…`; options left None are left out."""
    parts = [f"${name}={query_value(value)}" for name, value in options.items() if value is not None]
    return f"{url}?{'&'.join(parts)}" if parts else url


def get(url: str, *, id: str | None = None) -> BatchOperation:
    return BatchOperation("GET", url, id=id)


def post(url: str, body: JsonObject) -> BatchOperation:
    return BatchOperation("POST", url, body=body)


def patch(url: str, body: JsonObject, *, if_match: str = ANY_ETAG) -> BatchOperation:
    return BatchOperation("PATCH", url, body=body, if_match=if_match)


def delete(url: str, *, if_match: str = ANY_ETAG) -> BatchOperation:
    return BatchOperation("DELETE", url, if_match=if_match)
