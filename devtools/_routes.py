"""Route templates of HTTP triggers, matched like the Functions host (ASP.NET Core routing) does.

Supported: literal segments (case-insensitive), ``{name}``, ``{name?}`` (optional, trailing segments
only), ``{name=default}``, ``{name:constraint}`` with the common ASP.NET constraints
(int, long, bool, guid, alpha, double, decimal, float, datetime, min/max/range, minlength/maxlength/
length, regex), and a trailing catch-all ``{*rest}``. A segment may mix literals and parameters
(``file.{ext}``). Percent-escapes in values are decoded, except ``%2F``, which ASP.NET keeps encoded so
a value can never add a path segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = ["RouteTemplate", "RouteTemplateError", "split_path"]

_GUID = r"[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}|\{[0-9A-Fa-f-]{36}\}"
_PATTERNS = {
    "int": r"-?\d+",
    "long": r"-?\d+",
    "bool": r"(?i:true|false)",
    "guid": _GUID,
    "alpha": r"[A-Za-z]+",
    "double": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "float": r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?",
    "decimal": r"-?\d+(?:\.\d+)?",
    "datetime": r"[^/]+",
}
_PARAM = re.compile(r"\{([^{}]+)\}")
_CONSTRAINT_WITH_ARG = re.compile(r"^(min|max|range|minlength|maxlength|length|regex)\((.*)\)$", re.S)

# Precedence ranks (ASP.NET Core RoutePrecedence: literal < complex < constrained < plain < catch-all).
_LITERAL, _COMPLEX, _CONSTRAINED, _PLAIN, _CATCH_ALL = 1, 2, 3, 4, 5


class RouteTemplateError(ValueError):
    """The route template uses syntax the dev host does not understand; the message quotes it."""


@dataclass
class _Param:
    name: str
    optional: bool = False
    default: str | None = None
    catch_all: bool = False
    checks: list = field(default_factory=list)  # callables str -> bool
    pattern: str = r"[^/]+?"


@dataclass
class _Segment:
    regex: re.Pattern
    params: list[_Param]
    rank: int

    @property
    def only_param(self) -> _Param | None:
        return self.params[0] if self.rank != _LITERAL and self.rank != _COMPLEX and self.params else None


def split_path(raw_path: str) -> list[str]:
    """Split a raw (still percent-encoded) path into decoded segments, keeping ``%2F`` encoded."""
    segments = [s for s in raw_path.split("/")]
    while segments and segments[-1] == "":
        segments.pop()
    while segments and segments[0] == "":
        segments.pop(0)
    return [unquote(re.sub(r"%2[fF]", "%252F", s)) for s in segments]


class RouteTemplate:
    """One HTTP trigger route, e.g. ``connectors/{name}/lookups/{kind}``, without the ``api/`` prefix."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._segments = [self._compile_segment(s) for s in split_template(template)]
        for i, seg in enumerate(self._segments):
            p = seg.only_param
            if p and p.catch_all and i != len(self._segments) - 1:
                raise RouteTemplateError("catch-all parameter must be the last segment in %r" % template)
            if p and (p.optional or p.default is not None):
                rest = self._segments[i + 1:]
                if any(not (r.only_param and (r.only_param.optional or r.only_param.default is not None
                                              or r.only_param.catch_all)) for r in rest):
                    raise RouteTemplateError(
                        "optional parameter {%s} must be followed only by optional segments in %r"
                        % (p.name, template))
        self.param_names = [p.name for s in self._segments for p in s.params]

    @property
    def precedence(self) -> tuple[int, ...]:
        """Sort key: routes with more specific leading segments are tried first."""
        return tuple(s.rank for s in self._segments)

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Route values for a decoded path split by :func:`split_path`, or None if it does not match."""
        values: dict[str, str] = {}
        for i, seg in enumerate(self._segments):
            p = seg.only_param
            if p is not None and p.catch_all:
                rest = "/".join(segments[i:])
                if rest and not all(check(rest) for check in p.checks):
                    return None
                if rest:
                    values[p.name] = rest
                elif p.default is not None:
                    values[p.name] = p.default
                return values
            if i >= len(segments):
                if p is not None and (p.optional or p.default is not None):
                    if p.default is not None:
                        values[p.name] = p.default
                    continue
                return None
            m = seg.regex.fullmatch(segments[i])
            if m is None:
                return None
            for param in seg.params:
                value = m.group(param.name)
                if not all(check(value) for check in param.checks):
                    return None
                values[param.name] = value
        if len(segments) > len(self._segments):
            return None
        return values

    def __repr__(self) -> str:
        return "RouteTemplate(%r)" % self.template

    # -- compiling -------------------------------------------------------------------------------

    def _compile_segment(self, text: str) -> _Segment:
        if not text:
            raise RouteTemplateError("empty segment in route %r" % self.template)
        params: list[_Param] = []
        pattern = []
        pos = 0
        for m in _PARAM.finditer(text):
            pattern.append(re.escape(text[pos:m.start()]))
            param = self._parse_param(m.group(1))
            params.append(param)
            pattern.append("(?P<%s>%s)" % (param.name, param.pattern))
            pos = m.end()
        pattern.append(re.escape(text[pos:]))
        if "{" in _PARAM.sub("", text) or "}" in _PARAM.sub("", text):
            raise RouteTemplateError("unbalanced braces in route %r" % self.template)
        if not params:
            rank = _LITERAL
        elif len(params) == 1 and _PARAM.fullmatch(text):
            p = params[0]
            rank = _CATCH_ALL if p.catch_all else (_CONSTRAINED if p.checks or p.pattern != r"[^/]+?" else _PLAIN)
        else:
            rank = _COMPLEX
            if any(p.optional or p.catch_all for p in params):
                raise RouteTemplateError("optional or catch-all parameters must fill a whole segment in %r"
                                         % self.template)
        return _Segment(re.compile("".join(pattern), re.IGNORECASE), params, rank)

    def _parse_param(self, body: str) -> _Param:
        catch_all = body.startswith("*")
        body = body.lstrip("*")
        name, *constraints = _split_constraints(body)
        param = _Param(name=name, catch_all=catch_all)
        if "=" in name:
            param.name, param.default = name.split("=", 1)
        if param.name.endswith("?"):
            param.name, param.optional = param.name[:-1], True
        if constraints and constraints[-1].endswith("?"):
            constraints[-1], param.optional = constraints[-1][:-1], True
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", param.name):
            raise RouteTemplateError("bad parameter name %r in route %r" % (param.name, self.template))
        if catch_all:
            param.pattern = r".*"
        for c in constraints:
            self._apply_constraint(param, c)
        return param

    def _apply_constraint(self, param: _Param, constraint: str) -> None:
        if constraint in _PATTERNS:
            param.pattern = "(?:%s)" % _PATTERNS[constraint]
            return
        m = _CONSTRAINT_WITH_ARG.match(constraint)
        if not m:
            raise RouteTemplateError("unsupported route constraint %r in %r" % (constraint, self.template))
        kind, arg = m.groups()
        if kind == "regex":
            rx = re.compile(arg)
            param.checks.append(lambda v, rx=rx: rx.search(v) is not None)
            return
        nums = [int(a) for a in arg.split(",")]
        if kind == "min":
            param.checks.append(lambda v, n=nums[0]: _int_or_none(v) is not None and _int_or_none(v) >= n)
        elif kind == "max":
            param.checks.append(lambda v, n=nums[0]: _int_or_none(v) is not None and _int_or_none(v) <= n)
        elif kind == "range":
            param.checks.append(lambda v, a=nums[0], b=nums[1]: _int_or_none(v) is not None
                                and a <= _int_or_none(v) <= b)
        elif kind == "minlength":
            param.checks.append(lambda v, n=nums[0]: len(v) >= n)
        elif kind == "maxlength":
            param.checks.append(lambda v, n=nums[0]: len(v) <= n)
        elif kind == "length":
            lo, hi = (nums[0], nums[0]) if len(nums) == 1 else (nums[0], nums[1])
            param.checks.append(lambda v, lo=lo, hi=hi: lo <= len(v) <= hi)


def split_template(template: str) -> list[str]:
    """Split on '/' outside braces (regex constraints may contain slashes)."""
    parts, depth, current = [], 0, []
    for ch in template.strip("/"):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "/" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    if current or parts:
        parts.append("".join(current))
    return parts


def _split_constraints(body: str) -> list[str]:
    """``name:int:min(1)`` -> ['name', 'int', 'min(1)'], keeping colons inside parentheses."""
    parts, depth, current = [], 0, []
    for ch in body:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == ":" and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None
