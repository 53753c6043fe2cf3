"""JSON values as types, and how a JSON value's type is named in error messages ("Must be a string, not a
number.")."""

from __future__ import annotations

from typing import Any, Mapping, Union

__all__ = ["JsonValue", "JsonObject", "json_type"]

#: A value parsed from JSON text (`json.loads`), before it is checked.
JsonValue = Union[None, bool, int, float, str, list["JsonValue"], dict[str, "JsonValue"]]
#: A JSON object: a message, a settings document, a BC entity.
JsonObject = dict[str, JsonValue]


def json_type(value: Any) -> str:
    """The JSON type of `value` with its article, as a person reads it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
