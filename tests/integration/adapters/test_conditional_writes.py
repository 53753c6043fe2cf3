"""Rows written only if nobody changed them since they were read: the write half of guarded_update,
and Azure Storage's errors as errors of the tree."""

from __future__ import annotations

import pytest

from shared.adapters import delete_if_unchanged, ensure_table, row_etag, storage_errors, write_if_unchanged
from shared.errors import ConflictError, TransientError
from shared.guarded import guarded_update

pytestmark = pytest.mark.integration


@pytest.fixture
def table(make_table_client):
    return ensure_table(make_table_client("Rows"))


def _row(count: int) -> dict:
    return {"PartitionKey": "acme", "RowKey": "r", "count": count}


def test_a_row_is_created_once_and_a_second_create_is_a_conflict(table):
    write_if_unchanged(table, _row(1), etag=None)
    with pytest.raises(ConflictError):
        write_if_unchanged(table, _row(2), etag=None)


def test_a_stale_etag_is_a_conflict_and_the_current_one_writes(table):
    first = write_if_unchanged(table, _row(1), etag=None)
    second = write_if_unchanged(table, _row(2), etag=first)
    with pytest.raises(ConflictError):
        write_if_unchanged(table, _row(3), etag=first)
    assert row_etag(table.get_entity("acme", "r")) == second


def test_guarded_update_rereads_after_another_writer_came_first(table):
    write_if_unchanged(table, _row(0), etag=None)
    interleaved = []

    def read():
        row = table.get_entity("acme", "r")
        if not interleaved:  # another worker writes between our read and our write, once
            interleaved.append(write_if_unchanged(table, _row(10), etag=row_etag(row)))
        return row

    guarded_update(read, lambda row: (row["count"] + 1, row_etag(row)),
                   lambda change: write_if_unchanged(table, _row(change[0]), etag=change[1]))
    assert table.get_entity("acme", "r")["count"] == 11


def test_a_delete_with_a_stale_etag_deletes_nothing(table):
    first = write_if_unchanged(table, _row(1), etag=None)
    write_if_unchanged(table, _row(2), etag=first)
    assert delete_if_unchanged(table, "acme", "r", etag=first) is False
    assert table.get_entity("acme", "r")["count"] == 2


def test_storage_outages_are_transient_with_their_retry_after():
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    class Answer:
        status_code = 503
        reason = "Server Busy"
        headers = {"Retry-After": "4"}

        def text(self) -> str:
            return ""

    with pytest.raises(TransientError) as caught:
        with storage_errors("connector acme"):
            raise HttpResponseError(response=Answer())
    assert caught.value.retry_after == 4.0 and "connector acme" in str(caught.value)
    with pytest.raises(TransientError):
        with storage_errors():
            raise ServiceRequestError("connection refused")


def test_other_storage_errors_pass_through_unchanged():
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError):
        with storage_errors():
            raise ResourceNotFoundError("gone")
