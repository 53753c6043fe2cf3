"""The sandbox's control API under `/_sandbox/` (JSON, no auth, loopback only), and a Python client for it.

    POST   /_sandbox/reset                                      everything back to the fixtures
    GET    /_sandbox/world                                      BC world summary, directory, limits, faults, clock
    GET    /_sandbox/limits          PUT /_sandbox/limits       BC limits and current usage / change limits
    GET    /_sandbox/faults          POST /_sandbox/faults      list / add a fault rule
    DELETE /_sandbox/faults                                     remove all fault rules
    GET    /_sandbox/latency         PUT /_sandbox/latency      {"ms": n} added to every BC request
    GET    /_sandbox/requests?since=<seq>&kind=bc|entra         the request log      DELETE: clear it
    GET    /_sandbox/apps            POST /_sandbox/apps        Entra app registrations / register one
    PUT    /_sandbox/bc-apps/{tenant}/{env}/{clientId}          {"enabled": bool} ("Microsoft Entra applications")
    POST   /_sandbox/grants/revoke                              {"tenant", "clientId"?, "user"?}
    POST   /_sandbox/tokens/invalidate                          {"tenant", "clientId"?, "user"?} (access tokens)
    GET    /_sandbox/clock           POST /_sandbox/clock       {"advanceSeconds": n}
    GET    /_sandbox/consent-mode    PUT /_sandbox/consent-mode {"mode": normal|consent_required|admin_approval_required|wrong_tenant}
    PUT    /_sandbox/web-services/{tenant}/{env}/{company}/{service}   {"published": bool}
    PUT    /_sandbox/no-series/{tenant}/{env}/{company}/{code}         {"manualNos": bool}
    POST   /_sandbox/bulk/{tenant}/{env}/{company}                   posted purchase invoice lines, G/L entries
    POST   /_sandbox/ledger-entries/{tenant}/{env}/{company}         one G/L entry, maybe late (lower number)
    POST   /_sandbox/posted-documents/{tenant}/{env}/{company}/{set} one posted purchase invoice / credit memo
    PUT    /_sandbox/posted-documents/{tenant}/{env}/{company}/{set}/{id}/status   {"status": "Paid"}
    GET    /_sandbox/webhooks        PUT /_sandbox/webhooks     subscriptions and delivery settings / change settings
    POST   /_sandbox/webhooks/flush                             send pending notifications and retries now
    GET    /_sandbox/webhooks/notifications?since=<seq>         handshakes and notifications sent, with answers
    DELETE /_sandbox/webhooks/subscriptions/{id}                drop a subscription (as BC does after a bad answer)

The last four are data hooks for imports (sandbox/bc/_bulk.py): volume for benchmarks, records that
commit late (an older lastModifiedDateTime or a lower entry number), and a payment's new timestamp, which
BC's API cannot produce.

Path segments are percent-encoded (a company name like "Fabrikam Nord/Süd, Müller & Co. KG" is sent as
`Fabrikam%20Nord%2FS%C3%BCd%2C%20M%C3%BCller%20%26%20Co.%20KG`). Tenants are GUIDs or domains.
"""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import quote, unquote

import requests
from werkzeug.wrappers import Request, Response

__all__ = ["AdminApi", "SandboxAdmin", "SandboxAdminError"]

_UNSET: Any = object()


class _Components(Protocol):
    world: Any
    directory: Any
    limits: Any
    faults: Any
    request_log: Any
    clock: Any
    tokens: Any


class _AdminError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=utf-8")


class AdminApi:
    """Server side: routes `/_sandbox/...` requests to the sandbox's components."""

    def __init__(self, components: _Components):
        self._c = components

    def handle(self, request: Request, raw_path: str) -> Response:
        segments = [unquote(s) for s in raw_path[len("/_sandbox/"):].split("/") if s != ""]
        try:
            return self._route(request, segments)
        except _AdminError as err:
            return _json({"error": {"code": err.code, "message": err.message}}, err.status)
        except ValueError as err:
            return _json({"error": {"code": "BadRequest", "message": str(err)}}, 400)
        except LookupError as err:
            message = err.args[0] if err.args else str(err)
            return _json({"error": {"code": "NotFound", "message": str(message)}}, 404)

    # -- routing ------------------------------------------------------------------------------------

    def _route(self, request: Request, segments: list[str]) -> Response:
        method = request.method
        head = segments[0] if segments else ""
        simple = {
            ("reset", "POST"): self._reset,
            ("world", "GET"): self._world,
            ("limits", "GET"): self._get_limits,
            ("limits", "PUT"): self._put_limits,
            ("faults", "GET"): lambda r: _json(self._c.faults.to_json()),
            ("faults", "POST"): self._post_fault,
            ("faults", "DELETE"): self._delete_faults,
            ("latency", "GET"): lambda r: _json({"ms": self._c.faults.latency_ms}),
            ("latency", "PUT"): self._put_latency,
            ("requests", "GET"): self._get_requests,
            ("requests", "DELETE"): self._delete_requests,
            ("apps", "GET"): lambda r: _json({"apps": self._c.directory.summary()["apps"]}),
            ("apps", "POST"): self._post_app,
            ("clock", "GET"): lambda r: _json(self._clock_json()),
            ("clock", "POST"): self._post_clock,
            ("consent-mode", "GET"): lambda r: _json({"mode": self._c.directory.consent_mode}),
            ("consent-mode", "PUT"): self._put_consent_mode,
        }
        if len(segments) == 1 and (head, method) in simple:
            return simple[(head, method)](request)
        if segments == ["grants", "revoke"] and method == "POST":
            return self._revoke(request)
        if segments == ["tokens", "invalidate"] and method == "POST":
            return self._invalidate(request)
        if head == "bc-apps" and len(segments) == 4 and method == "PUT":
            return self._put_bc_app(request, *segments[1:])
        if head == "web-services" and len(segments) == 5 and method == "PUT":
            return self._put_web_service(request, *segments[1:])
        if head == "no-series" and len(segments) == 5 and method == "PUT":
            return self._put_no_series(request, *segments[1:])
        if head == "webhooks":
            return self._webhooks(request, segments)
        data_hook = self._data_hook(request, segments)
        if data_hook is not None:
            return data_hook
        known = {h for h, _ in simple} | {"grants", "tokens", "bc-apps", "web-services", "no-series", "bulk", "ledger-entries",
                                          "posted-documents", "webhooks"}
        if head in known:
            raise _AdminError(405, "MethodNotAllowed", f"{method} is not supported on /_sandbox/{'/'.join(segments)}")
        raise _AdminError(404, "NotFound", f"no control route /_sandbox/{'/'.join(segments)}")

    # -- handlers -----------------------------------------------------------------------------------

    def _reset(self, request: Request) -> Response:
        c = self._c
        c.world.reset()
        c.directory.reset()
        c.limits.reset()
        c.faults.reset()
        c.clock.reset()
        c.tokens.reset()
        c.request_log.clear()
        return _json({"reset": True, "lastSeq": c.request_log.last_seq})

    def _world(self, request: Request) -> Response:
        c = self._c
        return _json(
            {
                "bc": c.world.summary(),
                "directory": c.directory.summary(),
                "limits": c.limits.settings.to_json(),
                "faults": c.faults.to_json(),
                "clock": self._clock_json(),
                "lastRequestSeq": c.request_log.last_seq,
            }
        )

    def _get_limits(self, request: Request) -> Response:
        return _json({**self._c.limits.settings.to_json(), "usage": self._c.limits.usage()})

    def _put_limits(self, request: Request) -> Response:
        body = _body(request)
        body.pop("usage", None)
        return _json(self._c.limits.update(body).to_json())

    def _post_fault(self, request: Request) -> Response:
        rule = self._c.faults.add(_body(request))
        return _json(rule.to_json(), 201)

    def _delete_faults(self, request: Request) -> Response:
        self._c.faults.clear()
        return Response(status=204)

    def _put_latency(self, request: Request) -> Response:
        body = _body(request)
        self._c.faults.set_latency(body.get("ms", 0))
        return _json({"ms": self._c.faults.latency_ms})

    def _get_requests(self, request: Request) -> Response:
        try:
            since = int(request.args.get("since", "0"))
        except ValueError as exc:
            raise ValueError("since must be an integer sequence number") from exc
        kind = request.args.get("kind") or None
        entries = [e.to_json() for e in self._c.request_log.since(since, kind)]
        return _json({"requests": entries, "lastSeq": self._c.request_log.last_seq})

    def _delete_requests(self, request: Request) -> Response:
        self._c.request_log.clear()
        return Response(status=204)

    def _post_app(self, request: Request) -> Response:
        body = _body(request)
        supplied_secret = bool(body.get("clientSecret") or body.get("secrets"))
        app, generated = self._c.directory.register_app(body)
        answer = app.public()
        if generated and not supplied_secret:
            answer["clientSecret"] = generated  # shown once, like the portal does
        return _json(answer, 201)

    def _put_bc_app(self, request: Request, tenant: str, environment: str, client_id: str) -> Response:
        enabled = _flag(_body(request), "enabled")
        tenant_id = self._bc_tenant(tenant, environment)
        self._c.world.set_app_enabled(tenant_id, environment, client_id, enabled)
        return _json({"tenantId": tenant_id, "environment": environment, "clientId": client_id, "enabled": enabled})

    def _revoke(self, request: Request) -> Response:
        body = _body(request)
        tenant = body.get("tenant")
        if not tenant:
            raise ValueError("tenant is required (GUID or domain)")
        revoked = self._c.directory.revoke(tenant, body.get("clientId"), body.get("user"))
        return _json({"revokedRefreshTokens": revoked})

    def _invalidate(self, request: Request) -> Response:
        body = _body(request)
        tenant = self._c.directory.tenant(body.get("tenant") or "")
        if tenant is None:
            raise ValueError("tenant is required (GUID or domain of a known tenant)")
        count = self._c.tokens.invalidate(tenant.id, body.get("clientId"), body.get("user"))
        return _json({"invalidatedAccessTokens": count})

    def _post_clock(self, request: Request) -> Response:
        seconds = _body(request).get("advanceSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError("advanceSeconds must be a number of seconds")
        self._c.clock.advance(seconds)
        return _json(self._clock_json())

    def _put_consent_mode(self, request: Request) -> Response:
        mode = _body(request).get("mode")
        self._c.directory.set_consent_mode(mode)
        return _json({"mode": self._c.directory.consent_mode})

    def _put_web_service(self, request: Request, tenant: str, env: str, company: str, service: str) -> Response:
        published = _flag(_body(request), "published")
        tenant_id = self._bc_tenant(tenant, env)
        self._c.world.set_web_service_published(tenant_id, env, company, service, published)
        return _json({"company": company, "service": service, "published": published})

    def _put_no_series(self, request: Request, tenant: str, env: str, company: str, code: str) -> Response:
        manual = _flag(_body(request), "manualNos")
        tenant_id = self._bc_tenant(tenant, env)
        self._c.world.set_manual_nos(tenant_id, env, company, code, manual)
        return _json({"company": company, "code": code, "manualNos": manual})

    def _data_hook(self, request: Request, segments: list[str]) -> Response | None:
        """Bulk and late inserts (sandbox/bc/_bulk.py); None when `segments` name none of them."""
        from sandbox.bc import _bulk

        head, method, n = (segments[0] if segments else ""), request.method, len(segments)
        if head == "bulk" and n == 4 and method == "POST":
            spec = _body(request)
            change = lambda comp, types, behaviors: _bulk.bulk_insert(comp, spec)  # noqa: E731
        elif head == "ledger-entries" and n == 4 and method == "POST":
            spec = _body(request)
            change = lambda comp, types, behaviors: _bulk.insert_ledger_entry(comp, spec)  # noqa: E731
        elif head == "posted-documents" and n == 5 and method == "POST":
            spec, set_name = _body(request), segments[4]
            change = lambda comp, types, behaviors: _bulk.insert_posted_document(  # noqa: E731
                comp, set_name, spec, types, behaviors)
        elif head == "posted-documents" and n == 7 and segments[6] == "status" and method == "PUT":
            status, set_name, doc_id = _body(request).get("status"), segments[4], segments[5]
            change = lambda comp, types, behaviors: _bulk.set_document_status(  # noqa: E731
                comp, set_name, doc_id, status)
        else:
            return None
        tenant_id = self._bc_tenant(segments[1], segments[2])
        status_code = 201 if method == "POST" else 200
        return _json(self._c.world.change_data(tenant_id, segments[2], segments[3], change), status_code)

    def _webhooks(self, request: Request, segments: list[str]) -> Response:
        """Webhook subscriptions and notifications (sandbox/bc/_webhooks.py)."""
        hooks = getattr(self._c.world, "webhooks", None)
        if hooks is None:
            raise _AdminError(501, "NotImplemented", "this BC world has no webhooks")
        method, rest = request.method, segments[1:]
        if not rest and method == "GET":
            return _json(hooks.summary())
        if not rest and method == "PUT":
            body = _body(request)
            body.pop("subscriptions", None)
            body.pop("lastSeq", None)
            return _json({"settings": hooks.update_settings(body.get("settings", body))})
        if rest == ["flush"] and method == "POST":
            return _json({"subscriptionsFlushed": hooks.flush()})
        if rest == ["notifications"] and method == "GET":
            try:
                since = int(request.args.get("since", "0"))
            except ValueError as exc:
                raise ValueError("since must be an integer sequence number") from exc
            return _json(hooks.log(since))
        if len(rest) == 2 and rest[0] == "subscriptions" and method == "DELETE":
            return _json(hooks.drop(rest[1]))
        if rest[:1] in ([], ["flush"], ["notifications"], ["subscriptions"]):
            raise _AdminError(405, "MethodNotAllowed", f"{method} is not supported on /_sandbox/{'/'.join(segments)}")
        raise _AdminError(404, "NotFound", f"{method} is not supported on /_sandbox/{'/'.join(segments)}")

    # -- helpers ------------------------------------------------------------------------------------

    def _bc_tenant(self, tenant: str, environment: str) -> str:
        tenant_id = self._c.world.resolve_tenant(tenant)
        if tenant_id is None:
            raise _AdminError(404, "NotFound", f"unknown BC tenant {tenant!r}")
        if not self._c.world.has_environment(tenant_id, environment):
            raise _AdminError(404, "NotFound", f"unknown environment {environment!r} in tenant {tenant_id}")
        return tenant_id

    def _clock_json(self) -> dict:
        clock = self._c.clock
        return {"offsetSeconds": clock.offset_seconds, "now": clock.utcnow().isoformat().replace("+00:00", "Z")}


def _body(request: Request) -> dict:
    if not request.get_data():
        return {}
    try:
        body = json.loads(request.get_data())
    except ValueError as exc:
        raise ValueError("the body must be JSON") from exc
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _flag(body: dict, name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise ValueError(f'"{name}" must be true or false')
    return value


# -- client ----------------------------------------------------------------------------------------


class SandboxAdminError(Exception):
    """The control API refused a call; carries the HTTP status and the sandbox's message."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxAdmin:
    """A small client for the control API, for tests, benchmarks and scripts.

    >>> admin = SandboxAdmin(server.url, server.ca_bundle)
    >>> admin.add_fault("429", count=2, retry_after=1, path="salesInvoices")
    """

    def __init__(self, url: str, ca_bundle: str | None = None, *, timeout: float = 30.0):
        self.url = url.rstrip("/")
        self._session = requests.Session()
        self._session.verify = ca_bundle if ca_bundle else True
        self._session.trust_env = False  # never route loopback calls through a proxy
        self._timeout = timeout

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "SandboxAdmin":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> Any:
        response = self._session.request(
            method, f"{self.url}/_sandbox/{path}", json=body, params=params, timeout=self._timeout
        )
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise SandboxAdminError(response.status_code, message)
        return response.json() if response.content else None

    # state
    def reset(self) -> dict:
        return self._call("POST", "reset")

    def world(self) -> dict:
        return self._call("GET", "world")

    # limits, faults, latency
    def limits(self) -> dict:
        return self._call("GET", "limits")

    def set_limits(self, **settings: float) -> dict:
        """camelCase names: requestsPerWindow, windowSeconds, maxConcurrent, maxQueue, queueTimeoutSeconds,
        retryAfterSeconds."""
        return self._call("PUT", "limits", settings)

    def add_fault(
        self,
        type: str,
        *,
        count: int = 1,
        retry_after: int | None = _UNSET,
        method: str | None = None,
        path: str | None = None,
    ) -> dict:
        """type: "429", "502", "503", "504" or "drop". retry_after=None sends no Retry-After header."""
        spec: dict[str, Any] = {"type": str(type), "count": count}
        if retry_after is not _UNSET:
            spec["retryAfter"] = retry_after
        if method:
            spec["method"] = method
        if path:
            spec["path"] = path
        return self._call("POST", "faults", spec)

    def inject_faults(
        self,
        *,
        status: int | str,
        count: int = 1,
        retry_after: int | None = _UNSET,
        method: str | None = None,
        path: str | None = None,
    ) -> dict:
        """`add_fault` by HTTP status (429, 502, 503, 504) or "drop"."""
        return self.add_fault(str(status), count=count, retry_after=retry_after, method=method, path=path)

    def faults(self) -> dict:
        return self._call("GET", "faults")

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def set_latency(self, ms: float) -> dict:
        return self._call("PUT", "latency", {"ms": ms})

    # request log
    def requests(self, since: int = 0, kind: str | None = None) -> list[dict]:
        params: dict[str, Any] = {"since": since}
        if kind:
            params["kind"] = kind
        return self._call("GET", "requests", params=params)["requests"]

    def last_seq(self) -> int:
        return self._call("GET", "requests", params={"since": 2**62})["lastSeq"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    # Entra
    def register_app(self, **spec: Any) -> dict:
        """spec (camelCase): clientId, displayName, homeTenant, multiTenant, clientSecret, redirectUris,
        applicationPermissions, delegatedPermissions, installedIn. Returns the app, with `clientSecret` if
        the sandbox generated it."""
        return self._call("POST", "apps", spec)

    def revoke_grant(self, tenant: str, client_id: str | None = None, user: str | None = None) -> dict:
        body: dict[str, Any] = {"tenant": tenant}
        if client_id:
            body["clientId"] = client_id
        if user:
            body["user"] = user
        return self._call("POST", "grants/revoke", body)

    def invalidate_tokens(self, tenant: str, client_id: str | None = None, user: str | None = None) -> dict:
        """BC refuses the access tokens issued so far (401) before they expire."""
        body: dict[str, Any] = {"tenant": tenant}
        if client_id:
            body["clientId"] = client_id
        if user:
            body["user"] = user
        return self._call("POST", "tokens/invalidate", body)

    def advance_clock(self, seconds: float) -> dict:
        return self._call("POST", "clock", {"advanceSeconds": seconds})

    def set_consent_mode(self, mode: str) -> dict:
        return self._call("PUT", "consent-mode", {"mode": mode})

    # BC
    def set_bc_app_enabled(self, tenant: str, environment: str, client_id: str, enabled: bool = True) -> dict:
        return self._call("PUT", f"bc-apps/{_seg(tenant)}/{_seg(environment)}/{_seg(client_id)}", {"enabled": enabled})

    def set_web_service_published(
        self, tenant: str, environment: str, company: str, service: str, published: bool = True
    ) -> dict:
        path = f"web-services/{_seg(tenant)}/{_seg(environment)}/{_seg(company)}/{_seg(service)}"
        return self._call("PUT", path, {"published": published})

    def set_manual_nos(self, tenant: str, environment: str, company: str, code: str, manual_nos: bool = True) -> dict:
        path = f"no-series/{_seg(tenant)}/{_seg(environment)}/{_seg(company)}/{_seg(code)}"
        return self._call("PUT", path, {"manualNos": manual_nos})


    # webhooks (sandbox/bc/_webhooks.py)
    def webhooks(self) -> dict:
        """{"settings": {...}, "subscriptions": [...], "lastSeq": n}"""
        return self._call("GET", "webhooks")

    def set_webhook_settings(self, **settings: Any) -> dict:
        """notificationDelaySeconds, retryInitialSeconds, retryMaxIntervalSeconds, retryWindowSeconds,
        handshakeMethod ("POST" or "GET"), requestTimeoutSeconds, collectionThreshold (records changed within the
        delay above which one `collection` notification is sent; BC's 1,000 by default)."""
        return self._call("PUT", "webhooks", settings)["settings"]

    def flush_webhooks(self) -> int:
        """Sends pending notifications and due retries now; answers how many subscriptions had some."""
        return self._call("POST", "webhooks/flush")["subscriptionsFlushed"]

    def webhook_log(self, since: int = 0) -> list[dict]:
        """Handshakes, notification requests (with their body, answer status and outcome) and deletions."""
        return self._call("GET", "webhooks/notifications", params={"since": since})["notifications"]

    def drop_subscription(self, subscription_id: str) -> dict:
        """Deletes a subscription without telling the subscriber, as BC does after a bad answer."""
        return self._call("DELETE", f"webhooks/subscriptions/{_seg(subscription_id)}")

    # BC data hooks (sandbox/bc/_bulk.py)
    def bulk_insert(self, tenant: str, environment: str, company: str, **spec: Any) -> dict:
        """spec (camelCase): purchaseInvoiceLines, linesPerDocument, generalLedgerEntries, postingDate, projects,
        dimension, withoutProjectEvery, creditEvery, vendor, accounts. Answers the counts and entry numbers."""
        return self._call("POST", f"bulk/{_seg(tenant)}/{_seg(environment)}/{_seg(company)}", spec)

    def insert_ledger_entry(self, tenant: str, environment: str, company: str, **spec: Any) -> dict:
        """spec: accountNumber, entryNumber (may be below the highest: a late commit), postingDate, debitAmount,
        creditAmount, description, documentNumber, dimensions, lastModifiedDateTime."""
        return self._call("POST", f"ledger-entries/{_seg(tenant)}/{_seg(environment)}/{_seg(company)}", spec)

    def insert_posted_document(self, tenant: str, environment: str, company: str, entity_set: str,
                               **spec: Any) -> dict:
        """A posted purchaseInvoices/purchaseCreditMemos document like a fixture one, with an optional older
        lastModifiedDateTime. Answers id, number, lastModifiedDateTime and lineIds."""
        path = f"posted-documents/{_seg(tenant)}/{_seg(environment)}/{_seg(company)}/{_seg(entity_set)}"
        return self._call("POST", path, spec)

    def set_document_status(self, tenant: str, environment: str, company: str, entity_set: str,
                            document_id: str, status: str) -> dict:
        """E.g. "Paid": the document gets a new lastModifiedDateTime, as paying it does in BC."""
        path = (f"posted-documents/{_seg(tenant)}/{_seg(environment)}/{_seg(company)}/{_seg(entity_set)}/"
                f"{_seg(document_id)}/status")
        return self._call("PUT", path, {"status": status})


def _seg(value: str) -> str:
    return quote(value, safe="")
