"""Route templates of HTTP triggers, matched like the Functions host (ASP.NET Core routing)."""

from __future__ import annotations

import pytest

from devtools.devhost import RouteTemplate, RouteTemplateError
from devtools._routes import split_path


def match(template: str, path: str) -> dict[str, str] | None:
    return RouteTemplate(template).match(split_path(path))


def test_parameters_become_route_params() -> None:
    assert match("connectors/{name}/lookups/{kind}", "/connectors/demo/lookups/unitsOfMeasure") == {
        "name": "demo", "kind": "unitsOfMeasure"}


def test_literal_segments_match_case_insensitively() -> None:
    assert match("connectors/{name}", "/Connectors/demo") == {"name": "demo"}


def test_a_different_literal_does_not_match() -> None:
    assert match("connectors/{name}", "/consent/demo") is None


def test_extra_segments_do_not_match() -> None:
    assert match("connectors/{name}", "/connectors/demo/replay") is None


def test_trailing_slash_is_ignored() -> None:
    assert match("health", "/health/") == {}


def test_optional_parameter_may_be_absent() -> None:
    assert match("connectors/{name}/lookups/{kind?}", "/connectors/demo/lookups") == {"name": "demo"}
    assert match("connectors/{name}/lookups/{kind?}", "/connectors/demo/lookups/items") == {
        "name": "demo", "kind": "items"}


def test_alpha_constraint_rejects_digits() -> None:
    assert match("kinds/{kind:alpha}", "/kinds/items") == {"kind": "items"}
    assert match("kinds/{kind:alpha}", "/kinds/items2") is None


def test_int_constraint_and_optional_constraint() -> None:
    assert match("entries/{n:int?}", "/entries/42") == {"n": "42"}
    assert match("entries/{n:int?}", "/entries") == {}
    assert match("entries/{n:int?}", "/entries/x") is None


def test_default_value_fills_a_missing_parameter() -> None:
    assert match("pages/{page=1}", "/pages") == {"page": "1"}


def test_values_are_percent_decoded_except_slash() -> None:
    assert match("companies/{name}", "/companies/CRONUS%20USA%2C%20Inc.") == {"name": "CRONUS USA, Inc."}
    assert match("companies/{name}", "/companies/Nord%2FSud") == {"name": "Nord%2FSud"}


def test_catch_all_takes_the_rest_of_the_path() -> None:
    assert match("files/{*rest}", "/files/a/b/c") == {"rest": "a/b/c"}


def test_literal_routes_take_precedence_over_parameters() -> None:
    literal, param = RouteTemplate("connectors/health"), RouteTemplate("connectors/{name}")
    assert sorted([param, literal], key=lambda t: t.precedence) == [literal, param]


def test_unknown_constraint_is_rejected_at_load() -> None:
    with pytest.raises(RouteTemplateError, match="unsupported route constraint 'nonsense'"):
        RouteTemplate("x/{id:nonsense}")


def test_optional_parameter_must_not_be_followed_by_required_segments() -> None:
    with pytest.raises(RouteTemplateError, match=r"optional parameter \{kind\} must be followed only by optional"):
        RouteTemplate("x/{kind?}/y")
