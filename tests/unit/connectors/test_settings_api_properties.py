"""The settings API never answers 5xx because of its input (issue 10 item 3): generated bodies, names and
look-up parameters through the HTTP functions, on the in-memory twins. Each example asserts a 4xx that
names a field, nothing stored, nothing left in the secret store.

Example counts are bounded so `make test` stays quick: 120 bodies, 60 names, 60 look-up parameters, plus
the named causes of the issue as explicit examples."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings as hyp_settings, strategies as st

from shared import bootstrap
from shared.connectors import ConnectorRecord, ConnectorSettings, FieldError, SettingsInvalid
from tests._app import call_http, json_of
from tests._worker import memory_adapters

TENANT = "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11"
BASE = {"tenantId": TENANT, "environment": "Production", "company": "CRONUS", "auth": {"mode": "clientCredentials",
        "clientId": "3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01", "clientSecret": "s3cret-value-never-echoed"}}
SECRET = "s3cret-value-never-echoed"


class _EmptyBc:
    """A BC client that answers nothing (look-ups list no rows)."""

    def list_entities(self, *args, **kwargs):
        return iter(())

    def list_companies(self):
        return []

    def list_odata(self, *args, **kwargs):
        return []


class RefusingBc:
    """BC refuses every save's settings (a 422 on `company`); look-ups run on an empty company."""

    def for_settings(self, settings, client_secret=None, *, name):
        raise SettingsInvalid([FieldError("company", "The test's BC has no companies.")])

    def for_record(self, record):
        return _EmptyBc()


@pytest.fixture(scope="module")
def adapters():
    adapters = memory_adapters({"BC_CLIENT_ID": "3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01"}, bc_clients=RefusingBc())
    bootstrap.set_worker_app(bootstrap.bootstrap(adapters=adapters))
    yield adapters
    bootstrap.set_worker_app(None)


def assert_refused_and_nothing_kept(response, adapters):
    assert 400 <= response.status_code < 500, response.get_body()[:300]
    errors = json_of(response)["errors"]
    assert errors and all(e["field"] and e["message"] for e in errors)
    assert SECRET not in response.get_body().decode()
    assert adapters.connector_store.list() == []
    assert adapters.secrets.names() == []
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def nested(depth: int) -> str:
    return '{"notes": ' + "[" * depth + "]" * depth + "}"


def with_field(path: str, raw: str) -> str:
    """BASE with `raw` (JSON text) at dotted `path`."""
    document = json.loads(json.dumps(BASE))
    target = document
    parts = path.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = "__RAW__"
    return json.dumps(document).replace('"__RAW__"', raw)


_email = st.integers(0, 99).map(lambda i: f"{'a' * 60}{i:02d}@{'b' * 180}.com")
bodies = st.one_of(
    st.integers(min_value=33, max_value=20_000).map(nested),
    st.integers(min_value=4301, max_value=8000).map(lambda n: with_field("notes", "9" * n)),
    st.sampled_from(["tenantId", "environment", "company", "defaults.unitOfMeasure", "auth.clientId",
                     "projects.dimension", "webServices.customerCard", "notes"]).flatmap(
        lambda path: st.text(min_size=1, max_size=40).map(lambda t: with_field(path, json.dumps(t)))),
    st.from_regex(r"[-_][A-Za-z0-9_-]{0,29}", fullmatch=True).map(lambda e: with_field("environment", json.dumps(e))),
    st.sampled_from(["Production\n", "abc\n", "3f9b6c1e-2a4d-4e8f-9b7a-5c6d7e8f9a01\n"]).flatmap(
        lambda v: st.sampled_from(["environment", "auth.clientId", "tenantId"]).map(
            lambda path: with_field(path, json.dumps(v)))),
    st.tuples(st.integers(3000, 4000), st.lists(_email, min_size=40, max_size=50, unique=True)).map(
        lambda t: json.dumps({**BASE, "notes": "\u0001" * t[0], "notifications": {"recipients": t[1]}})),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4),
                 max_leaves=25).map(lambda v: json.dumps({**BASE, "extra": v}, allow_nan=True)),
)


@hyp_settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
@given(body=bodies)
@example(body=nested(1500))
@example(body=with_field("notes", "1" * 4301))
@example(body=with_field("environment", '"-prod"'))
@example(body=with_field("environment", '"_prod"'))
@example(body=json.dumps({**BASE, "notes": "\u0001" * 4000,
                          "notifications": {"recipients": [f"{'a' * 60}{i:02d}@{'b' * 180}.com" for i in range(50)]}}))
def test_no_settings_body_gets_a_5xx_or_stores_anything(adapters, body):
    response = call_http("put_connector", route_params={"name": "acme"}, raw_body=body.encode("utf-8"))
    assert_refused_and_nothing_kept(response, adapters)


def test_a_document_too_large_to_store_is_a_413_naming_the_biggest_fields(adapters):
    body = {**BASE, "notes": "\u0001" * 4000,
            "notifications": {"recipients": [f"{'a' * 60}{i:02d}@{'b' * 180}.com" for i in range(50)]}}
    response = call_http("put_connector", route_params={"name": "acme"}, body=body)
    assert response.status_code == 413
    assert [e["field"] for e in json_of(response)["errors"]][:2] == ["notes", "notifications.recipients"]


@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=70) | st.from_regex(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]\n", fullmatch=True))
@example(name="acme\n")
def test_no_connector_name_gets_a_5xx_or_stores_anything(adapters, name):
    response = call_http("put_connector", route_params={"name": name}, body=BASE)
    assert_refused_and_nothing_kept(response, adapters)


@pytest.fixture(scope="module")
def stored(adapters):
    settings = ConnectorSettings.from_document({k: v for k, v in BASE.items() if k != "auth"} |
                                               {"auth": {"mode": "clientCredentials"}})
    adapters.connector_store.create(ConnectorRecord(name="looked-up", settings=settings, status="connected",
                                                    company_id="c0ffee00-0000-4000-8000-000000000000",
                                                    company_name="CRONUS", tax_mode="salesTax",
                                                    refresh_token_expires_at=None, client_secret_source="app"))
    yield "looked-up"
    adapters.connector_store.delete("looked-up")


@hyp_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["items", "dimensionValues"]), value=st.text(max_size=12) | st.just("9" * 5000))
@example(kind="items", value="²")
@example(kind="items", value="9" * 5000)
@example(kind="items", value="10\n")
def test_no_lookup_parameter_gets_a_5xx(adapters, stored, kind, value):
    param = "top" if kind == "items" else "dimension"
    response = call_http("connector_lookup", route_params={"name": stored, "kind": kind}, params={param: value})
    assert response.status_code < 500
    if response.status_code != 200:
        assert param in {e["field"] for e in json_of(response)["errors"]}
