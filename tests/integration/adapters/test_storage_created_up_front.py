"""Queues, tables and the claim-check container exist before anyone polls them (docs/contract.md §4, §6): the
worker creates them when it builds its adapters, so a host polling `bc-outcomes` before the first export
gets an empty answer, not `QueueNotFound`. On a storage account of its own (a second Azurite), since the
suite's Azurite already holds everything other tests created."""

from __future__ import annotations

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from devtools._services import start_azurite_on_free_ports
from shared.adapters.names import PAYLOAD_CONTAINER, QUEUES, TABLES
from shared.adapters.secrets import InMemorySecretStore
from shared.bootstrap import build_adapters

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def empty_storage(tmp_path_factory):
    child, connection_string = start_azurite_on_free_ports(log_path=tmp_path_factory.mktemp("azurite") / "log")
    try:
        yield connection_string
    finally:
        child.stop()


def _no_azure_credential(**_: object):
    raise AssertionError("a connection string needs no credential")


def test_building_the_adapters_creates_every_queue_table_and_the_payload_container(empty_storage):
    build_adapters({"AzureWebJobsStorage": empty_storage}, secrets=InMemorySecretStore(),
                   credential_factory=_no_azure_credential)
    queues = {q.name for q in QueueServiceClient.from_connection_string(empty_storage).list_queues()}
    tables = {t.name for t in TableServiceClient.from_connection_string(empty_storage).list_tables()}
    containers = {c.name for c in BlobServiceClient.from_connection_string(empty_storage).list_containers()}
    assert set(QUEUES.values()) <= queues
    assert set(TABLES.values()) <= tables
    assert PAYLOAD_CONTAINER in containers


def test_a_host_polling_bc_outcomes_before_the_first_export_gets_an_empty_answer(empty_storage):
    build_adapters({"AzureWebJobsStorage": empty_storage}, secrets=InMemorySecretStore(),
                   credential_factory=_no_azure_credential)
    outcomes = QueueServiceClient.from_connection_string(empty_storage).get_queue_client("bc-outcomes")
    assert list(outcomes.receive_messages(max_messages=32, visibility_timeout=30)) == []
    assert outcomes.peek_messages(max_messages=32) == []
