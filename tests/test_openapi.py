"""docs/openapi.yaml describes exactly the HTTP routes the app registers (issue 11): a route or method that is
registered but not documented, or documented but not registered, fails; the document is valid OpenAPI 3.1;
anonymous routes say so and every other route needs the function key."""

from __future__ import annotations

from pathlib import Path

import yaml
from openapi_spec_validator import validate

from tests._app import FUNCTIONS

DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _spec() -> dict:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _registered() -> dict[tuple[str, str], str]:
    out = {}
    for function in FUNCTIONS.values():
        trigger = function.get_trigger()
        if trigger.type != "httpTrigger":
            continue
        for method in trigger.methods:
            out[("/" + trigger.route, str(getattr(method, "value", method)).lower())] = \
                str(getattr(trigger.auth_level, "value", trigger.auth_level)).lower()
    return out


def test_the_openapi_document_is_valid_openapi_3_1():
    spec = _spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_every_registered_route_and_method_is_documented_and_nothing_else():
    documented = {(path, method) for path, item in _spec()["paths"].items() for method in item if method in METHODS}
    assert documented == set(_registered())


def test_anonymous_routes_need_no_key_and_every_other_route_needs_the_function_key():
    spec = _spec()
    assert spec["security"] == [{"functionKey": []}, {"functionKeyQuery": []}]
    assert spec["components"]["securitySchemes"]["functionKey"] == {
        "type": "apiKey", "in": "header", "name": "x-functions-key",
        "description": spec["components"]["securitySchemes"]["functionKey"]["description"]}
    assert spec["components"]["securitySchemes"]["functionKeyQuery"]["name"] == "code"
    for (path, method), level in _registered().items():
        operation = spec["paths"][path][method]
        assert ("security" in operation and operation["security"] == []) == (level == "anonymous"), (path, method)


def test_every_operation_documents_its_answers_with_a_body_schema_or_none():
    for path, item in _spec()["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            assert operation["responses"], (path, method)
            assert operation.get("operationId"), (path, method)


def test_docs_requests_http_has_a_request_for_every_route():
    text = (DOCUMENT.parent / "requests.http").read_text(encoding="utf-8")
    found = set()
    for line in text.splitlines():
        parts = line.split(" ", 1)
        if len(parts) == 2 and parts[0] in {"GET", "PUT", "POST", "DELETE"} and parts[1].startswith("{{base}}/"):
            path = parts[1][len("{{base}}"):].split("?")[0].replace("{{name}}", "{name}")
            path = path.replace("/lookups/unitsOfMeasure", "/lookups/{kind}").replace(
                "/lookups/dimensionValues", "/lookups/{kind}")
            found.add((path, parts[0].lower()))
    assert found == set(_registered())
