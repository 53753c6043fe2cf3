"""Refresh tokens rotate on every use, racing workers keep exactly one, and the keep-alive stops them lapsing.

Entra (the sandbox) rotates a refresh token on every redemption, keeps the old one valid, expires one
after 90 days without use (AADSTS700082) and revokes all earlier ones on a revocation (AADSTS50173).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from azure.data.tables import UpdateMode

from sandbox import constants
from shared.auth import ReconnectRequiredError, RefreshTokenCredential
from shared.clock import SYSTEM_CLOCK
from shared.tokens import DELEGATED_BC_SCOPE, ConnectorRefreshTokens
from tests._app import FUNCTIONS, call_http, json_of
from tests.integration.consent._helpers import callback, consent, outcome, put_delegated, sign_in

pytestmark = pytest.mark.integration

DAY = 24 * 3600


def connect(name, sandbox, **changes):
    put_delegated(name, **changes)
    assert outcome(consent(name, sandbox.ca_bundle)) == "connected"


def refresh_token_of(services, name):
    return services.secrets().get_secret(f"connector-{name}-refresh-token")


def bc_call(services, name):
    record = services.store().get(name)
    return services.bc_client_for_record(record).list_companies()


def credential(services, sandbox, store):
    """A worker of its own: its own credential (MSAL app, access-token cache) over `store`."""
    return RefreshTokenCredential(authority_host=sandbox.url, tenant=constants.TENANT_ID,
                                  client_id=constants.DEMO_CLIENT_ID, client_secret=constants.DEMO_CLIENT_SECRET,
                                  store=store)


# -- rotation -----------------------------------------------------------------------------------------


def test_a_bc_call_of_a_delegated_connector_rotates_and_keeps_the_refresh_token(services, connector_name, sandbox):
    connect(connector_name, sandbox)
    first = refresh_token_of(services, connector_name)

    companies = bc_call(services, connector_name)

    assert constants.US_COMPANY in {c["name"] for c in companies}
    assert refresh_token_of(services, connector_name) not in (None, first)
    assert services.token_versions().get(connector_name).generation == 2


def test_two_workers_refreshing_at_once_keep_exactly_one_rotated_token(services, connector_name, sandbox):
    connect(connector_name, sandbox)
    barrier = threading.Barrier(2, timeout=10)
    saved: dict[str, tuple[str, bool]] = {}

    class RacingStore(ConnectorRefreshTokens):
        """Both workers read the token before either stores its rotation: the race the guard is for."""

        def load_current(self):
            current = super().load_current()
            barrier.wait()
            return current

        def save_rotated(self, refresh_token, *, replaces):
            kept = super().save_rotated(refresh_token, replaces=replaces)
            saved[threading.current_thread().name] = (refresh_token, kept)
            return kept

    errors: list[BaseException] = []

    def worker():
        store = RacingStore(connector_name, services.secrets(), services.token_versions(), clock=SYSTEM_CLOCK)
        try:
            assert credential(services, sandbox, store).get_token(DELEGATED_BC_SCOPE).token
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sorted(kept for _, kept in saved.values()) == [False, True]
    winner = next(token for token, kept in saved.values() if kept)
    assert refresh_token_of(services, connector_name) == winner
    assert services.token_versions().get(connector_name).generation == 2
    # The kept token works for the next worker.
    fresh = ConnectorRefreshTokens(connector_name, services.secrets(), services.token_versions(), clock=SYSTEM_CLOCK)
    assert credential(services, sandbox, fresh).get_token(DELEGATED_BC_SCOPE).token


def test_a_worker_holding_the_previous_grant_cannot_overwrite_a_new_consent(services, connector_name, sandbox):
    connect(connector_name, sandbox)

    class SlowStore(ConnectorRefreshTokens):
        """The worker redeemed the old grant's token; before it stores the rotation, a new consent lands."""

        def save_rotated(self, refresh_token, *, replaces):
            assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
            self.new_grant_token = refresh_token_of(services, connector_name)
            return super().save_rotated(refresh_token, replaces=replaces)

    store = SlowStore(connector_name, services.secrets(), services.token_versions(), clock=SYSTEM_CLOCK)
    cred = credential(services, sandbox, store)

    cred.get_token(DELEGATED_BC_SCOPE)

    assert cred.last_rotation == "kept-by-another-worker"
    assert refresh_token_of(services, connector_name) == store.new_grant_token


def test_a_grant_revoked_and_consented_again_while_in_use_is_not_reported_as_lost(services, connector_name,
                                                                                  sandbox, bc):
    connect(connector_name, sandbox)

    class Store(ConnectorRefreshTokens):
        """The worker reads the old token; then the grant is revoked and someone consents again."""

        done = False

        def load_current(self):
            current = super().load_current()
            if not Store.done:
                Store.done = True
                bc.revoke_grant(constants.TENANT_ID, constants.DEMO_CLIENT_ID)
                assert outcome(consent(connector_name, sandbox.ca_bundle)) == "connected"
            return current

    cred = credential(services, sandbox, Store(connector_name, services.secrets(), services.token_versions(), clock=SYSTEM_CLOCK))

    assert cred.get_token(DELEGATED_BC_SCOPE).token  # AADSTS50173 on the old token, then the new one works
    assert services.store().get(connector_name).status == "connected"
    assert [n for n in services.notifications if n["event"] == "reconnect_required"] == []


# -- keep-alive ---------------------------------------------------------------------------------------


def test_without_renewal_a_refresh_token_lapses_after_90_days(services, connector_name, sandbox, bc, new_worker):
    connect(connector_name, sandbox)
    bc.advance_clock(91 * DAY)
    new_worker()

    with pytest.raises(ReconnectRequiredError, match="AADSTS700082"):
        bc_call(services, connector_name)


def test_the_keep_alive_renews_delegated_tokens_so_none_lapses(own_connectors_table, services, sandbox, bc,
                                                                keep_alive, new_worker, unique_suffix):
    first, second = f"ka1-{unique_suffix}", f"ka2-{unique_suffix}"
    connect(first, sandbox)
    connect(second, sandbox)
    bc.advance_clock(60 * DAY)

    summary = keep_alive()

    assert sorted(summary.refreshed) == sorted([first, second])
    assert services.token_versions().get(first).generation == 2
    bc.advance_clock(60 * DAY)  # 120 days after the consent, 60 after the renewal
    new_worker()
    assert bc_call(services, first) and bc_call(services, second)


def test_the_keep_alive_timer_function_runs_the_renewal(own_connectors_table, services, connector_name, sandbox):
    from azure.functions.timer import TimerRequest

    connect(connector_name, sandbox)
    before = refresh_token_of(services, connector_name)

    FUNCTIONS["keep_tokens_fresh"].get_user_function()(TimerRequest(past_due=True))

    assert refresh_token_of(services, connector_name) != before
    assert services.token_versions().get(connector_name).generation == 2


def test_the_keep_alive_leaves_connectors_without_a_grant_alone(own_connectors_table, services, sandbox, bc,
                                                                 keep_alive, unique_suffix):
    waiting = f"wait-{unique_suffix}"
    put_delegated(waiting)
    app_only = f"app-{unique_suffix}"
    put_delegated(app_only, auth={"mode": "clientCredentials", "clientId": constants.DEMO_CLIENT_ID,
                                  "clientSecret": constants.DEMO_CLIENT_SECRET})
    since = bc.last_seq()

    summary = keep_alive()

    assert summary.skipped == [waiting] and summary.refreshed == [] and summary.failed == []
    assert bc.requests(since=since, kind="entra") == []


GRANT_LOST = {
    "revoked": ("AADSTS50173", lambda bc: bc.revoke_grant(constants.TENANT_ID, constants.DEMO_CLIENT_ID)),
    "consent withdrawn": ("AADSTS65001", lambda bc: bc.set_consent_mode("consent_required")),
    "unused for 91 days": ("AADSTS700082", lambda bc: bc.advance_clock(91 * DAY)),
}


@pytest.mark.parametrize("how", sorted(GRANT_LOST))
def test_a_lost_grant_found_by_the_keep_alive_is_reported_once_with_a_working_consent_link(
        own_connectors_table, services, connector_name, sandbox, bc, keep_alive, new_worker, how):
    code, lose_grant = GRANT_LOST[how]
    connect(connector_name, sandbox)
    lose_grant(bc)
    new_worker()

    first, second = keep_alive(), keep_alive()

    assert first.reconnect_required == [connector_name] and second.skipped == [connector_name]
    assert services.store().get(connector_name).status == "reconnect_required"
    (notice,) = [n for n in services.notifications if n["event"] == "reconnect_required"]
    assert notice["recipients"] == ["ops@example.com"]
    assert code in notice["message"]
    assert notice["details"]["consentUrl"] in notice["message"]
    page = callback(sign_in(notice["details"]["consentUrl"], sandbox.ca_bundle))
    assert outcome(page) == "connected"
    new_worker()
    assert bc_call(services, connector_name)


def test_a_token_near_its_end_that_cannot_be_renewed_is_announced_once_per_threshold(
        own_connectors_table, services, connector_name, sandbox, bc, keep_alive):
    connect(connector_name, sandbox)
    row = services.table("tokens").get_entity(connector_name, "refresh-token")
    soon = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5)
    row["expiresAt"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    services.table("tokens").update_entity(row, mode=UpdateMode.REPLACE)
    bc.add_fault("503", count=50, retry_after=1, path="/oauth2/v2.0/token")

    first, second = keep_alive(), keep_alive()

    assert first.failed == [connector_name] and first.expiring_notified == [connector_name]
    assert second.failed == [connector_name] and second.expiring_notified == []
    (notice,) = [n for n in services.notifications if n["event"] == "token_expiring"]
    assert notice["details"]["daysLeft"] == pytest.approx(5, abs=0.1)
    assert "could not be renewed: Entra ID could not issue a token" in notice["message"]
    assert services.store().get(connector_name).status == "connected"


def test_the_keep_alive_deletes_consent_states_that_expired(own_connectors_table, services, connector_name,
                                                            keep_alive):
    put_delegated(connector_name)
    started = json_of(call_http("start_consent", route_params={"name": connector_name}))
    state = started["consentUrl"].split("state=")[1].split("&")[0]
    table = services.table("consent")
    row = table.get_entity("state", state)
    row["expiresAt"] = "2020-01-01T00:00:00Z"
    table.update_entity(row, mode=UpdateMode.REPLACE)

    assert keep_alive().states_purged >= 1
    assert not list(table.query_entities("RowKey eq @s", parameters={"s": state}))
