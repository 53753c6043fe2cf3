"""A tiny client that drives `BcWorld.handle` directly (no server): werkzeug builds the request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from werkzeug.test import EnvironBuilder

from sandbox import constants as C
from sandbox.bc import BcWorld
from sandbox.bc._fixturegen import COMPANY_IDS, OTHER_COMPANY, gid
from sandbox.principal import Principal

HOST = "https://127.0.0.1:8443"
US = COMPANY_IDS[("Production", "us")]
VAT = COMPANY_IDS[("Production", "vat")]
OTHER = COMPANY_IDS[("other", "us")]


def us_id(set_name: str, *key: str) -> str:
    """Stable GUID of a fixture row of the US company template, e.g. us_id("customers", "C10000")."""
    return gid("us", set_name, *key)


def vat_id(set_name: str, *key: str) -> str:
    return gid("vat", set_name, *key)


@dataclass
class Answer:
    status: int
    body: Any
    headers: Any

    @property
    def error_code(self) -> str:
        return self.body["error"]["code"]

    @property
    def message(self) -> str:
        """The error message without BC's '  CorrelationId:  <guid>.' tail."""
        return self.body["error"]["message"].split("  CorrelationId:  ")[0]

    @property
    def value(self) -> list[dict]:
        return self.body["value"]


class Client:
    def __init__(self, world: BcWorld, tenant: str = C.TENANT_ID, environment: str = C.ENVIRONMENT) -> None:
        self.world = world
        self.tenant = tenant
        self.environment = environment

    @property
    def base_url(self) -> str:
        return "%s/v2.0/%s/%s" % (HOST, self.tenant, self.environment)

    def request(self, method: str, subpath: str, body: Any = None, *, headers: dict | None = None,
                content_type: str | None = "application/json", raw: bytes | None = None) -> Answer:
        path, _, query = subpath.partition("?")
        kwargs: dict[str, Any] = {}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["data"] = json.dumps(body)
        if kwargs and content_type:
            kwargs["content_type"] = content_type
        builder = EnvironBuilder(path="/v2.0/%s/%s/%s" % (self.tenant, self.environment, path), method=method,
                                 query_string=query or None, headers=headers or {}, base_url=HOST, **kwargs)
        request = builder.get_request()
        tenant_id = self.world.resolve_tenant(self.tenant)
        response = self.world.handle(request, tenant_id=tenant_id, environment=self.environment, subpath=path,
                                     principal=Principal(tenant_id, C.DEMO_CLIENT_ID), base_url=self.base_url)
        text = response.get_data(as_text=True)
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = text
        return Answer(response.status_code, data, response.headers)

    def get(self, subpath: str, **kw: Any) -> Answer:
        return self.request("GET", subpath, **kw)

    def post(self, subpath: str, body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", subpath, body, **kw)

    def patch(self, subpath: str, body: Any, etag: str | None = "*", **kw: Any) -> Answer:
        headers = dict(kw.pop("headers", {}) or {})
        if etag is not None:
            headers["If-Match"] = etag
        return self.request("PATCH", subpath, body, headers=headers, **kw)

    def delete(self, subpath: str, etag: str | None = "*", **kw: Any) -> Answer:
        headers = dict(kw.pop("headers", {}) or {})
        if etag is not None:
            headers["If-Match"] = etag
        return self.request("DELETE", subpath, headers=headers, content_type=None, **kw)

    def follow(self, url: str, **kw: Any) -> Answer:
        """GET an absolute @odata.nextLink."""
        assert url.startswith(self.base_url + "/"), url
        return self.get(url[len(self.base_url) + 1:], **kw)


def company_path(company_id: str = US) -> str:
    return "api/v2.0/companies(%s)" % company_id


def odata_path(company_name: str) -> str:
    return "ODataV4/Company('%s')" % quote(company_name.replace("'", "''"), safe="")


__all__ = ["Answer", "Client", "US", "VAT", "OTHER", "OTHER_COMPANY", "us_id", "vat_id", "company_path",
           "odata_path"]
