"""BcWorld: every tenant, environment and company of the sandbox, and the entry point for BC requests.

The platform half authenticates the caller and hands the request over with `handle`; this half answers
it like BC Online's API v2.0 and OData V4 endpoints would. State lives per tenant + environment (one lock
and one database per environment, companies inside it), like moto's per-region backends.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from typing import Any

from werkzeug.wrappers import Request, Response

from sandbox.errors import BcApiError

from ._api import handle_api
from ._batch import count_operations, handle_batch
from ._bcerrors import no_http_resource
from ._company import Company, Environment, Tenant
from ._documents import DOC_KINDS, DocumentBehavior, LineBehavior
from ._dimsets import DimSetBehavior
from ._engine import Behavior
from ._entities import MASTER_BEHAVIORS, READ_ONLY_NAVIGATIONS, CompaniesBehavior, ReadOnlyBehavior
from ._fixtures import build_tenants, read_fixtures
from ._http import CONTENT_TYPE, Call, Result
from ._odata import PAGES, PageBehavior, handle_odata, page_types
from ._schema import load_api_types
from ._values import Clock
from ._webhooks import Webhooks

__all__ = ["BcWorld"]

log = logging.getLogger(__name__)


def _behaviors(types: dict) -> dict[str, Behavior]:
    out: dict[str, Behavior] = {"companies": CompaniesBehavior(types["companies"]),
                                "dimensionSetLines": DimSetBehavior(types["dimensionSetLines"])}
    for set_name, cls in MASTER_BEHAVIORS.items():
        out[set_name] = cls(types[set_name])
    for set_name, navs in READ_ONLY_NAVIGATIONS.items():
        out[set_name] = ReadOnlyBehavior(types[set_name], set_name, navs)
    for set_name, kind in DOC_KINDS.items():
        out[set_name] = DocumentBehavior(types[set_name], kind)
        out[kind.lines_set] = LineBehavior(types[kind.lines_set], kind)
    return out


class BcWorld:
    """The BC data half of the sandbox. Thread-safe; build it with `BcWorld.load()`."""

    def __init__(self, fixtures: dict, *, clock: Any | None = None) -> None:
        self._fixtures = fixtures
        self._clock = Clock(clock)
        self._types, known = load_api_types()
        self._known = known
        self._behaviors = _behaviors(self._types)
        page_etypes = page_types()
        self._pages = {pid: PageBehavior(page_etypes[pid], PAGES[pid]) for pid in PAGES}
        self._lock = threading.RLock()
        self._tenants: dict[str, Tenant] = self._build()
        #: webhook subscriptions and their notifications (`api/v2.0/subscriptions`, sandbox/bc/_webhooks.py)
        self.webhooks = Webhooks(self._clock, company_exists=self._company_exists,
                                 known_sets=frozenset(self._types) | frozenset(known))

    @classmethod
    def load(cls, fixtures_path: str | None = None, *, clock: Any | None = None) -> "BcWorld":
        """From the bundled sandbox/fixtures/bc.json or a replacement file. `clock`: the platform's shared
        sandbox clock (anything with utcnow() or now()), so lastModifiedDateTime follows test time travel."""
        return cls(read_fixtures(fixtures_path), clock=clock)

    def _build(self) -> dict[str, Tenant]:
        return build_tenants(self._fixtures, self._clock, self._types, self._behaviors)

    def reset(self) -> None:
        """Back to the fixtures. Requests already running finish on the old state."""
        tenants = self._build()
        with self._lock:
            self._tenants = tenants
        self.webhooks.reset()

    def close(self) -> None:
        """Stops the webhook delivery thread (the server calls this when it stops)."""
        self.webhooks.stop()

    def _company_exists(self, tenant_id: str, environment: str, company_id: str) -> bool:
        env = self._env(tenant_id, environment)
        if env is None:
            return False
        with env.lock:
            return env.company_by_id(company_id) is not None

    def _notify(self, tenant_id: str, env: Environment) -> None:
        """Hands the changes a request or data hook committed to the webhooks (outside the lock)."""
        with env.lock:
            changes = env.db.drain()
        if changes:
            self.webhooks.on_changes(tenant_id, env.name, changes)

    # -- identity ----------------------------------------------------------------------------------------
    def resolve_tenant(self, tenant: str) -> str | None:
        """Tenant GUID or domain (case-insensitive) -> tenant GUID."""
        key = (tenant or "").strip().lower()
        with self._lock:
            if key in self._tenants:
                return key
            for t in self._tenants.values():
                if t.domain and t.domain == key:
                    return t.id
        return None

    def _env(self, tenant_id: str, environment: str) -> Environment | None:
        with self._lock:
            tenant = self._tenants.get((tenant_id or "").lower())
            if tenant is None:
                return None
            return tenant.environments.get((environment or "").lower())

    def _env_or_raise(self, tenant_id: str, environment: str) -> Environment:
        env = self._env(tenant_id, environment)
        if env is None:
            raise KeyError("no environment %r in tenant %r" % (environment, tenant_id))
        return env

    def has_environment(self, tenant_id: str, environment: str) -> bool:
        """Environment names are case-insensitive, as in BC's URLs."""
        return self._env(tenant_id, environment) is not None

    def is_app_enabled(self, tenant_id: str, environment: str, client_id: str) -> bool:
        """BC page 'Microsoft Entra applications': is this client id entered there with State = Enabled?"""
        env = self._env(tenant_id, environment)
        return env is not None and (client_id or "").lower() in env.enabled_apps

    def set_app_enabled(self, tenant_id: str, environment: str, client_id: str, enabled: bool) -> None:
        env = self._env_or_raise(tenant_id, environment)
        with env.lock:
            if enabled:
                env.enabled_apps.add(client_id.lower())
            else:
                env.enabled_apps.discard(client_id.lower())

    # -- requests ----------------------------------------------------------------------------------------
    def batch_size(self, request: Request) -> int:
        """Operations in a JSON $batch body (for the request log); 1 for anything else."""
        if request.method == "POST" and request.path.rstrip("/").endswith("/api/v2.0/$batch"):
            return count_operations(request.get_data(cache=True))
        return 1

    def handle(self, request: Request, *, tenant_id: str, environment: str, subpath: str, principal: Any,
               base_url: str) -> Response:
        request_id = request.environ.get("sandbox.request_id") or str(uuid.uuid4())
        try:
            env = self._env(tenant_id, environment)
            if env is None:
                # The platform checks environments first; this is a fallback (text inferred).
                raise BcApiError(404, "BadRequest_NotFound", "The environment '%s' does not exist." % environment)
            call = Call(method=request.method.upper(), path="", args=request.args.to_dict(flat=True),
                        headers=request.headers, body=request.get_data(cache=True), base_url=base_url.rstrip("/"),
                        url=request.url)
            if _is_subscriptions(subpath):
                # Platform entity, not company-scoped; the handshake runs outside the environment's lock.
                call.path = subpath[len("api/v2.0/"):]
                result = self.webhooks.handle(call, tenant_id=tenant_id, environment=env.name,
                                              principal=principal)
            else:
                try:
                    with env.lock:
                        result = self._dispatch(call, env, subpath)
                finally:
                    self._notify(tenant_id, env)
            response = _to_response(result)
        except BcApiError as err:
            response = err.to_response(request_id)
        except Exception:  # a sandbox bug: answer like BC's Internal_ServerError, keep the trace in the log
            log.exception("BC sandbox failed on %s %s", request.method, subpath)
            response = BcApiError(500, "Internal_ServerError",
                                  "An unexpected error occurred in the BC sandbox.").to_response(request_id)
        response.headers["request-id"] = request_id
        return response

    def _dispatch(self, call: Call, env: Environment, subpath: str) -> Result:
        lowered = subpath.lower()
        if lowered.startswith("api/v2.0/") or lowered == "api/v2.0":
            call.path = subpath[len("api/v2.0/"):]
            if call.path.strip("/") == "$batch":
                return handle_batch(call, env, lambda inner: self._api(inner, env))
            return self._api(call, env)
        if lowered.startswith("odatav4/"):
            call.path = subpath[len("odatav4/"):]
            return handle_odata(call, env, self._types, self._behaviors, self._pages)
        raise no_http_resource(call.url)

    def _api(self, call: Call, env: Environment) -> Result:
        return handle_api(call, env, self._types, self._behaviors, self._known)

    # -- admin switches ------------------------------------------------------------------------------------
    def _company(self, tenant_id: str, environment: str, company: str) -> tuple[Environment, Company]:
        env = self._env_or_raise(tenant_id, environment)
        found = env.find_company(company)
        if found is None:
            raise KeyError("no company %r in %s/%s" % (company, tenant_id, environment))
        return env, found

    def set_web_service_published(self, tenant_id: str, environment: str, company: str, service_name: str,
                                  published: bool) -> None:
        """The Web Services page: publish or unpublish a service of one company."""
        env, comp = self._company(tenant_id, environment, company)
        with env.lock:
            service = comp.services.get(service_name)
            if service is None:
                page = next((p.page_id for p in PAGES.values() if p.default_service == service_name), None)
                if page is None:
                    raise KeyError("unknown web service %r (pages served: %s)" % (
                        service_name, ", ".join(p.default_service for p in PAGES.values())))
                service = comp.services[service_name] = {"page": page, "published": False}
            service["published"] = bool(published)

    def set_manual_nos(self, tenant_id: str, environment: str, company: str, series_code: str,
                       enabled: bool) -> None:
        """No. Series page: switch Manual Nos. on or off."""
        env, comp = self._company(tenant_id, environment, company)
        with env.lock:
            series = comp.t("noSeries").find("code", series_code.upper())
            if series is None:
                raise KeyError("no number series %r in company %r" % (series_code, comp.name))
            comp.t("noSeries").update(series, {"manualNos": bool(enabled)})

    def change_data(self, tenant_id: str, environment: str, company: str, change: Any) -> Any:
        """Run `change(company, api_types, behaviors)` under the environment's lock and answer its result.

        The seam for data BC's API cannot make (bulk volume, late-committed records: `_bulk.py`). A BC error
        raised by the change becomes a ValueError carrying BC's message.
        """
        env, comp = self._company(tenant_id, environment, company)
        try:
            with env.lock:
                return change(comp, self._types, self._behaviors)
        except BcApiError as err:
            raise ValueError(err.message) from err
        finally:
            self._notify(tenant_id, env)

    def summary(self) -> dict:
        """What GET /_sandbox/world shows: tenants, environments, companies, services, number series."""
        with self._lock:
            tenants = list(self._tenants.values())
        out = []
        for tenant in tenants:
            envs = []
            for env in tenant.environments.values():
                with env.lock:
                    companies = []
                    for comp in env.companies.values():
                        companies.append({
                            "id": comp.id,
                            "name": comp.name,
                            "taxMode": comp.tax_mode,
                            "country": comp.country,
                            "publishedServices": sorted(n for n, s in comp.services.items() if s["published"]),
                            "unpublishedServices": sorted(n for n, s in comp.services.items() if not s["published"]),
                            "series": [{"code": s["code"], "manualNos": s.get("manualNos", False),
                                        "lastNoUsed": s.get("lastNoUsed", "")}
                                       for s in comp.t("noSeries").scan()],
                            "counts": {name: len(comp.t(name)) for name in (
                                "customers", "items", "salesInvoices", "purchaseInvoices", "purchaseCreditMemos",
                                "generalLedgerEntries", "dimensionValues")},
                        })
                    envs.append({"name": env.name, "enabledApps": sorted(env.enabled_apps), "companies": companies})
            out.append({"id": tenant.id, "domain": tenant.domain, "environments": envs})
        return {"tenants": out}


def _is_subscriptions(subpath: str) -> bool:
    lowered = subpath.lower()
    return lowered.startswith("api/v2.0/subscriptions") and lowered[len("api/v2.0/subscriptions"):][:1] in ("", "(", "/")


def _to_response(result: Result) -> Response:
    headers = dict(result.headers)
    if result.body is None:
        response = Response(status=result.status)
        response.headers.pop("Content-Type", None)  # 204 No Content carries no body type
    elif isinstance(result.body, str):
        response = Response(result.body, status=result.status, content_type=headers.pop("Content-Type", "text/plain"))
    else:
        payload = json.dumps(result.body, ensure_ascii=False, separators=(",", ":"))
        response = Response(payload, status=result.status, content_type=CONTENT_TYPE)
    response.headers["OData-Version"] = "4.0"
    for name, value in headers.items():
        response.headers[name] = value
    return response
