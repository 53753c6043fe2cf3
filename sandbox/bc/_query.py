"""OData query options as BC's OData stack parses them: $filter, $select, $expand, $orderby, $top, $skip.

$filter is compiled once per request into a Python predicate over stored records. What BC rejects, the
sandbox rejects with the same words: `or` across different fields ("The 'OR' operator is not supported
on distinct fields on an OData filter.", odata-known-limitations.md), a Guid compared with a quoted string,
an unknown property. Syntax messages follow Microsoft.OData.Core's texts ("Syntax error at position 7 in
'number eq'."), surfaced by BC as `BadRequest_NotFound` (dynamics-error-codes.md: "query syntax").
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sandbox.errors import BcApiError

from ._schema import EntityType, Prop
from ._values import parse_datetime_literal

__all__ = ["QueryOptions", "ExpandItem", "Filter", "compile_filter", "parse_options", "query_error"]

Predicate = Callable[[dict], bool]


def query_error(message: str) -> BcApiError:
    return BcApiError(400, "BadRequest_NotFound", message)


# -- tokens ---------------------------------------------------------------------------------------------
_TOKEN_PATTERNS = [
    ("datetime", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})")),
    ("guid", re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])")),
    ("date", re.compile(r"\d{4}-\d{2}-\d{2}(?![\w:])")),
    ("number", re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?(?![\w])")),
    ("ident", re.compile(r"[A-Za-z_][A-Za-z0-9_]*")),
]

_CMP_OPS = {
    "eq": (operator.eq, "Equal"),
    "ne": (operator.ne, "NotEqual"),
    "gt": (operator.gt, "GreaterThan"),
    "ge": (operator.ge, "GreaterThanOrEqual"),
    "lt": (operator.lt, "LessThan"),
    "le": (operator.le, "LessThanOrEqual"),
}
_FUNCS = {"contains", "startswith", "endswith"}


@dataclass
class _Tok:
    kind: str  # string datetime guid date number ident punct end
    text: str
    pos: int
    value: Any = None


def _tokenize(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "(),":
            toks.append(_Tok("punct", ch, i))
            i += 1
            continue
        if ch == "'":
            j = i + 1
            buf = []
            while True:
                if j >= n:
                    raise query_error("There is an unterminated string literal at position %d in '%s'." % (i, text))
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(text[j])
                j += 1
            toks.append(_Tok("string", text[i:j + 1], i, "".join(buf)))
            i = j + 1
            continue
        for kind, pattern in _TOKEN_PATTERNS:
            m = pattern.match(text, i)
            if m:
                toks.append(_Tok(kind, m.group(0), i))
                i = m.end()
                break
        else:
            raise query_error("Syntax error: character '%s' is not valid at position %d in '%s'." % (ch, i, text))
    toks.append(_Tok("end", "", n))
    return toks


# -- literals -------------------------------------------------------------------------------------------
@dataclass
class _Lit:
    edm: str
    value: Any


def _literal(tok: _Tok, text: str) -> _Lit | None:
    if tok.kind == "string":
        return _Lit("Edm.String", tok.value)
    if tok.kind == "guid":
        return _Lit("Edm.Guid", tok.text.lower())
    if tok.kind == "date":
        return _Lit("Edm.Date", tok.text)
    if tok.kind == "datetime":
        parsed = parse_datetime_literal(tok.text)
        if parsed is None:
            raise query_error("Syntax error at position %d in '%s'." % (tok.pos, text))
        return _Lit("Edm.DateTimeOffset", parsed)
    if tok.kind == "number":
        raw = tok.text.rstrip("mMdDfFlL")
        if re.fullmatch(r"-?\d+", raw):
            return _Lit("Edm.Int32", int(raw))
        return _Lit("Edm.Decimal", float(raw))
    if tok.kind == "ident" and tok.text in ("true", "false"):
        return _Lit("Edm.Boolean", tok.text == "true")
    if tok.kind == "ident" and tok.text == "null":
        return _Lit("null", None)
    return None


# -- AST ------------------------------------------------------------------------------------------------
@dataclass
class _Node:
    op: str  # cmp | func | and | or | not | prop
    args: tuple = ()
    fields: frozenset = frozenset()


@dataclass
class Filter:
    """A compiled $filter: the predicate plus the top-level `field op value` conjuncts (for index use)."""

    predicate: Predicate
    conjuncts: list[tuple[str, str, Any]] = field(default_factory=list)


class _Parser:
    def __init__(self, text: str, etype: EntityType) -> None:
        self.text = text
        self.etype = etype
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def _err(self, tok: _Tok | None = None) -> BcApiError:
        tok = tok or self.tok
        if tok.kind == "end":
            return query_error("Expression expected at position %d in '%s'." % (tok.pos, self.text))
        return query_error("Syntax error at position %d in '%s'." % (tok.pos, self.text))

    def parse(self) -> _Node:
        node = self._or()
        if self.tok.kind != "end":
            raise query_error("Syntax error at position %d in '%s'." % (self.tok.pos, self.text))
        return node

    def _kw(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text == word

    def _or(self) -> _Node:
        node = self._and()
        while self._kw("or"):
            self.i += 1
            right = self._and()
            fields = node.fields | right.fields
            if len(fields) > 1:
                raise BcApiError(400, "BadRequest",
                                 "The 'OR' operator is not supported on distinct fields on an OData filter.")
            node = _Node("or", (node, right), fields)
        return node

    def _and(self) -> _Node:
        node = self._unary()
        while self._kw("and"):
            self.i += 1
            right = self._unary()
            node = _Node("and", (node, right), node.fields | right.fields)
        return node

    def _unary(self) -> _Node:
        if self._kw("not"):
            self.i += 1
            inner = self._unary()
            return _Node("not", (inner,), inner.fields)
        return self._comparison()

    def _comparison(self) -> _Node:
        left = self._primary()
        if self.tok.kind == "ident" and self.tok.text in _CMP_OPS:
            op_tok = self.tok
            self.i += 1
            right = self._primary()
            return self._bind(left, op_tok.text, right)
        if isinstance(left, _Node):
            if left.op == "prop":
                prop = left.args[0]
                if prop.type.kind != "boolean":
                    raise query_error("The expression of type '%s' is not a boolean expression." % prop.type.edm)
                return self._bind(left, "eq", _Lit("Edm.Boolean", True))
            return left
        raise self._err()

    def _primary(self) -> Any:
        tok = self.tok
        if tok.kind == "punct" and tok.text == "(":
            self.i += 1
            node = self._or()
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise query_error("')' or operator expected at position %d in '%s'." % (self.tok.pos, self.text))
            self.i += 1
            return node
        lit = _literal(tok, self.text)
        if lit is not None:
            self.i += 1
            return lit
        if tok.kind == "ident":
            self.i += 1
            if self.tok.kind == "punct" and self.tok.text == "(":
                return self._function(tok)
            prop = self.etype.props.get(tok.text)
            if prop is None:
                raise query_error("Could not find a property named '%s' on type '%s'."
                                  % (tok.text, self.etype.qualified))
            return _Node("prop", (prop,), frozenset([prop.key]))
        raise self._err(tok)

    def _function(self, name_tok: _Tok) -> _Node:
        name = name_tok.text
        if name not in _FUNCS:
            raise query_error("An unknown function with name '%s' was found. This may also be a function import or "
                              "a key lookup on a navigation property, which is not allowed." % name)
        self.i += 1  # (
        target = self._primary()
        if not (self.tok.kind == "punct" and self.tok.text == ","):
            raise query_error("',' expected at position %d in '%s'." % (self.tok.pos, self.text))
        self.i += 1
        arg = self._primary()
        if not (self.tok.kind == "punct" and self.tok.text == ")"):
            raise query_error("')' expected at position %d in '%s'." % (self.tok.pos, self.text))
        self.i += 1
        if not (isinstance(target, _Node) and target.op == "prop") or not isinstance(arg, _Lit) \
                or arg.edm != "Edm.String" or target.args[0].type.kind not in ("code", "text"):
            raise query_error("No function signature for the function with name '%s' matches the specified "
                              "arguments." % name)
        prop = target.args[0]
        return _Node("func", (name, prop, arg.value), frozenset([prop.key]))

    def _bind(self, left: Any, op: str, right: Any) -> _Node:
        if isinstance(left, _Lit) and isinstance(right, _Node):
            left, right = right, left
            op = {"gt": "lt", "lt": "gt", "ge": "le", "le": "ge"}.get(op, op)
        if not (isinstance(left, _Node) and left.op == "prop" and isinstance(right, _Lit)):
            raise query_error("Syntax error at position %d in '%s'." % (self.tok.pos, self.text))
        prop: Prop = left.args[0]
        value = _coerce_literal(prop, right, op)
        return _Node("cmp", (prop, op, value), frozenset([prop.key]))


def _incompatible(prop: Prop, lit: _Lit, op: str) -> BcApiError:
    return query_error(
        "A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator "
        "kind '%s'." % (prop.type.edm, lit.edm if lit.edm != "null" else "<null>", _CMP_OPS[op][1]))


def _coerce_literal(prop: Prop, lit: _Lit, op: str) -> Any:
    kind = prop.type.kind
    if kind in ("code", "text"):
        if lit.edm != "Edm.String":
            raise _incompatible(prop, lit, op)
        return lit.value
    if kind == "enum":
        if lit.edm != "Edm.String":
            raise _incompatible(prop, lit, op)
        members = prop.type.members
        if members and lit.value not in members:
            raise query_error("The string '%s' is not a valid enumerated type constant." % lit.value)
        return lit.value
    expected = {
        "guid": ("Edm.Guid",),
        "date": ("Edm.Date",),
        "datetime": ("Edm.DateTimeOffset",),
        "boolean": ("Edm.Boolean",),
        "decimal": ("Edm.Int32", "Edm.Decimal"),
        "integer": ("Edm.Int32", "Edm.Decimal"),
        "int64": ("Edm.Int32", "Edm.Decimal"),
    }[kind]
    if lit.edm not in expected:
        raise _incompatible(prop, lit, op)
    return lit.value


def _compile(node: _Node, etype: EntityType) -> Predicate:
    defaults = etype.defaults
    if node.op == "cmp":
        prop, op, value = node.args
        key, default = prop.key, defaults[prop.key]
        fn = _CMP_OPS[op][0]
        if prop.type.kind == "enum" and prop.type.members and op not in ("eq", "ne"):
            order = {m: i for i, m in enumerate(prop.type.members)}
            rank = order[value]
            return lambda r: fn(order.get(r.get(key, default), -1), rank)
        return lambda r: fn(r.get(key, default), value)
    if node.op == "func":
        name, prop, value = node.args
        key = prop.key
        if name == "contains":
            return lambda r: value in r.get(key, "")
        if name == "startswith":
            return lambda r: r.get(key, "").startswith(value)
        return lambda r: r.get(key, "").endswith(value)
    if node.op == "and":
        a, b = (_compile(x, etype) for x in node.args)
        return lambda r: a(r) and b(r)
    if node.op == "or":
        a, b = (_compile(x, etype) for x in node.args)
        return lambda r: a(r) or b(r)
    if node.op == "not":
        inner = _compile(node.args[0], etype)
        return lambda r: not inner(r)
    raise AssertionError(node.op)


def _conjuncts(node: _Node) -> list[tuple[str, str, Any]]:
    if node.op == "and":
        return _conjuncts(node.args[0]) + _conjuncts(node.args[1])
    if node.op == "cmp":
        prop, op, value = node.args
        return [(prop.key, op, value)]
    return []


def compile_filter(text: str, etype: EntityType) -> Filter:
    node = _Parser(text, etype).parse()
    return Filter(_compile(node, etype), _conjuncts(node))


# -- the other options ----------------------------------------------------------------------------------
@dataclass
class ExpandItem:
    name: str
    options: dict[str, str]


@dataclass
class QueryOptions:
    filter: str | None = None
    select: list[str] | None = None
    expand: list[ExpandItem] = field(default_factory=list)
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property name, descending)
    top: int | None = None
    skip: int | None = None
    count: bool = False
    skiptoken: str | None = None


_KNOWN = {"$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$skiptoken", "$schemaversion",
          "$format"}


def _split_top_level(text: str, sep: str) -> list[str]:
    """Split on `sep` outside parentheses and quotes."""
    parts, depth, buf, quoted = [], 0, [], False
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            elif ch == sep and depth == 0:
                parts.append("".join(buf))
                buf = []
                continue
        buf.append(ch)
    parts.append("".join(buf))
    return [p.strip() for p in parts if p.strip()]


def _parse_expand(text: str) -> list[ExpandItem]:
    items = []
    for part in _split_top_level(text, ","):
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", part, re.S)
        if not m:
            raise query_error("Syntax error at position 0 in '%s'." % text)
        opts: dict[str, str] = {}
        if m.group(2):
            for opt in _split_top_level(m.group(2), ";"):
                key, eq, val = opt.partition("=")
                if not eq:
                    raise query_error("Syntax error at position 0 in '%s'." % opt)
                opts[key.strip()] = val.strip()
        items.append(ExpandItem(m.group(1), opts))
    return items


def _nonneg(name: str, value: str) -> int:
    if not re.fullmatch(r"\d+", value.strip()):
        raise BcApiError(400, "BadRequest", "Invalid value '%s' for %s query option found. The %s query option "
                                            "requires a non-negative integer value." % (value, name, name))
    return int(value)


def parse_options(args: dict[str, str], *, strict: bool = True) -> QueryOptions:
    """Query options from request arguments (or an $expand item's nested options)."""
    opts = QueryOptions()
    for key in args:
        if key.startswith("$") and key not in _KNOWN and strict:
            raise BcApiError(400, "BadRequest", "The query parameter '%s' is not supported." % key)
    if "$filter" in args:
        opts.filter = args["$filter"]
    if "$select" in args:
        opts.select = [s.strip() for s in args["$select"].split(",") if s.strip()]
    if "$expand" in args:
        opts.expand = _parse_expand(args["$expand"])
    if "$orderby" in args:
        for part in _split_top_level(args["$orderby"], ","):
            words = part.split()
            if len(words) not in (1, 2) or (len(words) == 2 and words[1] not in ("asc", "desc")):
                raise query_error("Syntax error at position %d in '%s'." % (len(words[0]), args["$orderby"]))
            opts.orderby.append((words[0], len(words) == 2 and words[1] == "desc"))
    if "$top" in args:
        opts.top = _nonneg("$top", args["$top"])
    if "$skip" in args:
        opts.skip = _nonneg("$skip", args["$skip"])
    if "$count" in args:
        if args["$count"] not in ("true", "false"):
            raise BcApiError(400, "BadRequest", "'%s' is not a valid count option." % args["$count"])
        opts.count = args["$count"] == "true"
    if "$skiptoken" in args:
        opts.skiptoken = args["$skiptoken"]
    return opts


def check_select(names: list[str] | None, etype: EntityType, navs: set[str]) -> list[str] | None:
    """Validate $select; navigation names in $select are allowed by OData and ignored here."""
    if names is None:
        return None
    out = []
    for name in names:
        if name == "*":
            return None
        if name in etype.props:
            out.append(name)
        elif name not in navs:
            raise query_error("Could not find a property named '%s' on type '%s'." % (name, etype.qualified))
    return out
