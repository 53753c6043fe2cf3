"""HTTP triggers through the dev host's WSGI front end (no sockets, no Azurite)."""

from __future__ import annotations

import json

import azure.functions as func
import pytest
from werkzeug.test import Client

from devtools.devhost import DevHost


def build_app() -> func.FunctionApp:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

    @app.function_name("get_item")
    @app.route(route="items/{id}", methods=["GET"])
    def get_item(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({
            "id": req.route_params["id"], "params": dict(req.params), "method": req.method,
            "header": req.headers.get("x-demo"), "url": req.url,
        }), mimetype="application/json")

    @app.function_name("put_item")
    @app.route(route="items/{id}", methods=["PUT"])
    def put_item(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(json.dumps({"id": req.route_params["id"], "body": req.get_json()}),
                                 status_code=201, mimetype="application/json", headers={"ETag": "W/\"1\""})

    @app.function_name("lookup")
    @app.route(route="items/{id}/lookups/{kind:alpha}", methods=["GET"])
    def lookup(req: func.HttpRequest) -> func.HttpResponse:
        return func.HttpResponse(req.route_params["kind"])

    @app.function_name("broken")
    @app.route(route="broken", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    def broken(req: func.HttpRequest) -> func.HttpResponse:
        raise RuntimeError("boom")

    @app.function_name("plain")
    @app.route(route="plain")
    def plain(req: func.HttpRequest) -> str:
        return "just text"

    return app


@pytest.fixture(scope="module")
def host() -> DevHost:
    return DevHost(build_app(), {}, queues=False, timers=False)


@pytest.fixture
def client(host: DevHost) -> Client:
    return Client(host.http)


def test_route_params_query_and_headers_reach_the_function(client: Client) -> None:
    response = client.get("/api/items/42?expand=lines&top=5", headers={"X-Demo": "yes"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {"id": "42", "params": {"expand": "lines", "top": "5"}, "method": "GET",
                             "header": "yes", "url": "http://localhost/api/items/42?expand=lines&top=5"}


def test_body_status_and_headers_come_back_from_the_function(client: Client) -> None:
    response = client.put("/api/items/7", json={"name": "Widget"})
    assert response.status_code == 201
    assert response.json == {"id": "7", "body": {"name": "Widget"}}
    assert response.headers["ETag"] == 'W/"1"'


def test_same_route_with_two_functions_dispatches_by_method(client: Client) -> None:
    assert client.get("/api/items/1").json["method"] == "GET"
    assert client.put("/api/items/1", json={}).status_code == 201


def test_wrong_method_is_405_with_the_allowed_methods(client: Client) -> None:
    response = client.delete("/api/items/1")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT"


def test_unknown_route_is_404(client: Client) -> None:
    assert client.get("/api/nothing/here").status_code == 404
    assert client.get("/items/1").status_code == 404  # no route prefix


def test_route_constraint_is_enforced(client: Client) -> None:
    assert client.get("/api/items/1/lookups/units").get_data(as_text=True) == "units"
    assert client.get("/api/items/1/lookups/units2").status_code == 404


def test_function_exception_is_a_500_without_details(client: Client) -> None:
    response = client.get("/api/broken")
    assert response.status_code == 500
    assert response.get_data() == b""


def test_a_string_return_value_is_a_200_text_answer(client: Client) -> None:
    response = client.post("/api/plain")  # no methods declared: every method is allowed
    assert (response.status_code, response.get_data(as_text=True)) == (200, "just text")
    assert response.headers["Content-Type"].startswith("text/plain")


def test_function_key_auth_is_not_enforced_locally_and_the_banner_says_so(host: DevHost, client: Client) -> None:
    assert client.get("/api/items/1").status_code == 200  # FUNCTION auth level, no key
    assert any("Auth levels are not enforced locally" in line for line in host.describe())


def test_an_already_built_function_index_can_be_passed_instead_of_the_app() -> None:
    # FunctionApp.get_functions() raises when called twice; suites that index once pass the list.
    functions = build_app().get_functions()
    assert [i.name for i in DevHost(functions, {}, queues=False, timers=False).invokers] == [
        f.get_function_name() for f in functions]


def test_the_real_app_loads_in_the_dev_host_with_the_example_settings() -> None:
    from pathlib import Path

    from tests._app import FUNCTIONS  # the suite's one get_functions() call

    example = Path(__file__).resolve().parents[2] / "local.settings.example.json"
    values = json.loads(example.read_text(encoding="utf-8"))["Values"]
    host = DevHost(list(FUNCTIONS.values()), values, queues=False, timers=True)  # parses routes and schedules

    response = Client(host.http).get("/api/health")

    assert response.status_code == 200
    assert response.json["status"] == "ok"
