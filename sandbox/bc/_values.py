"""Wire values: checking a client's JSON against a field's type, and BC's ETag and timestamp formats."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.errors import BcApiError

from ._schema import EntityType, FieldType, Prop

__all__ = [
    "GUID_RE",
    "Clock",
    "coerce_value",
    "format_datetime",
    "parse_datetime_literal",
    "make_etag",
    "round2",
    "num",
    "new_guid",
    "json_text",
    "check_length",
]

GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})$"
)


class Clock:
    """Now, in UTC; wraps the platform's shared sandbox clock (anything with utcnow() or now())."""

    def __init__(self, source: Any | None = None) -> None:
        self._source = source

    def utcnow(self) -> datetime:
        src = self._source
        if src is None:
            return datetime.now(timezone.utc)
        if hasattr(src, "utcnow"):
            value = src.utcnow()
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return datetime.fromtimestamp(float(src.now()), tz=timezone.utc)

    def stamp(self) -> str:
        return format_datetime(self.utcnow())

    def today(self) -> str:
        return self.utcnow().date().isoformat()


def format_datetime(value: datetime) -> str:
    """BC's DateTime form: UTC, milliseconds, 'Z' (e.g. "2025-02-02T18:28:34.057Z" in recorded responses)."""
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (value.microsecond // 1000)


def parse_datetime_literal(text: str) -> str | None:
    """ISO-8601 date-time with zone -> the canonical stored string (so text order is time order)."""
    m = _DATETIME_RE.match(text)
    if not m:
        return None
    try:
        frac = (m.group(7) or "0")[:6].ljust(6, "0")
        zone = m.group(8)
        iso = "%s-%s-%sT%s:%s:%s.%s%s" % (
            m.group(1), m.group(2), m.group(3), m.group(4), m.group(5), m.group(6) or "00", frac,
            "+00:00" if zone == "Z" else zone,
        )
        return format_datetime(datetime.fromisoformat(iso))
    except ValueError:
        return None


def _valid_date(text: str) -> bool:
    if not _DATE_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def json_text(value: Any) -> str:
    """How a JSON value reads in OData's conversion messages."""
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _cannot_convert(value: Any, ftype: FieldType) -> BcApiError:
    return BcApiError(400, "BadRequest", "Cannot convert the literal '%s' to the expected type '%s'." % (
        json_text(value), ftype.edm))


def check_length(value: str, length: int | None) -> None:
    """Text[n]/Code[n]: BC's Application_StringExceededLength (dynamics-error-codes.md example text)."""
    if length is not None and len(value) > length:
        raise BcApiError(400, "Application_StringExceededLength",
                         "The length of the string is %d, but it must be less than or equal to %d characters. "
                         "Value: %s" % (len(value), length, value))


def coerce_value(prop: Prop, value: Any) -> Any:
    """A client's JSON value for one property -> the stored value, or BC's error.

    Code values are upper-cased (AL assigns Code fields upper-case); Text[n]/Code[n] lengths are enforced.
    """
    ftype = prop.type
    kind = ftype.kind
    if value is None:
        raise BcApiError(400, "BadRequest", (
            "A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. "
            "The expected type '%s[Nullable=False]' does not allow null values.") % (prop.name, ftype.edm, ftype.edm))
    if kind in ("code", "text"):
        if not isinstance(value, str):
            raise _cannot_convert(value, ftype)
        check_length(value, ftype.length)
        return value.upper() if kind == "code" else value
    if kind == "guid":
        if not isinstance(value, str) or not GUID_RE.match(value):
            raise _cannot_convert(value, ftype)
        return value.lower()
    if kind == "date":
        if not isinstance(value, str) or not _valid_date(value):
            raise _cannot_convert(value, ftype)
        return value
    if kind == "datetime":
        parsed = parse_datetime_literal(value) if isinstance(value, str) else None
        if parsed is None:
            raise _cannot_convert(value, ftype)
        return parsed
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _cannot_convert(value, ftype)
        return num(value)
    if kind in ("integer", "int64"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise _cannot_convert(value, ftype)
        if kind == "integer" and not (-2147483648 <= value <= 2147483647):
            raise _cannot_convert(value, ftype)
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _cannot_convert(value, ftype)
        return value
    if kind == "enum":
        if not isinstance(value, str) or (ftype.members and value not in ftype.members):
            raise _cannot_convert(value, ftype)
        return value
    raise AssertionError(kind)


def num(value: Any) -> int | float:
    """Decimals are stored as int when whole (JSON `100` rather than `100.0`)."""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def round2(value: Any) -> int | float:
    """Amount rounding (currency precision 0.01, half away from zero like BC's Round)."""
    return num(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def make_etag(version: int) -> str:
    """A weak ETag shaped like BC's: W/"base64('<n>;<digits>1;00;')" (e.g. W/"JzE5Ozc2Mzg5...OzAwOyc=")."""
    digits = str(version)
    inner = "'%d;%s1;00;'" % (len(digits), digits)
    return 'W/"%s"' % base64.b64encode(inner.encode("ascii")).decode("ascii")


def new_guid() -> str:
    return str(uuid.uuid4())


def project(etype: EntityType, record: dict, select: list[str] | None) -> dict:
    """Record -> wire dict of the selected properties (all when select is None)."""
    defaults = etype.defaults
    if select is None:
        return {p.name: record.get(p.key, defaults[p.key]) for p in etype.props.values()}
    props = etype.props
    return {name: record.get(props[name].key, defaults[props[name].key]) for name in select}

