"""ensure_table and delete_partitions against Azurite."""

from __future__ import annotations

import pytest

from shared.adapters import delete_partitions, ensure_table

pytestmark = pytest.mark.integration


def fill(table, partition: str, count: int) -> None:
    for chunk_start in range(0, count, 100):
        table.submit_transaction(
            [
                ("create", {"PartitionKey": partition, "RowKey": "%05d" % i, "v": i})
                for i in range(chunk_start, min(count, chunk_start + 100))
            ]
        )


def partitions_of(table) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in table.list_entities(select=["PartitionKey"]):
        counts[row["PartitionKey"]] = counts.get(row["PartitionKey"], 0) + 1
    return counts


def test_ensure_table_creates_a_missing_table_and_tolerates_an_existing_one(make_table_client):
    table = make_table_client("Ledger")

    ensure_table(table)
    ensure_table(table)  # cached: no second request
    table.create_entity({"PartitionKey": "p", "RowKey": "r"})

    assert table.get_entity("p", "r")["RowKey"] == "r"


def test_ensure_table_accepts_a_table_created_by_another_process(make_table_client, azurite_table_service):
    table = make_table_client("Ledger")
    azurite_table_service.create_table(table.table_name)

    assert ensure_table(table) is table


def test_delete_partitions_removes_named_and_prefixed_partitions_only(make_table_client, unique_connector_name):
    table = ensure_table(make_table_client("SyncLedger"))
    mine, other = unique_connector_name, unique_connector_name + "x"
    fill(table, mine + "|customer", 230)  # more than two transactions' worth
    fill(table, mine + "|invoice", 5)
    fill(table, mine, 3)  # e.g. ImportCursors keyed by the bare connector name
    fill(table, other + "|customer", 4)  # shares the name as a prefix, but not "name|"
    fill(table, "unrelated", 2)

    deleted = delete_partitions(table, partitions=[mine], prefixes=[mine + "|"])

    assert deleted == 238
    assert partitions_of(table) == {other + "|customer": 4, "unrelated": 2}


def test_delete_partitions_of_nothing_deletes_nothing(make_table_client):
    table = ensure_table(make_table_client("Parked"))
    fill(table, "keep", 2)

    assert delete_partitions(table, partitions=["absent"], prefixes=["absent|"]) == 0
    assert partitions_of(table) == {"keep": 2}


def test_delete_partitions_treats_a_missing_table_as_empty(make_table_client):
    assert delete_partitions(make_table_client("NeverCreated"), partitions=["p"], prefixes=["p|"]) == 0


def test_delete_partitions_refuses_an_empty_prefix(make_table_client):
    with pytest.raises(ValueError, match="an empty partition prefix would delete the whole table"):
        delete_partitions(make_table_client("Parked"), prefixes=[""])


def test_delete_partitions_quotes_keys_safely(make_table_client):
    table = ensure_table(make_table_client("Parked"))
    fill(table, "o'brien|invoice", 2)
    fill(table, "o'brienz", 1)

    assert delete_partitions(table, prefixes=["o'brien|"]) == 2
    assert partitions_of(table) == {"o'brienz": 1}


@pytest.mark.parametrize("host_id", ["INV-1", "a/b\\c#d?e", "100%", "tab\there", "ümlaut & co"])
def test_table_key_round_trips_any_host_id_and_leaves_no_forbidden_character(host_id):
    from shared.adapters import from_table_key, table_key

    key = table_key(host_id)
    assert not set(key) & set("/\\#?\t")
    assert from_table_key(key) == host_id
