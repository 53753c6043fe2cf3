"""How a JSON value's type is named in error messages ("Must be a string, not a number.")."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["json_type"]


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
