"""Concurrent saves and deletes of one connector on Azurite + the sandbox, with the in-memory secret store
(issue 10 item 1): the row names its client secret, so the stored client id and secret always belong
together, and no secret survives that no row names once the clean-up pass has run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from sandbox import constants
from tests._app import call_http, json_of
from tests._settings import connector_settings

pytestmark = pytest.mark.integration

#: The two apps the saves alternate: both registered in Entra and enabled in BC for the test.
APPS = {constants.DEMO_CLIENT_ID: constants.DEMO_CLIENT_SECRET,
        constants.UNREGISTERED_IN_BC_CLIENT_ID: constants.UNREGISTERED_IN_BC_CLIENT_SECRET}
ROUNDS, PARALLEL = 4, 12
RACES = 8


@pytest.fixture
def two_apps(bc):
    bc.set_bc_app_enabled(constants.TENANT_ID, constants.ENVIRONMENT, constants.UNREGISTERED_IN_BC_CLIENT_ID, True)


def app_settings(client_id, **changes):
    return connector_settings("us", auth__clientId=client_id, auth__clientSecret=APPS[client_id],
                              customers={"enabled": False}, projects={"enabled": False}, **changes)


def put(name, document, headers=None):
    return call_http("put_connector", route_params={"name": name}, body=document, headers=headers)


def delete(name):
    return call_http("delete_connector", route_params={"name": name})


def secrets_of(services, name):
    return services.secrets().list_names(f"connector-{name}-")


def stored_pair(services, name):
    record = services.store().get(name)
    return record.settings.client_id, services.secrets().get_secret(record.client_secret_name)


def test_parallel_saves_of_two_apps_always_store_a_client_id_with_its_own_secret(services, connector_name,
                                                                                  two_apps):
    ids = list(APPS)
    mismatches, statuses = 0, []
    with ThreadPoolExecutor(PARALLEL) as pool:
        for round_ in range(ROUNDS):
            answers = list(pool.map(lambda i: put(connector_name, app_settings(ids[(i + round_) % 2])),
                                    range(PARALLEL)))
            statuses += [a.status_code for a in answers]
            client_id, secret = stored_pair(services, connector_name)
            mismatches += APPS[client_id] != secret
            # Losers removed the secrets they wrote; the replaced secret went with the winning save.
            assert secrets_of(services, connector_name) == \
                [services.store().get(connector_name).client_secret_name.lower()]
    assert mismatches == 0
    assert set(statuses) <= {200, 201, 409}


def test_a_delete_racing_a_save_leaves_no_secret_without_a_connector_after_the_clean_up_pass(
        services, connector_name, two_apps):
    ids = list(APPS)
    for round_ in range(RACES):
        assert put(connector_name, app_settings(ids[0])).status_code in (200, 201)
        with ThreadPoolExecutor(2) as pool:
            saved = pool.submit(put, connector_name, app_settings(ids[1]))
            deleted = pool.submit(delete, connector_name)
            assert saved.result().status_code in (200, 201, 409)
            assert deleted.result().status_code in (204, 404, 409)
        services.connectors().sweep_secrets(older_than=timedelta(0))
        record = services.store().get(connector_name)
        if record is None:
            assert secrets_of(services, connector_name) == []
        else:
            assert secrets_of(services, connector_name) == [record.client_secret_name.lower()]
            client_id, secret = stored_pair(services, connector_name)
            assert APPS[client_id] == secret
            assert delete(connector_name).status_code == 204
        assert secrets_of(services, connector_name) == []


def test_a_save_of_a_new_name_never_adopts_a_secret_left_under_the_old_fixed_name(services, connector_name):
    services.secrets().set_secret(f"connector-{connector_name}-client-secret", constants.DEMO_CLIENT_SECRET)
    document = app_settings(constants.DEMO_CLIENT_ID)
    del document["auth"]["clientSecret"]
    response = put(connector_name, document)
    assert response.status_code == 422
    assert "bc-client-secret" in json_of(response)["errors"][0]["message"]


def test_a_save_that_bc_refuses_leaves_no_secret_behind(services, connector_name):
    response = put(connector_name, app_settings(constants.DEMO_CLIENT_ID, company="No Such Company"))
    assert response.status_code == 422
    assert secrets_of(services, connector_name) == []


def test_a_save_whose_row_write_fails_removes_the_secret_it_wrote(services, connector_name):
    class FailingStore:
        def __init__(self, inner):
            self._inner = inner

        def __getattr__(self, attr):
            return getattr(self._inner, attr)

        def create(self, record):
            raise RuntimeError("table down")

    services.replace_adapters(connector_store=FailingStore(services.store()))
    with pytest.raises(RuntimeError):
        put(connector_name, app_settings(constants.DEMO_CLIENT_ID))
    assert secrets_of(services, connector_name) == []
