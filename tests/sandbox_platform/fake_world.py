"""A minimal stand-in for `sandbox.bc.BcWorld`, used only while the real data half can't be imported.

It implements the interface the platform half codes against, with just enough behaviour for platform
tests: two tenants, their environments, which apps are enabled, a companies list and `$batch` counting.
"""

from __future__ import annotations

import json
import threading
import uuid

from werkzeug.wrappers import Request, Response

from sandbox import constants
from sandbox.errors import BcApiError

_ENVIRONMENTS = {
    constants.TENANT_ID: (constants.ENVIRONMENT, constants.SANDBOX_ENVIRONMENT),
    constants.OTHER_TENANT_ID: (constants.ENVIRONMENT,),
}
_DOMAINS = {constants.TENANT_DOMAIN: constants.TENANT_ID, constants.OTHER_TENANT_DOMAIN: constants.OTHER_TENANT_ID}


class FakeWorld:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    @classmethod
    def load(cls, fixtures_path: str | None = None) -> "FakeWorld":
        return cls()

    def reset(self) -> None:
        with self._lock:
            self._enabled = {
                (tid, env.lower()): {constants.DEMO_CLIENT_ID} for tid, envs in _ENVIRONMENTS.items() for env in envs
            }
            self.web_services: dict = {}
            self.manual_nos: dict = {}
            self.handled = 0

    def resolve_tenant(self, tenant: str) -> str | None:
        lowered = tenant.lower()
        if lowered in _ENVIRONMENTS:
            return lowered
        return _DOMAINS.get(lowered)

    def has_environment(self, tenant_id: str, env: str) -> bool:
        return env.lower() in {e.lower() for e in _ENVIRONMENTS.get(tenant_id, ())}

    def is_app_enabled(self, tenant_id: str, env: str, client_id: str) -> bool:
        return client_id.lower() in {c.lower() for c in self._enabled.get((tenant_id, env.lower()), set())}

    def set_app_enabled(self, tenant_id: str, env: str, client_id: str, enabled: bool) -> None:
        with self._lock:
            apps = self._enabled.setdefault((tenant_id, env.lower()), set())
            (apps.add if enabled else apps.discard)(client_id)

    def handle(self, request: Request, *, tenant_id, environment, subpath, principal, base_url) -> Response:
        with self._lock:
            self.handled += 1
        if subpath.rstrip("/") == "api/v2.0/companies" and request.method == "GET":
            body = {
                "@odata.context": f"{base_url}/api/v2.0/$metadata#companies",
                "value": [{"id": str(uuid.uuid5(uuid.NAMESPACE_URL, constants.US_COMPANY)), "name": constants.US_COMPANY}],
            }
            return Response(json.dumps(body), content_type="application/json; odata.metadata=minimal")
        if subpath == "api/v2.0/$batch" and request.method == "POST":
            requests_ = request.get_json()["requests"]
            body = {"responses": [{"id": r.get("id"), "status": 200, "body": {}} for r in requests_]}
            return Response(json.dumps(body), content_type="application/json")
        raise BcApiError(404, "BadRequest_ResourceNotFound", f"The stand-in world has no route {subpath}.")

    def batch_size(self, request: Request) -> int:
        if request.method == "POST" and request.path.endswith("$batch"):
            body = request.get_json(silent=True) or {}
            return len(body.get("requests", [])) or 1
        return 1

    def set_web_service_published(self, tenant_id, env, company, service_name, published) -> None:
        self.web_services[(tenant_id, env, company, service_name)] = published

    def set_manual_nos(self, tenant_id, env, company, series_code, enabled) -> None:
        self.manual_nos[(tenant_id, env, company, series_code)] = enabled

    def summary(self) -> dict:
        return {"standIn": True, "tenants": sorted(_ENVIRONMENTS), "handled": self.handled}
