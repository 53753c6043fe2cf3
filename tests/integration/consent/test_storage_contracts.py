"""One contract for each consent/token table adapter, run against Azurite and against its in-memory twin, so
use-case tests on the twin mean what they say about the table."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from shared.adapters import ensure_table
from shared.adapters.consent_states import InMemoryConsentStateStore, TableConsentStateStore
from shared.adapters.token_versions import InMemoryTokenVersionStore, TableTokenVersionStore
from shared.consent import ConsentState, ConsentStateError, new_state, take_state
from shared.errors import ConflictError
from shared.tokens import TokenVersion

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(params=["table", "memory"])
def states(request, make_table_client):
    if request.param == "memory":
        return InMemoryConsentStateStore()
    return TableConsentStateStore(ensure_table(make_table_client("ConsentStates")))


@pytest.fixture(params=["table", "memory"])
def versions(request, make_table_client):
    if request.param == "memory":
        return InMemoryTokenVersionStore()
    return TableTokenVersionStore(ensure_table(make_table_client("TokenVersions")))


def a_state(expires: dt.datetime = NOW + dt.timedelta(minutes=10)) -> ConsentState:
    return ConsentState(state=new_state(), connector="acme", code_verifier="v" * 43, nonce="n", redirect_uri="https://x",
                        scope="a b", tenant="t", client_id="c", purpose="consent", created_at="2026-11-23T10:00:00Z",
                        expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_a_stored_state_reads_back_with_every_field_and_an_etag(states):
    state = a_state()
    states.create(state)

    row = states.get(state.state)

    assert replace(row, etag=None) == state and row.etag


def test_an_unknown_state_reads_as_none(states):
    assert states.get(new_state()) is None


def test_a_state_is_taken_once(states):
    state = a_state()
    states.create(state)

    taken = take_state(states, state.state, now=NOW)

    assert taken.used_at == "2026-11-23T10:00:00Z"
    with pytest.raises(ConsentStateError) as again:
        take_state(states, state.state, now=NOW)
    assert (again.value.kind, again.value.connector) == ("reused", "acme")


def test_replacing_a_state_read_before_someone_else_wrote_is_a_conflict(states):
    state = a_state()
    states.create(state)
    read = states.get(state.state)
    states.replace(replace(read, used_at="2026-11-23T10:00:01Z"))

    with pytest.raises(ConflictError):
        states.replace(replace(read, used_at="2026-11-23T10:00:02Z"))


def test_expired_states_are_purged_and_live_ones_kept(states):
    old, live = a_state(NOW - dt.timedelta(minutes=1)), a_state()
    states.create(old)
    states.create(live)

    assert states.purge_expired(before=NOW) == 1

    assert states.get(old.state) is None and states.get(live.state) is not None


def a_version(**changes) -> TokenVersion:
    return replace(TokenVersion("acme", 1, "g1", "admin@contoso.example", "2026-11-23T10:00:00Z",
                                "2026-11-23T10:00:00Z", "2027-02-21T10:00:00Z"), **changes)


def test_a_version_is_created_once_and_reads_back_with_its_etag(versions):
    stored = versions.put(a_version())

    assert versions.get("acme") == stored and stored.etag
    with pytest.raises(ConflictError):
        versions.put(a_version())  # created again without the etag: someone else's row is there


def test_a_version_replaced_with_a_stale_etag_is_a_conflict(versions):
    first = versions.put(a_version())
    versions.put(replace(first, generation=2))

    with pytest.raises(ConflictError):
        versions.put(replace(first, generation=3))
    assert versions.get("acme").generation == 2


def test_a_deleted_version_reads_as_none_and_cannot_be_replaced(versions):
    first = versions.put(a_version())
    versions.delete("acme")

    assert versions.get("acme") is None
    with pytest.raises(ConflictError):
        versions.put(replace(first, generation=2))
