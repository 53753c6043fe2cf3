"""The published JSON Schemas (docs/schemas/, 2020-12) in tests: validators, a generator of documents from a
schema, and the check every message the suite sends passes (`check_sent`, installed by tests/conftest.py on
the queue senders, outboxes and the test doubles of the notifier and outbox).

The generator covers the subset of JSON Schema the published schemas use ($ref into $defs, type, const,
enum, anyOf/oneOf, properties/required, string length, pattern and the formats date and date-time,
number bounds, array bounds) and filters its documents through the full validator, so `if`/`then` rules
hold. It stands in for hypothesis-jsonschema, whose 0.23.1 does not run on the Hypothesis this project pins
(its object strategy calls an internal of Hypothesis that has changed).
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping

from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"

#: Which schema each output queue's messages follow.
OUTPUT_SCHEMAS = {"bc-outcomes": "outcome-message", "bc-notifications": "notification-message",
                  "bc-expenses": "expense-message"}

#: How many sent messages were checked, by schema (the suite's summary prints it).
CHECKED: dict[str, int] = {}
_lock = threading.Lock()


@lru_cache(maxsize=None)
def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=FormatChecker())


def problems(name: str, document: Any) -> list[str]:
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator(name).iter_errors(document)]


def check_sent(name: str, message: Any) -> None:
    """Fail the test when `message` (a dict or its JSON text) does not follow schema `name`."""
    document = json.loads(message) if isinstance(message, (str, bytes)) else message
    found = problems(name, document)
    assert not found, f"a {name} the app sent does not follow docs/schemas/{name}.schema.json: {found}: {document}"
    with _lock:
        CHECKED[name] = CHECKED.get(name, 0) + 1


# -- documents from a schema -----------------------------------------------------------------------------

_YEAR_MIN = 1754
_MAX_ITEMS = 3  # arrays are drawn short: a thousand invoice lines prove nothing more than three


def documents(name: str, *, drop_read_only: bool = False) -> st.SearchStrategy[Any]:
    """Documents valid against schema `name` (read-only properties left out when asked)."""
    root = schema(name)
    check = validator(name)
    return _strategy(root, root, drop_read_only).filter(check.is_valid)


def _strategy(node: Mapping[str, Any], root: Mapping[str, Any], drop_ro: bool) -> st.SearchStrategy[Any]:
    rules = [rule for rule in node.get("allOf", []) if "if" in rule and "then" in rule]
    if rules:
        # Random documents seldom meet an `if` (a flag true and its required fields present): choose some
        # rules to meet, and draw from the node with their `if` and `then` merged in.
        base = {k: v for k, v in node.items() if k != "allOf"}

        def meeting(chosen: list[int]) -> st.SearchStrategy[Any]:
            merged: dict[str, Any] = dict(base)
            for index in chosen:
                merged = _deep_merge(_deep_merge(merged, rules[index]["if"]), rules[index]["then"])
            return _strategy(merged, root, drop_ro)

        return st.lists(st.integers(0, len(rules) - 1), unique=True, max_size=len(rules)).flatmap(meeting)
    if "$ref" in node:
        target = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        return _strategy({**{k: v for k, v in node.items() if k != "$ref"}, **target}, root, drop_ro)
    for key in ("oneOf", "anyOf"):
        if key in node:
            base = {k: v for k, v in node.items() if k != key}
            return st.one_of([_strategy(_merge(base, branch), root, drop_ro) for branch in node[key]])
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    kinds = node.get("type")
    if isinstance(kinds, list):
        return st.one_of([_strategy({**node, "type": k}, root, drop_ro) for k in kinds])
    if kinds == "null":
        return st.none()
    if kinds == "boolean":
        return st.booleans()
    if kinds == "integer":
        return st.integers(min_value=node.get("minimum"), max_value=node.get("maximum"))
    if kinds == "number":
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        return st.one_of(st.integers(min_value=None if low is None else int(low),
                                     max_value=None if high is None else int(high)),
                         st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False,
                                   exclude_min="exclusiveMinimum" in node, exclude_max="exclusiveMaximum" in node))
    if kinds == "string":
        return _string(node)
    if kinds == "array":
        items = _strategy(node.get("items", {}), root, drop_ro)
        return st.lists(items, min_size=node.get("minItems", 0),
                        max_size=min(node.get("maxItems", _MAX_ITEMS), max(_MAX_ITEMS, node.get("minItems", 0))))
    if kinds == "object" or "properties" in node:
        return _object(node, root, drop_ro)
    return st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10))


def _deep_merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties":
            props = dict(merged.get("properties", {}))
            for name, sub in value.items():
                props[name] = _deep_merge(props.get(name, {}), sub)
            merged["properties"] = props
        elif key == "required":
            merged["required"] = sorted(set(merged.get("required", [])) | set(value))
        elif key == "type" and isinstance(merged.get("type"), list) and not isinstance(value, list):
            merged["type"] = value
        else:
            merged[key] = value
    return merged


def _merge(base: Mapping[str, Any], branch: Mapping[str, Any]) -> dict[str, Any]:
    return _deep_merge(base, branch)


def _string(node: Mapping[str, Any]) -> st.SearchStrategy[str]:
    fmt = node.get("format")
    if fmt == "date":
        out = st.dates(min_value=_dt.date(_YEAR_MIN, 1, 1)).map(_dt.date.isoformat)
    elif fmt == "date-time":
        out = st.datetimes(min_value=_dt.datetime(_YEAR_MIN, 1, 1), timezones=st.just(_dt.timezone.utc)).map(
            lambda moment: moment.isoformat().replace("+00:00", "Z"))
    elif "pattern" in node:
        out = st.from_regex(node["pattern"], fullmatch=node["pattern"].startswith("^"))
    else:
        out = st.text(max_size=node.get("maxLength", 20))
    low, high = node.get("minLength", 0), node.get("maxLength")
    return out.filter(lambda text: low <= len(text) and (high is None or len(text) <= high))


def _object(node: Mapping[str, Any], root: Mapping[str, Any], drop_ro: bool) -> st.SearchStrategy[dict]:
    properties = {key: sub for key, sub in node.get("properties", {}).items()
                  if not (drop_ro and _resolve(sub, root).get("readOnly"))}
    required = [key for key in node.get("required", []) if key in properties]
    optional = [key for key in properties if key not in required]
    return st.fixed_dictionaries(
        {key: _strategy(properties[key], root, drop_ro) for key in required},
        optional={key: _strategy(properties[key], root, drop_ro) for key in optional})


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    if "$ref" not in node:
        return node
    target = root
    for part in node["$ref"].lstrip("#/").split("/"):
        target = target[part]
    return target
