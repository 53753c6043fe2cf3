"""API v2.0 routing: `api/v2.0/companies({id})/{entitySet}(...)/{navigation}/...`, GET/POST/PATCH/DELETE.

Paths arrive still percent-encoded, so splitting on '/' never cuts a key; each segment is decoded once.
Statuses per Microsoft's API v2.0 reference (https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/, e.g. the customer pages): POST 201 with the entity, PATCH 200,
DELETE 204, bound action 204, collections `{"@odata.context", "value"}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sandbox.errors import BcApiError

from ._bcerrors import method_not_allowed, not_implemented, resource_not_found
from ._company import Environment
from ._dimsets import PARENT_NOT_SPECIFIED
from ._engine import MAX_PAGE_SIZE, Behavior, Ctx, Source, TableSource, count_rows, render, run_list
from ._http import Call, Result, check_if_match, coerce_body, json_body, query_string
from ._query import QueryOptions, parse_options
from ._schema import EntityType
from ._values import GUID_RE

__all__ = ["handle_api", "page_size", "collection_result", "entity_result", "split_path"]

_SEGMENT = re.compile(r"^([^()]+)(?:\((.*)\))?$", re.S)


def split_path(path: str) -> list[tuple[str, str | None]]:
    """'companies(x)/customers' -> [('companies', 'x'), ('customers', None)], each segment decoded once."""
    out = []
    for raw in path.split("/"):
        if raw == "":
            continue
        seg = unquote(raw)
        m = _SEGMENT.match(seg)
        if not m:
            raise resource_not_found(seg)
        out.append((m.group(1), m.group(2)))
    return out


def page_size(call: Call) -> tuple[int, str | None]:
    """Server-driven paging: 20,000 unless `Prefer: odata.maxpagesize=N` asks for less."""
    prefer = call.header("Prefer") or ""
    for part in prefer.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() in ("odata.maxpagesize", "maxpagesize") and value.strip().isdigit():
            size = min(int(value.strip()), MAX_PAGE_SIZE)
            if size > 0:
                return size, "odata.maxpagesize=%d" % size
    return MAX_PAGE_SIZE, None


def _check_key(set_name: str, key: str) -> str:
    key = key.strip()
    if key.lower().startswith("id="):
        key = key[3:]
    if not GUID_RE.match(key):
        raise BcApiError(400, "BadRequest",
                         "The key value '(%s)' of the segment '%s' is not a valid Guid." % (key, set_name))
    return key.lower()


@dataclass
class Target:
    """What a path addresses: a collection (record None), one entity, its $count or a bound action."""

    source: Source
    record: dict | None  # None: the target is the collection
    context: str  # for @odata.context
    set_name: str
    count: bool = False  # ".../$count"
    action: str | None = None  # ".../Microsoft.NAV.post"


def collection_result(call: Call, ctx: Ctx, source: Source, opts: QueryOptions, context_url: str,
                      next_base: str) -> Result:
    size, applied = page_size(call)
    page = run_list(ctx, source, opts, size)
    body: dict[str, Any] = {"@odata.context": context_url}
    if page.count is not None:
        body["@odata.count"] = page.count
    body["value"] = [render(ctx, source, r, opts) for r in page.rows]
    if page.next_token:
        args = {k: v for k, v in call.args.items() if k != "$skiptoken"}
        args["$skiptoken"] = page.next_token
        body["@odata.nextLink"] = next_base + "?" + query_string(args)
    headers = {"Preference-Applied": applied} if applied else {}
    return Result(200, body, headers)


def entity_result(ctx: Ctx, source: Source, record: dict, opts: QueryOptions, context_url: str,
                  status: int = 200, location: str | None = None) -> Result:
    body = {"@odata.context": context_url}
    body.update(render(ctx, source, record, opts))
    headers = {"ETag": source.etag(record)}
    if location:
        headers["Location"] = location
    return Result(status, body, headers)


def _readonly_intent(call: Call) -> None:
    """Data-Access-Intent: ReadOnly is for GETs only (devenv-connect-apps-tips.md). Text inferred."""
    if (call.header("Data-Access-Intent") or "").lower() == "readonly" and call.method != "GET":
        raise BcApiError(400, "BadRequest", "The request has the header Data-Access-Intent: ReadOnly, which is only "
                                            "allowed for GET requests.")


def handle_api(call: Call, env: Environment, types: dict[str, EntityType], behaviors: dict[str, Behavior],
               known_sets: set[str]) -> Result:
    api_root = call.base_url + "/api/v2.0"
    ctx = Ctx(env=env, company=None, call=call, types=types, behaviors=behaviors, api_root=api_root,
              known_sets=frozenset(known_sets))
    segs = split_path(call.path)
    if not segs:
        raise resource_not_found("")
    _readonly_intent(call)
    opts = parse_options(call.args)
    meta = api_root + "/$metadata#"
    next_base = api_root + "/" + call.path
    name, key = segs[0]
    if name == "$metadata":
        raise not_implemented("$metadata")
    companies = behaviors["companies"]
    if name == "companies":
        source = TableSource(ctx, companies)
        if key is None:
            if len(segs) > 1:
                raise resource_not_found(segs[1][0])
            if call.method != "GET":
                raise method_not_allowed(call.method, "companies")
            return collection_result(call, ctx, source, opts, meta + "companies", next_base)
        company_id = _check_key("companies", key)
        company = env.company_by_id(company_id)
        if company is None:
            # Code from dynamics-error-codes.md; status and text inferred.
            raise BcApiError(404, "Internal_CompanyNotFound", "The company '%s' does not exist." % company_id)
        if len(segs) == 1:
            if call.method != "GET":
                raise method_not_allowed(call.method, "companies")
            record = source.get(company_id)
            assert record is not None
            return entity_result(ctx, source, record, opts, meta + "companies/$entity")
        ctx.company = company
        rest = segs[1:]
        prefix = "companies(%s)/" % company.id
    else:
        company_arg = call.args.get("company")
        company = env.find_company(company_arg) if company_arg else None
        if company is None:
            if company_arg:
                raise BcApiError(404, "Internal_CompanyNotFound", "The company '%s' does not exist." % company_arg)
            if name in behaviors or name in known_sets:
                # Company-scoped sets need a company (api-endpoint-structure.md); the text is inferred.
                raise BcApiError(400, "BadRequest", "A company must be specified: use companies({id})/%s or the "
                                                    "'company' query parameter." % name)
            raise resource_not_found(name)
        ctx.company = company
        rest = segs
        prefix = "companies(%s)/" % company.id
    target = _walk(ctx, rest, prefix)
    return _execute(call, ctx, target, opts, meta, next_base)


def _walk(ctx: Ctx, segs: list[tuple[str, str | None]], prefix: str) -> Target:
    name, key = segs[0]
    behaviors = ctx.behaviors
    if name == "dimensionSetLines":
        raise BcApiError(400, "Application_DialogException", PARENT_NOT_SPECIFIED)
    if name not in behaviors or name == "companies":
        if name in ctx.known_sets:
            raise not_implemented("the entity set '%s'" % name)
        raise resource_not_found(name)
    behavior = behaviors[name]
    source: Source = TableSource(ctx, behavior)
    context = prefix + name
    target = Target(source, None, context, name)
    i = 0
    while True:
        if key is not None:
            if target.record is not None:
                raise resource_not_found("%s(%s)" % (name, key))
            record_key = _check_key(name, key)
            record = target.source.get(record_key)
            if record is None:
                raise target.source.not_found(record_key)
            target = Target(target.source, record, target.context, target.set_name)
        i += 1
        if i >= len(segs):
            return target
        name, key = segs[i]
        if target.record is None:
            if name == "$count" and i == len(segs) - 1:
                target.count = True
                return target
            raise resource_not_found(name)
        if name.startswith("Microsoft.NAV."):
            if i != len(segs) - 1:
                raise resource_not_found(segs[i + 1][0])
            target.action = name
            return target
        behavior = target.source.behavior
        if name not in behavior.navigations:
            if name in behavior.etype.parts:
                raise not_implemented("the navigation '%s' of %s" % (name, behavior.set_name))
            raise resource_not_found(name)
        nav_source = behavior.nav_source(ctx, name, target.record)
        record_part = "%s(%s)" % (target.context, target.record["id"])
        if nav_source.single:
            rows = nav_source.rows()
            if not rows:
                raise resource_not_found(name)
            target = Target(nav_source, rows[0], record_part + "/" + name, nav_source.behavior.set_name)
        else:
            target = Target(nav_source, None, record_part + "/" + name, nav_source.behavior.set_name)


def _execute(call: Call, ctx: Ctx, target: Target, opts: QueryOptions, meta: str, next_base: str) -> Result:
    method = call.method
    if target.count:
        if method != "GET":
            raise method_not_allowed(method, target.set_name)
        return Result(200, str(count_rows(target.source)), {"Content-Type": "text/plain"})
    if target.action is not None:
        action = target.action
        if method != "POST":
            raise method_not_allowed(method, action)
        assert target.record is not None
        if action not in target.source.etype.actions:
            raise resource_not_found(action)
        target.source.behavior.action(ctx, target.record, action)
        return Result(204)
    source = target.source
    etype = source.etype
    behavior = source.behavior
    if target.record is None:
        if method == "GET":
            return collection_result(call, ctx, source, opts, meta + target.context, next_base)
        if method == "POST":
            if not etype.insert_allowed:
                raise method_not_allowed("POST", target.set_name)
            body = json_body(call)
            values, navs = coerce_body(etype, body, navs_allowed=behavior.deep_navs,
                                       extra_writable=behavior.extra_writable, navs_known=behavior.navs_known())
            assert ctx.company is not None
            with ctx.company.db.atomic():
                record = source.insert(ctx, values, navs)
            location = "%s/%s(%s)" % (ctx.api_root, target.context, record["id"])
            return entity_result(ctx, source, record, opts, meta + target.context + "/$entity", 201, location)
        raise method_not_allowed(method, target.set_name)
    record = target.record
    if method == "GET":
        return entity_result(ctx, source, record, opts, meta + target.context + "/$entity")
    if method == "PATCH" or method == "PUT":
        if not etype.modify_allowed:
            raise method_not_allowed(method, target.set_name)
        check_if_match(call, source.etag(record))
        body = json_body(call)
        values, _ = coerce_body(etype, body, extra_writable=behavior.extra_writable,
                                navs_known=behavior.navs_known(), is_patch=True)
        assert ctx.company is not None
        with ctx.company.db.atomic():
            record = source.update(ctx, record, values)
        return entity_result(ctx, source, record, opts, meta + target.context + "/$entity")
    if method == "DELETE":
        if not etype.delete_allowed:
            raise method_not_allowed(method, target.set_name)
        check_if_match(call, source.etag(record))
        assert ctx.company is not None
        with ctx.company.db.atomic():
            source.delete(ctx, record)
        return Result(204)
    raise method_not_allowed(method, target.set_name)
