"""GET /api/health (anonymous) says the app runs and its version, nothing more; GET /api/health/ready
(function key) checks storage and Key Vault with one cheap call each and answers 200 or 503 per dependency."""

from __future__ import annotations

import pytest

from shared import bootstrap
from shared.adapters.secrets import SecretStoreUnavailable
from shared.errors import TransientError
from shared.health import Readiness
from shared.version import __version__
from tests._app import FUNCTIONS, call_http, json_of
from tests._worker import memory_adapters

import azure.functions as func

ENV = {"PUBLIC_BASE_URL": "https://app.test"}


class _CountingSecrets:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def get_secret(self, name: str) -> str | None:
        self.calls.append(name)
        if self.fail is not None:
            raise self.fail
        return None

    def set_secret(self, name: str, value: str) -> None:  # pragma: no cover - not used by health
        raise AssertionError("health never writes a secret")

    def delete_secret(self, name: str) -> None:  # pragma: no cover
        raise AssertionError("health never deletes a secret")


class _DownLedger:
    def get(self, *args):
        raise TransientError("Azure Table storage is unavailable.", code="StorageUnavailable")


@pytest.fixture
def worker_on():
    def install(**overrides):
        adapters = memory_adapters(ENV, **overrides)
        bootstrap.set_worker_app(bootstrap.bootstrap(adapters=adapters))
        return adapters
    yield install
    bootstrap.set_worker_app(None)


def test_the_anonymous_health_answers_the_version_from_shared_version():
    response = call_http("health")
    assert response.status_code == 200
    assert json_of(response) == {"status": "ok", "service": "bc-connector", "version": __version__}


def test_the_anonymous_health_runs_no_check_and_reveals_nothing_even_when_asked_for_readiness(worker_on):
    secrets = _CountingSecrets(fail=RuntimeError("vault exploded at https://kv.example"))
    worker_on(secrets=secrets, ledger=_DownLedger())
    response = call_http("health", params={"ready": "1"})
    assert response.status_code == 200
    assert json_of(response) == {"status": "ok", "service": "bc-connector", "version": __version__}
    assert secrets.calls == []


def test_readiness_is_a_function_key_route_and_health_stays_anonymous():
    assert FUNCTIONS["health_ready"].get_trigger().auth_level in (None, func.AuthLevel.FUNCTION)
    assert FUNCTIONS["health_ready"].get_trigger().route == "health/ready"
    assert FUNCTIONS["health"].get_trigger().auth_level == func.AuthLevel.ANONYMOUS


def test_readiness_answers_200_when_storage_and_key_vault_answer(worker_on):
    secrets = _CountingSecrets()
    worker_on(secrets=secrets)
    response = call_http("health_ready")
    body = json_of(response)
    assert response.status_code == 200
    assert body["status"] == "ready" and body["version"] == __version__
    assert {name: check["status"] for name, check in body["checks"].items()} == {"storage": "ok", "keyVault": "ok"}
    assert secrets.calls == ["health-probe"]  # one read of a name that holds no secret


def test_readiness_answers_503_naming_the_dependency_that_does_not_answer(worker_on):
    worker_on(secrets=_CountingSecrets(fail=SecretStoreUnavailable("bc-client-secret", "Key Vault is busy.",
                                                                   status=503)))
    response = call_http("health_ready")
    body = json_of(response)
    assert response.status_code == 503 and body["status"] == "not_ready"
    assert body["checks"]["storage"]["status"] == "ok"
    assert body["checks"]["keyVault"]["status"] == "failed" and body["checks"]["keyVault"]["error"]


def test_readiness_reports_error_codes_not_the_texts_of_the_failures(worker_on):
    worker_on(ledger=_DownLedger(), secrets=_CountingSecrets(fail=RuntimeError("token=abc at https://kv.example")))
    body = json_of(call_http("health_ready"))
    assert body["checks"]["storage"] == {"status": "failed", "error": "StorageUnavailable",
                                         "ms": body["checks"]["storage"]["ms"]}
    assert body["checks"]["keyVault"]["error"] == "RuntimeError"
    assert "token=abc" not in str(body) and "kv.example" not in str(body)


def test_an_app_that_cannot_be_built_is_not_ready_on_every_check(monkeypatch):
    bootstrap.set_worker_app(None)
    monkeypatch.setattr(bootstrap, "bootstrap", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no storage")))
    response = call_http("health_ready")
    body = json_of(response)
    assert response.status_code == 503
    assert {n: c["status"] for n, c in body["checks"].items()} == {"storage": "failed", "keyVault": "failed"}


def test_readiness_never_reaches_business_central(worker_on):
    adapters = worker_on(secrets=_CountingSecrets())

    class NoBc:
        def __getattr__(self, name):
            raise AssertionError("readiness must not call BC")

    object.__setattr__(adapters, "bc_clients", NoBc())
    bootstrap.set_worker_app(bootstrap.bootstrap(adapters=adapters))
    assert call_http("health_ready").status_code == 200


def test_a_readiness_without_probes_is_not_ready():
    assert Readiness({}).check().ready is False
