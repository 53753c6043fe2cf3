"""Building storage clients from AzureWebJobsStorage, both forms. None of these tests touch the network."""

from __future__ import annotations

import pytest

from shared.errors import ConfigurationError
from shared.adapters import queue_service_from_settings, table_service_from_settings


class FakeCredential:
    def get_token(self, *scopes, **kwargs):  # pragma: no cover - no request is made
        raise AssertionError("no token should be requested while building clients")


class RecordingFactory:
    def __init__(self) -> None:
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        return FakeCredential()


def no_credential(**kwargs):
    raise AssertionError("a connection string needs no credential")


def test_use_development_storage_points_at_azurite_default_ports():
    environ = {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}

    tables = table_service_from_settings(environ, no_credential)
    queues = queue_service_from_settings(environ, no_credential)

    assert tables.url == "http://127.0.0.1:10002/devstoreaccount1"
    assert queues.url.rstrip("/") == "http://127.0.0.1:10001/devstoreaccount1"


def test_an_explicit_connection_string_is_used_as_given(azurite):
    environ = {"AzureWebJobsStorage": azurite}

    tables = table_service_from_settings(environ, no_credential)

    assert tables.account_name == "devstoreaccount1"
    assert tables.url.startswith("http://127.0.0.1:")


def test_identity_based_account_name_builds_the_public_endpoints_with_the_injected_credential():
    factory = RecordingFactory()
    environ = {"AzureWebJobsStorage__accountName": "contosofuncs"}

    tables = table_service_from_settings(environ, factory)
    queues = queue_service_from_settings(environ, factory)

    assert tables.url == "https://contosofuncs.table.core.windows.net"
    assert queues.url.rstrip("/") == "https://contosofuncs.queue.core.windows.net"
    assert isinstance(tables.credential, FakeCredential)
    assert factory.calls == [{}, {}]


def test_identity_based_service_uris_override_the_account_endpoints():
    environ = {
        "AzureWebJobsStorage__accountName": "contosofuncs",
        "AzureWebJobsStorage__tableServiceUri": "https://contosofuncs.table.core.usgovcloudapi.net/",
        "AzureWebJobsStorage__queueServiceUri": "https://contosofuncs.queue.core.usgovcloudapi.net",
    }

    assert table_service_from_settings(environ, RecordingFactory()).url == (
        "https://contosofuncs.table.core.usgovcloudapi.net"
    )
    assert queue_service_from_settings(environ, RecordingFactory()).url.rstrip("/") == (
        "https://contosofuncs.queue.core.usgovcloudapi.net"
    )


def test_a_client_id_selects_the_user_assigned_managed_identity():
    factory = RecordingFactory()
    environ = {
        "AzureWebJobsStorage__accountName": "contosofuncs",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "11111111-2222-3333-4444-555555555555",
    }

    table_service_from_settings(environ, factory)

    assert factory.calls == [{"managed_identity_client_id": "11111111-2222-3333-4444-555555555555"}]


@pytest.mark.parametrize("environ", [{}, {"AzureWebJobsStorage": "   "}])
def test_a_missing_setting_names_it_and_both_ways_to_fill_it(environ):
    with pytest.raises(ConfigurationError) as raised:
        table_service_from_settings(environ, no_credential)

    assert str(raised.value) == (
        "AzureWebJobsStorage is not set. Set it to a storage account connection string (for Azurite: "
        "UseDevelopmentStorage=true), or set AzureWebJobsStorage__accountName to the storage account name to "
        "connect with the app's managed identity."
    )


def test_identity_based_settings_without_this_service_say_which_setting_is_missing():
    environ = {"AzureWebJobsStorage__tableServiceUri": "https://contosofuncs.table.core.windows.net"}

    assert table_service_from_settings(environ, RecordingFactory()).url == "https://contosofuncs.table.core.windows.net"
    with pytest.raises(ConfigurationError) as raised:
        queue_service_from_settings(environ, RecordingFactory())

    assert str(raised.value) == (
        "Identity-based AzureWebJobsStorage needs AzureWebJobsStorage__accountName (the storage account name) or "
        "AzureWebJobsStorage__queueServiceUri; neither is set."
    )


def test_a_malformed_connection_string_is_reported_without_echoing_the_key():
    environ = {"AzureWebJobsStorage": "AccountName=contoso;AccountKy=c2VjcmV0LWtleQ=="}

    with pytest.raises(ConfigurationError) as raised:
        queue_service_from_settings(environ, no_credential)

    assert str(raised.value).startswith("AzureWebJobsStorage is not a usable storage connection string")
    assert "c2VjcmV0LWtleQ" not in str(raised.value)


def test_an_account_name_that_is_a_url_is_refused_with_the_expected_shape():
    with pytest.raises(ConfigurationError, match="must be a storage account name \\(3-24 lowercase letters"):
        table_service_from_settings(
            {"AzureWebJobsStorage__accountName": "https://contosofuncs.table.core.windows.net"}, RecordingFactory()
        )


def test_an_unknown_credential_kind_is_refused():
    with pytest.raises(ConfigurationError, match="AzureWebJobsStorage__credential must be 'managedidentity'"):
        table_service_from_settings(
            {"AzureWebJobsStorage__accountName": "contosofuncs", "AzureWebJobsStorage__credential": "password"},
            RecordingFactory(),
        )
