"""HTTP entity tags of a stored connector, and the conditions `If-Match` / `If-None-Match` (RFC 9110 §13.1).

The ETag of `GET /connectors/{name}` is the connector row's ETag in Table Storage (it moves with every
write of the row), sent as a quoted entity tag: `W/"x"` from the table becomes `"x"`. Conditions compare
the opaque part only, so a client may send the tag back with or without `W/`.
"""

from __future__ import annotations

import re

from shared.errors import InvalidInput

__all__ = ["http_etag", "Condition", "parse_condition"]

_TAG = re.compile(r'\s*(?:W/)?"([\x21\x23-\x7e]*)"\s*')


def _opaque(row_etag: str) -> str:
    match = _TAG.fullmatch(row_etag)
    return match.group(1) if match else row_etag


def http_etag(row_etag: str | None) -> str | None:
    """The `ETag` header for a row ETag (None when the record was not read from the store)."""
    return None if not row_etag else f'"{_opaque(row_etag)}"'


class Condition:
    """One parsed `If-Match` / `If-None-Match` header: `*` or a list of entity tags."""

    def __init__(self, header: str, any_tag: bool, tags: tuple[str, ...]) -> None:
        self.header, self.any_tag, self.tags = header, any_tag, tags

    def matches(self, row_etag: str | None) -> bool:
        """Whether a row with `row_etag` exists and the condition names it (`*` names any existing row)."""
        if row_etag is None:
            return False
        return self.any_tag or _opaque(row_etag) in self.tags


def parse_condition(header: str, value: str | None) -> Condition | None:
    """The condition in header `header`; None when absent; InvalidInput (400) naming it when malformed."""
    if value is None:
        return None
    text = value.strip()
    if text == "*":
        return Condition(header, True, ())
    tags = []
    for part in text.split(","):
        match = _TAG.fullmatch(part)
        if match is None:
            raise InvalidInput(f"{header} must be * or entity tags in double quotes as sent in the ETag header "
                               'of GET /connectors/{name} (for example "abc").', field=f"({header})")
        tags.append(match.group(1))
    return Condition(header, False, tuple(tags))
