"""The ConnectorStore contract, run against Azurite (TableConnectorStore) and the in-memory fake.

Running one suite against both keeps the fake honest: use-case tests rely on it behaving like the table.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from shared.adapters.connector_store import InMemoryConnectorStore, TableConnectorStore
from shared.connectors import ConnectorRecord, ConnectorSettings, SettingsInvalid
from shared.errors import ConflictError, TooLarge, disposition
from tests._clock import ManualClock

pytestmark = pytest.mark.integration


#: What the stores' clock says: the moment they stamp records that come without timestamps.
STAMP = datetime(2026, 11, 20, 10, 15, 1, tzinfo=timezone.utc)


@pytest.fixture(params=["table", "memory"])
def store(request):
    if request.param == "memory":
        return InMemoryConnectorStore(clock=ManualClock(STAMP))
    make_table_client = request.getfixturevalue("make_table_client")
    return TableConnectorStore(make_table_client("Connectors"), clock=ManualClock(STAMP))


def record(name: str, **changes) -> ConnectorRecord:
    base = ConnectorRecord(
        name=name,
        settings=ConnectorSettings(
            tenant_id="contoso-sandbox.onmicrosoft.com",
            environment="Production",
            company="Müller & Söhne, Nord/Süd",
            auth_mode="delegated",
        ),
        status="consent_required",
        company_id="5f1e2a3b-0000-4000-8000-000000000001",
        company_name="Müller & Söhne, Nord/Süd",
        tax_mode="vat",
        refresh_token_expires_at=None,
        stats={},
    )
    return replace(base, **changes)


def test_a_created_connector_reads_back_with_an_etag_and_timestamps(store, unique_connector_name):
    created = store.create(record(unique_connector_name))

    got = store.get(unique_connector_name)

    assert got == created
    assert got.etag
    assert got.settings.company == "Müller & Söhne, Nord/Süd"
    assert (got.created_at, got.updated_at) == ("2026-11-20T10:15:01Z", "2026-11-20T10:15:01Z")
    assert got.refresh_token_expires_at is None


def test_an_unknown_connector_reads_as_none(store, unique_connector_name):
    assert store.get(unique_connector_name) is None


def test_list_answers_every_connector_sorted_by_name(store, unique_connector_name):
    for suffix in ("b", "a", "c"):
        store.create(record("%s-%s" % (unique_connector_name, suffix)))

    listed = store.list()

    assert [r.name for r in listed] == ["%s-%s" % (unique_connector_name, s) for s in "abc"]
    assert all(r.etag for r in listed)


def test_creating_an_existing_name_raises_a_conflict_naming_the_connector(store, unique_connector_name):
    store.create(record(unique_connector_name))

    with pytest.raises(ConflictError) as raised:
        store.create(record(unique_connector_name, status="connected"))

    assert str(raised.value) == "Connector '%s' already exists." % unique_connector_name
    assert raised.value.code == "ConnectorAlreadyExists"
    assert raised.value.details["connector"] == unique_connector_name
    assert store.get(unique_connector_name).status == "consent_required"


def test_an_update_with_the_current_etag_replaces_the_record_and_answers_a_new_etag(store, unique_connector_name):
    created = store.create(record(unique_connector_name))

    updated = store.update(
        replace(
            created,
            status="connected",
            company_country="DE",
            refresh_token_expires_at="2027-02-18T10:15:00Z",
            stats={"exports": 3},
            updated_at="2026-11-21T08:00:00Z",
        )
    )

    assert updated.etag and updated.etag != created.etag
    assert store.get(unique_connector_name) == updated
    assert (updated.status, updated.company_country, updated.stats) == ("connected", "DE", {"exports": 3})
    assert (updated.created_at, updated.updated_at) == (created.created_at, "2026-11-21T08:00:00Z")


def test_timestamps_given_by_the_caller_are_kept(store, unique_connector_name):
    created = store.create(
        record(unique_connector_name, created_at="2026-01-02T03:04:05Z", updated_at="2026-01-02T03:04:05Z")
    )

    assert (created.created_at, created.updated_at) == ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z")
    assert store.get(unique_connector_name).created_at == "2026-01-02T03:04:05Z"


def test_an_update_can_clear_optional_columns(store, unique_connector_name):
    created = store.create(record(unique_connector_name, tax_mode="salesTax", company_country="US"))

    store.update(replace(created, company_id=None, company_name=None, tax_mode=None, company_country=None))

    got = store.get(unique_connector_name)
    assert (got.company_id, got.company_name, got.tax_mode, got.company_country) == (None, None, None, None)


def test_an_update_with_a_stale_etag_raises_a_conflict(store, unique_connector_name):
    created = store.create(record(unique_connector_name))
    store.update(replace(created, status="connected"))

    with pytest.raises(ConflictError) as raised:
        store.update(replace(created, status="disabled"))

    assert str(raised.value) == (
        "Connector '%s' was changed by someone else since it was read." % unique_connector_name
    )
    assert store.get(unique_connector_name).status == "connected"


def test_an_update_of_a_deleted_connector_raises_a_conflict(store, unique_connector_name):
    created = store.create(record(unique_connector_name))
    store.delete(unique_connector_name)

    with pytest.raises(ConflictError, match="was deleted since it was read"):
        store.update(replace(created, status="connected"))

    assert store.get(unique_connector_name) is None


def test_an_update_without_an_etag_is_refused(store, unique_connector_name):
    store.create(record(unique_connector_name))

    with pytest.raises(ValueError, match="needs the etag of the record it changes: read it with get\\(\\) first"):
        store.update(record(unique_connector_name))


def test_two_concurrent_writers_cannot_both_update_the_same_version(store, unique_connector_name):
    store.create(record(unique_connector_name))
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def writer(status: str) -> None:
        seen = store.get(unique_connector_name)
        barrier.wait(timeout=10)  # both have read the same version before either writes
        try:
            store.update(replace(seen, status=status))
            outcomes[status] = "saved"
        except ConflictError:
            outcomes[status] = "conflict"

    threads = [threading.Thread(target=writer, args=(s,)) for s in ("connected", "disabled")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert sorted(outcomes.values()) == ["conflict", "saved"]
    winner = next(s for s, o in outcomes.items() if o == "saved")
    assert store.get(unique_connector_name).status == winner


def test_delete_answers_whether_the_connector_existed(store, unique_connector_name):
    store.create(record(unique_connector_name))

    assert store.delete(unique_connector_name) is True
    assert store.delete(unique_connector_name) is False
    assert store.get(unique_connector_name) is None


# Settings cannot reach the limit (the parser caps every field, notes at 4000 characters); stats can.


def test_stats_over_the_64_kib_property_limit_are_refused_with_the_field(store, unique_connector_name):
    too_big = record(unique_connector_name, stats={"notes": "x" * 40_000})

    with pytest.raises(TooLarge) as raised:
        store.create(too_big)

    assert raised.value.field == "stats" and raised.value.fields == ("stats",)
    assert disposition(raised.value).http_status == 413
    assert str(raised.value).startswith(
        "Connector '%s': stats takes 80024 bytes as stored, over Table Storage's limit of 65536 bytes "
        "per string property." % unique_connector_name
    )
    assert store.get(unique_connector_name) is None


def test_stats_just_under_the_limit_are_stored(store, unique_connector_name):
    fits = record(unique_connector_name, stats={"notes": "ü" * 32_000})

    store.create(fits)

    assert store.get(unique_connector_name).stats["notes"] == "ü" * 32_000


def test_a_stored_document_that_no_longer_parses_is_named_on_get_and_left_out_of_lists(store, unique_connector_name):
    store.create(record(unique_connector_name + "-ok"))
    store.create(record(unique_connector_name + "-bad", settings=ConnectorSettings(
        tenant_id="contoso-sandbox.onmicrosoft.com", environment="Production", company="C", auth_mode="delegated",
        expenses_enabled=True)))  # written before expenses.fromDate was required

    with pytest.raises(SettingsInvalid) as raised:
        store.get(unique_connector_name + "-bad")

    assert [e.field for e in raised.value.errors] == ["connector"]
    assert "save the connector again" in str(raised.value)
    assert [r.name for r in store.list()] == [unique_connector_name + "-ok"]


# Table-only behaviour ------------------------------------------------------------------------------


def test_the_table_is_created_on_first_use_not_on_construction(make_table_client, azurite_table_service):
    table = make_table_client("Connectors")
    store = TableConnectorStore(table)
    assert table.table_name not in [t.name for t in azurite_table_service.list_tables()]

    assert store.list() == []

    assert table.table_name in [t.name for t in azurite_table_service.list_tables()]


def test_status_and_ids_are_plain_columns_operators_can_filter_on(make_table_client, unique_connector_name):
    table = make_table_client("Connectors")
    store = TableConnectorStore(table)
    store.create(
        record(unique_connector_name + "-a", status="connected", refresh_token_expires_at="2027-01-01T00:00:00Z")
    )
    store.create(record(unique_connector_name + "-b", status="reconnect_required"))

    rows = list(table.query_entities("status eq @s", parameters={"s": "connected"}))

    assert [r["RowKey"] for r in rows] == [unique_connector_name + "-a"]
    assert rows[0]["PartitionKey"] == "connector"
    assert rows[0]["companyId"] == "5f1e2a3b-0000-4000-8000-000000000001"
    assert rows[0]["taxMode"] == "vat"
    assert rows[0]["refreshTokenExpiresAt"] == "2027-01-01T00:00:00Z"
    assert isinstance(rows[0]["settings"], str)


def test_a_delete_under_a_stale_etag_is_a_conflict_and_keeps_the_row(store, unique_connector_name):
    created = store.create(record(unique_connector_name))
    store.update(created)
    with pytest.raises(ConflictError):
        store.delete(unique_connector_name, etag=created.etag)
    assert store.get(unique_connector_name) is not None
    assert store.delete(unique_connector_name, etag=store.get(unique_connector_name).etag) is True


def test_the_row_keeps_the_name_of_the_secret_it_uses(store, unique_connector_name):
    name = f"connector-{unique_connector_name}-client-secret-65f00000c0ffee00"
    store.create(record(unique_connector_name, client_secret_source="connector", client_secret_name=name))
    assert store.get(unique_connector_name).client_secret_name == name


def test_a_row_written_before_generations_uses_the_old_fixed_secret_name(store, unique_connector_name):
    store.create(record(unique_connector_name, client_secret_source="connector"))
    assert store.get(unique_connector_name).client_secret_name == f"connector-{unique_connector_name}-client-secret"
