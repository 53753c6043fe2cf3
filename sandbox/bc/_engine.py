"""The generic part of the API: where rows come from (sources), how a query runs, how an entity renders.

Every collection the API can address - a company's table, the lines of one document, the dimension set
lines of one record, a lookup such as an invoice's customer - is a `Source`. Queries run the same way over
all of them: $filter compiled once, the default order is the table's primary key, server-driven paging
resumes *after the last key returned* (an opaque `$skiptoken`), so records inserted meanwhile neither
repeat nor shift a page. Lookups by an indexed field (documentId, id, number, ...) use the index instead
of a scan.
"""

from __future__ import annotations

import base64
import bisect
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from sandbox.errors import BcApiError

from ._bcerrors import not_implemented, record_not_found
from ._query import QueryOptions, check_select, compile_filter, parse_options, query_error
from ._schema import EntityType
from ._store import Table
from ._values import make_etag, project

if TYPE_CHECKING:
    from ._company import Company, Environment
    from ._http import Call

__all__ = ["Ctx", "Behavior", "Source", "TableSource", "ListSource", "run_list", "render", "list_all", "count_rows"]

MAX_PAGE_SIZE = 20000  # operational-limits-online.md


@dataclass
class Ctx:
    env: "Environment"
    company: "Company | None"
    call: "Call"
    types: dict[str, EntityType]
    behaviors: dict[str, "Behavior"]
    api_root: str
    known_sets: frozenset = frozenset()  # entity sets BC has but the sandbox does not serve

    def behavior(self, set_name: str) -> "Behavior":
        return self.behaviors[set_name]


class Behavior:
    """What an entity set does beyond storing rows: its navigations, write rules and actions."""

    set_name = ""
    #: navigation name -> (kind, target set, field). kind: lookup (single, by id field), lines, dims, children
    navigations: dict[str, tuple[str, str, str]] = {}
    deep_navs: tuple[str, ...] = ()
    extra_writable: tuple[str, ...] = ()

    def __init__(self, etype: EntityType) -> None:
        self.etype = etype

    # ids of the record for BC's "does not exist" text
    def key_fields(self, key: str) -> list[tuple[str, str]]:
        return [("Id" if self.etype.caption.endswith(("Aggregate", "Buffer")) else "SystemId", key)]

    def nav_source(self, ctx: Ctx, name: str, record: dict) -> "Source":
        spec = self.navigations.get(name)
        if spec is None:
            if name in self.etype.parts:
                raise not_implemented("the navigation '%s' of %s" % (name, self.set_name))
            raise query_error("Could not find a property named '%s' on type '%s'." % (name, self.etype.qualified))
        kind, target, fieldname = spec
        if kind == "lookup":
            behavior = ctx.behavior(target)
            return TableSource(ctx, behavior, only_id=record.get(fieldname, ""), single=True)
        if kind in ("lines", "children"):
            behavior = ctx.behavior(target)
            return TableSource(ctx, behavior, parent_field=fieldname, parent_value=record["id"], parent=record,
                               parent_behavior=self)
        if kind == "dims":
            from ._dimsets import DimSetSource

            return DimSetSource(ctx, self, record)
        raise AssertionError(kind)

    def navs_known(self) -> tuple[str, ...]:
        return tuple(self.navigations) + tuple(self.etype.parts)

    # writes: subclasses override
    def create(self, ctx: Ctx, values: dict, navs: dict, parent: dict | None) -> dict:
        raise not_implemented("creating %s" % self.set_name)

    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        raise not_implemented("updating %s" % self.set_name)

    def delete(self, ctx: Ctx, record: dict) -> None:
        raise not_implemented("deleting %s" % self.set_name)

    def action(self, ctx: Ctx, record: dict, name: str) -> None:
        raise not_implemented("the action '%s' on %s" % (name, self.set_name))

    def check_list(self, source: "Source", conjuncts: list[tuple[str, str, Any]]) -> None:
        """Hook: some sets cannot be listed without a filter (lines need a document id)."""

    def table(self, ctx: Ctx) -> Table:
        assert ctx.company is not None
        return ctx.company.t(self.set_name)


class Source:
    """A collection the API can address. Subclasses give rows in default order and write access."""

    etype: EntityType
    behavior: Behavior
    single = False

    def rows(self) -> list[dict]:
        return list(self.scan())

    def scan(self, after: tuple | None = None, start: tuple | None = None) -> Iterator[dict]:
        raise NotImplementedError

    def order_key(self, record: dict) -> tuple:
        raise NotImplementedError

    def get(self, key: str) -> dict | None:
        raise NotImplementedError

    def etag(self, record: dict) -> str:
        return make_etag(record["_rv"])

    def candidates(self, conjuncts: list[tuple[str, str, Any]]) -> list[dict] | None:
        return None

    def range_start(self, conjuncts: list[tuple[str, str, Any]]) -> tuple | None:
        return None

    def insert(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        raise NotImplementedError

    def update(self, ctx: Ctx, record: dict, values: dict) -> dict:
        return self.behavior.update(ctx, record, values)

    def delete(self, ctx: Ctx, record: dict) -> None:
        self.behavior.delete(ctx, record)

    def not_found(self, key: str) -> BcApiError:
        return record_not_found(self.etype.caption, self.behavior.key_fields(key))


class TableSource(Source):
    """Rows of a company table, optionally limited to one parent (lines of a document) or one id (lookups)."""

    def __init__(self, ctx: Ctx, behavior: Behavior, *, parent_field: str | None = None, parent_value: Any = None,
                 parent: dict | None = None, parent_behavior: Behavior | None = None, only_id: str | None = None,
                 single: bool = False) -> None:
        self.ctx = ctx
        self.behavior = behavior
        self.etype = behavior.etype
        self.table = behavior.table(ctx)
        self.parent_field = parent_field
        self.parent_value = parent_value
        self.parent = parent
        self.parent_behavior = parent_behavior
        self.only_id = only_id
        self.single = single

    def _limited(self) -> list[dict] | None:
        if self.only_id is not None:
            row = self.table.get(self.only_id)
            return [row] if row is not None else []
        if self.parent_field is not None:
            return self.table.by_index(self.parent_field, self.parent_value)
        return None

    def order_key(self, record: dict) -> tuple:
        return self.table.order_key(record)

    def scan(self, after: tuple | None = None, start: tuple | None = None) -> Iterator[dict]:
        limited = self._limited()
        if limited is None:
            yield from self.table.scan(after=after, start=start)
            return
        yield from _scan_list(limited, self.order_key, after, start)

    def get(self, key: str) -> dict | None:
        row = self.table.get(key.lower())
        if row is None:
            return None
        if self.parent_field is not None and self.table.field(row, self.parent_field) != self.parent_value:
            return None
        if self.only_id is not None and row["id"] != self.only_id:
            return None
        return row

    def candidates(self, conjuncts: list[tuple[str, str, Any]]) -> list[dict] | None:
        if self._limited() is not None:
            return None
        for key, op, value in conjuncts:
            if op != "eq":
                continue
            if key == "id":
                row = self.table.get(value)
                return [row] if row is not None else []
            if self.table.has_index(key):
                return self.table.by_index(key, value)
            if key in ("number", "code") and self.table.sort_keys == (key,):
                row = self.table.find(key, value)
                return [row] if row is not None else []
        return None

    def range_start(self, conjuncts: list[tuple[str, str, Any]]) -> tuple | None:
        if self._limited() is not None:
            return None
        first = self.table.sort_keys[0]
        for key, op, value in conjuncts:
            if key == first and op in ("eq", "ge", "gt"):
                return (value,)
        return None

    def insert(self, ctx: Ctx, values: dict, navs: dict) -> dict:
        if self.parent_field is not None and self.parent_field in values \
                and values[self.parent_field] != self.parent_value:
            raise BcApiError(400, "BadRequest", "The value of '%s' does not match the parent." % self.parent_field)
        return self.behavior.create(ctx, values, navs, self.parent)


class ListSource(Source):
    """Rows computed per request (dimension set lines); small, so kept in a list."""

    def __init__(self, behavior: Behavior, rows: list[dict], key_field: str = "id") -> None:
        self.behavior = behavior
        self.etype = behavior.etype
        self._rows = rows
        self._key_field = key_field

    def order_key(self, record: dict) -> tuple:
        return (record.get("_sort", ""), record["id"])

    def scan(self, after: tuple | None = None, start: tuple | None = None) -> Iterator[dict]:
        yield from _scan_list(sorted(self._rows, key=self.order_key), self.order_key, after, start)

    def get(self, key: str) -> dict | None:
        for row in self._rows:
            if row[self._key_field] == key.lower():
                return row
        return None


def _scan_list(rows: list[dict], key: Callable[[dict], tuple], after: tuple | None,
               start: tuple | None) -> Iterator[dict]:
    if after is None and start is None:
        yield from rows
        return
    keys = [key(r) for r in rows]
    pos = bisect.bisect_right(keys, after) if after is not None else bisect.bisect_left(keys, start)
    yield from rows[pos:]


# -- ordering with $orderby ------------------------------------------------------------------------------
class _Desc:
    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: "_Desc") -> bool:
        return other.v < self.v

    def __gt__(self, other: "_Desc") -> bool:
        return other.v > self.v

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v

    def __le__(self, other: "_Desc") -> bool:
        return other.v <= self.v

    def __ge__(self, other: "_Desc") -> bool:
        return other.v >= self.v


def _encode_token(key: tuple, returned: int) -> str:
    raw = json.dumps([[k.v if isinstance(k, _Desc) else k for k in key], returned], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_token(token: str, desc_flags: list[bool]) -> tuple[tuple, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key, returned = json.loads(raw)
        values = list(key)
        for i, desc in enumerate(desc_flags):
            if desc:
                values[i] = _Desc(values[i])
        return tuple(values), int(returned)
    except Exception:
        raise BcApiError(400, "BadRequest", "The skip token value '%s' is not valid." % token) from None


@dataclass
class Page:
    rows: list[dict]
    next_token: str | None
    count: int | None


def run_list(ctx: Ctx, source: Source, opts: QueryOptions, page_size: int | None) -> Page:
    """Filter, order and cut one page; page_size None means no server paging (expanded collections)."""
    etype = source.etype
    flt = compile_filter(opts.filter, etype) if opts.filter else None
    conjuncts = flt.conjuncts if flt else []
    source.behavior.check_list(source, conjuncts)
    pred = flt.predicate if flt else None
    order_props = []
    for name, desc in opts.orderby:
        prop = etype.props.get(name)
        if prop is None:
            raise query_error("Could not find a property named '%s' on type '%s'." % (name, etype.qualified))
        order_props.append((prop.key, etype.defaults[prop.key], desc))
    desc_flags = [d for _, _, d in order_props]
    after, returned = (None, 0)
    if opts.skiptoken:
        after, returned = _decode_token(opts.skiptoken, desc_flags)
    take = page_size if page_size is not None else None
    if opts.top is not None:
        remaining = opts.top - returned
        if remaining <= 0:
            return Page([], None, count_rows(source, conjuncts, pred) if opts.count else None)
        take = remaining if take is None else min(take, remaining)
    skip = opts.skip or 0 if not opts.skiptoken else 0

    if order_props:
        def okey(r: dict) -> tuple:
            vals = tuple(_Desc(r.get(k, d)) if desc else r.get(k, d) for k, d, desc in order_props)
            return vals + source.order_key(r)

        cands = source.candidates(conjuncts)
        rows = cands if cands is not None else source.rows()
        keyed = sorted(((okey(r), r) for r in rows if pred is None or pred(r)), key=lambda kv: kv[0])
        keys = [k for k, _ in keyed]
        pos = bisect.bisect_right(keys, after) if after is not None else skip
        end = len(keyed) if take is None else pos + take + 1
        chunk = keyed[pos:end]
        page = [r for _, r in chunk]
        key_of: Callable[[dict], tuple] = okey
    else:
        cands = source.candidates(conjuncts)
        if cands is not None:
            it: Iterable[dict] = _scan_list(cands, source.order_key, after, None)
        else:
            start = source.range_start(conjuncts) if after is None else None
            it = source.scan(after=after, start=start)
        page = []
        for r in it:
            if pred is not None and not pred(r):
                continue
            if skip:
                skip -= 1
                continue
            page.append(r)
            if take is not None and len(page) > take:
                break
        key_of = source.order_key
    more = take is not None and len(page) > take
    if more:
        page = page[:take]
    if opts.top is not None and returned + len(page) >= opts.top:
        more = False
    token = _encode_token(key_of(page[-1]), returned + len(page)) if more and page else None
    count = count_rows(source, conjuncts, pred) if opts.count else None
    return Page(page, token, count)


def count_rows(source: Source, conjuncts: list | None = None, pred: Callable | None = None) -> int:
    cands = source.candidates(conjuncts or [])
    rows = cands if cands is not None else source.scan()
    return sum(1 for r in rows if pred is None or pred(r))


def list_all(ctx: Ctx, source: Source, opts: QueryOptions) -> list[dict]:
    return run_list(ctx, source, opts, None).rows


def render(ctx: Ctx, source: Source, record: dict, opts: QueryOptions) -> dict:
    """One entity as JSON: @odata.etag, the (selected) properties, then expanded navigations."""
    behavior = source.behavior
    navs = set(behavior.navs_known())
    select = check_select(opts.select, source.etype, navs)
    out: dict[str, Any] = {"@odata.etag": source.etag(record)}
    out.update(project(source.etype, record, select))
    for item in opts.expand:
        nav_source = behavior.nav_source(ctx, item.name, record)
        sub = parse_options(item.options)
        if nav_source.single:
            rows = list_all(ctx, nav_source, sub)
            out[item.name] = render(ctx, nav_source, rows[0], sub) if rows else None
        else:
            out[item.name] = [render(ctx, nav_source, r, sub) for r in list_all(ctx, nav_source, sub)]
    return out
