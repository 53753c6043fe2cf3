"""OData literals, filters and URL segments, built the way OData V4 and BC expect them.

- String literals are single-quoted with inner quotes doubled: `'O''Brien'` (OData URL conventions
  §5.1.1.6.1).
- Guids, numbers, booleans, dates and date-times are unquoted (`id eq 5a1c…`, `orderDate ge 2019-05-01`,
  `lastModifiedDateTime gt 2019-08-18T20:05:51.603Z`). A `str`
  is always a string literal: pass `uuid.UUID` (or `guid(...)`) for an Edm.Guid field.
- In a URL path, a key literal is percent-encoded after the quotes are doubled, with only the outer
  quotes left as they are: `Company('CRONUS%20USA%2C%20Inc.')` (the OData V4 bound action example in Microsoft's Business Central web services docs).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from decimal import Decimal
from typing import Mapping
from urllib.parse import quote as _percent_encode
from urllib.parse import unquote

__all__ = [
    "quote",
    "eq",
    "and_",
    "guid",
    "company_segment",
    "key_segment",
    "decode_company_name",
    "is_guid",
    "is_environment_name",
    "ENVIRONMENT_NAME_RULE",
    "ODataLiteral",
    "ODataKey",
]

#: A value with an OData literal (`quote`); a `str` is always a string literal.
ODataLiteral = str | int | float | bool | None | uuid.UUID | Decimal | _dt.date | _dt.datetime
#: The key of an OData V4 entity: one value, or field -> value for a composite key.
ODataKey = Mapping[str, ODataLiteral] | ODataLiteral

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# A property path: `number`, `Gen_Bus_Posting_Group`, `dimensionSetLines/code`.
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_OR = re.compile(r"\bor\b", re.IGNORECASE)


#: A BC environment name as the URL path segment `/v2.0/{tenant}/{environment}/`: letters and digits, with
#: '-' or '_' inside, at most 30 characters (the admin center's rule). One rule for the settings check and
#: the BC client, so settings that are accepted can always be used.
_ENVIRONMENT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,29})")
ENVIRONMENT_NAME_RULE = ("A BC environment name has 1 to 30 letters, digits, '-' or '_', and starts with a letter or "
                         "digit (for example Production or Sandbox).")


def is_environment_name(value: object) -> bool:
    """Whether `value` is a BC environment name (see ENVIRONMENT_NAME_RULE); matched whole."""
    return isinstance(value, str) and _ENVIRONMENT_NAME.fullmatch(value) is not None


def is_guid(value: str) -> bool:
    """True for the 8-4-4-4-12 hex form BC uses for ids (no braces)."""
    return bool(_GUID.fullmatch(value or ""))


def guid(value: str | uuid.UUID) -> uuid.UUID:
    """Mark a value as an Edm.Guid so `quote` leaves it unquoted. Raises ValueError if it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    if not is_guid(value):
        raise ValueError(f"{value!r} is not a GUID like 00000000-0000-0000-0000-000000000000.")
    return uuid.UUID(value)


def quote(value: ODataLiteral) -> str:
    """The OData literal for `value`: `'O''Brien'`, `5a1c…` (UUID), `12.5`, `true`, `2019-05-01`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} has no OData literal.")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value!r} has no OData literal.")
        return format(value, "f")
    if isinstance(value, _dt.datetime):  # before date: datetime is a date
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone; BC compares date-times in UTC.")
        utc = value.astimezone(_dt.timezone.utc)
        text = utc.isoformat(timespec="milliseconds" if utc.microsecond else "seconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"No OData literal for a {type(value).__name__}.")


def eq(field: str, value: ODataLiteral) -> str:
    """`field eq <literal>`, e.g. `eq("externalDocumentNumber", "PSA-1")` -> `externalDocumentNumber eq 'PSA-1'`."""
    return f"{_field(field)} eq {quote(value)}"


def and_(*clauses: str | None) -> str:
    """Join filter clauses with `and`, skipping empty ones; a clause with `or` gets parentheses."""
    parts = [c.strip() for c in clauses if c and c.strip()]
    if len(parts) == 1:
        return parts[0]
    return " and ".join(f"({p})" if _OR.search(p) else p for p in parts)


def company_segment(name: str) -> str:
    """`Company('…')` for an OData V4 URL, e.g. `CRONUS USA, Inc.` -> `Company('CRONUS%20USA%2C%20Inc.')`.

    Everything but unreserved characters is percent-encoded, including `/ , & '`; a `'` is doubled
    before encoding. The name is case-sensitive in BC, so it is used exactly as given.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("A company name is required to build an OData V4 URL.")
    return f"Company({_path_literal(name)})"


def key_segment(key: ODataKey) -> str:
    """The key of an OData V4 entity in a URL path: `('C00010')`, `(Dimension_Code='X',Code='Y')`, `(5)`."""
    if isinstance(key, Mapping):
        if not key:
            raise ValueError("A key needs at least one field.")
        return "(" + ",".join(f"{_field(name)}={_path_literal(value)}" for name, value in key.items()) + ")"
    return f"({_path_literal(key)})"


def decode_company_name(raw: str) -> str:
    """Decode a company name that arrived URL-encoded (`CRONUS%20USA%2C%20Inc.`), once, else keep it.

    Only a name holding a valid `%XX` escape is decoded, and only once, so `100% Foods` and a decoded
    name with a literal `%` stay as they are; `+` is never read as a space. If the escapes do not form
    UTF-8, the name is kept as typed. Callers then compare names exactly (BC names are case-sensitive).
    """
    if not raw or not _ESCAPE.search(raw):
        return raw
    try:
        return unquote(raw, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return raw


def _path_literal(value: ODataLiteral) -> str:
    literal = quote(value)
    if literal.startswith("'") and literal.endswith("'") and isinstance(value, str):
        return "'" + _percent_encode(literal[1:-1], safe="") + "'"
    return _percent_encode(literal, safe="")


def _field(name: str) -> str:
    if not isinstance(name, str) or not _FIELD.fullmatch(name):
        raise ValueError(f"{name!r} is not an OData property name.")
    return name
