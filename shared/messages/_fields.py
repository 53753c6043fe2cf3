"""Small, strict readers for one JSON value each; every failure names its field.

Lengths are BC's (`Text[n]` / `Code[n]` of the API v2.0 fields, docs/business-central.md §1), so a value BC would
refuse with `Application_StringExceededLength` is refused here first, naming the host's field instead
of BC's.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Final, Mapping, Union

from shared.jsontypes import JsonValue, json_type

from ._errors import MessageInvalid

__all__ = [
    "UNSET",
    "MAX_DECIMAL",
    "Unset",
    "Read",
    "json_type",
    "obj",
    "text",
    "code",
    "host_id",
    "number",
    "boolean",
    "date",
    "choice",
    "shorten",
]


class Unset:
    """A field that was absent (as opposed to null): absent fields are left alone in BC. One instance,
    `UNSET`; it is falsy."""

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset()

#: A value as read from a JSON object: UNSET when the key was absent.
Read = Union[JsonValue, Unset]

#: Amounts and quantities at or above this are refused: BC's decimals carry about 15 significant digits, and
#: larger values could not be stored or summed exactly (docs/business-central.md).
MAX_DECIMAL = 10**15

MAX_HOST_ID = 200  # Table Storage keys hold 1 KiB; host ids are far shorter in practice


def obj(value: Read, field: str) -> Mapping[str, JsonValue]:
    if not isinstance(value, Mapping):
        raise MessageInvalid(field, f"must be an object, not {json_type(value)}")
    return value


def get(source: Mapping[str, JsonValue], key: str) -> Read:
    return source[key] if key in source else UNSET


def text(value: Read, field: str, max_len: int, *, required: bool = False, nullable: bool = True) -> str | Unset:
    """A string of at most `max_len` characters, stripped. Absent -> UNSET; null -> "" (clears in BC)."""
    if value is UNSET:
        if required:
            raise MessageInvalid(field, "is required")
        return UNSET
    if value is None:
        if required or not nullable:
            raise MessageInvalid(field, "is required" if required else "must not be null")
        return ""
    if not isinstance(value, str):
        raise MessageInvalid(field, f"must be a string, not {json_type(value)}")
    value = value.strip()
    if required and not value:
        raise MessageInvalid(field, "must not be empty")
    if len(value) > max_len:
        raise MessageInvalid(field, f"is {len(value)} characters long; Business Central takes at most {max_len}")
    if any(ord(ch) < 0x20 and ch not in "\t" for ch in value):
        raise MessageInvalid(field, "must not contain control characters such as line breaks")
    return value


def code(value: Read, field: str, max_len: int, *, required: bool = False) -> str | Unset:
    """A BC Code[n] value: stored upper-case by BC, so compared and sent upper-case."""
    out = text(value, field, max_len, required=required)
    return out.upper() if isinstance(out, str) else out


def host_id(value: Read, field: str, max_len: int = MAX_HOST_ID) -> str:
    """A host id: a non-empty string or an integer (kept as its decimal text)."""
    if isinstance(value, bool) or value is UNSET or value is None:
        raise MessageInvalid(field, "is required" if value is UNSET or value is None
                             else "must be a string or an integer, not a boolean")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise MessageInvalid(field, f"must be a string or an integer, not {json_type(value)}")
    value = value.strip()
    if not value:
        raise MessageInvalid(field, "must not be empty")
    if len(value) > max_len:
        raise MessageInvalid(field, f"is {len(value)} characters long; at most {max_len} are accepted")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value):
        raise MessageInvalid(field, "must not contain control characters")
    return value


def number(value: Read, field: str, *, required: bool = False, minimum: float | None = None,
           maximum: float | None = None) -> float | Unset:
    """A JSON number (not a boolean, not a numeric string), finite and within bounds."""
    if value is UNSET or value is None:
        if required:
            raise MessageInvalid(field, "is required")
        return UNSET
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MessageInvalid(field, f"must be a number, not {json_type(value)}")
    if isinstance(value, int) and abs(value) >= MAX_DECIMAL:  # before any float(): 10**400 overflows one
        raise MessageInvalid(field, "is too large for a Business Central decimal")
    if not math.isfinite(value):
        raise MessageInvalid(field, "must be a finite number")
    if abs(value) >= MAX_DECIMAL:
        raise MessageInvalid(field, "is too large for a Business Central decimal")
    if minimum is not None and value < minimum:
        raise MessageInvalid(field, f"must be at least {minimum:g}")
    if maximum is not None and value > maximum:
        raise MessageInvalid(field, f"must be at most {maximum:g}")
    return value


def boolean(value: Read, field: str) -> bool | Unset:
    if value is UNSET:
        return UNSET
    if value is None:
        return False
    if not isinstance(value, bool):
        raise MessageInvalid(field, f"must be true or false, not {json_type(value)}")
    return value


def date(value: Read, field: str) -> str | Unset:
    """`YYYY-MM-DD` (a full ISO-8601 date-time is accepted and its date used). Absent or null -> UNSET."""
    if value is UNSET or value is None:
        return UNSET
    if not isinstance(value, str):
        raise MessageInvalid(field, f"must be a date as YYYY-MM-DD, not {json_type(value)}")
    raw = value.strip()
    try:
        if len(raw) == 10:
            parsed = _dt.date.fromisoformat(raw)
        else:
            parsed = _dt.datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        raise MessageInvalid(field, f"'{raw[:40]}' is not a date as YYYY-MM-DD") from None
    if parsed.year < 1754:  # BC's smallest date is 1753-01-01 (SQL datetime); 0001-01-01 means blank
        raise MessageInvalid(field, "is before 1754; Business Central cannot store it")
    return parsed.isoformat()


def choice(value: Read, field: str, options: Mapping[str, str]) -> str | Unset:
    """One of `options` (keys compared case-insensitively) -> the mapped value. Absent -> UNSET."""
    if value is UNSET:
        return UNSET
    if isinstance(value, str) and value.strip().lower() in options:
        return options[value.strip().lower()]
    shown = f"'{value[:40]}'" if isinstance(value, str) else json_type(value)
    names = sorted({k for k in options if k})
    raise MessageInvalid(field, f"{shown} is not one of: {', '.join(names)}")


def shorten(value: str, max_len: int) -> tuple[str, bool]:
    """`value` cut to `max_len` characters, and whether it was cut."""
    if len(value) <= max_len:
        return value, False
    return value[:max_len].rstrip(), True
