"""A BC client for a connector, in its auth mode: the one place that knows how a connector reaches BC.

- client credentials: the connector's own client secret (the Key Vault secret its row names,
  `record.client_secret_name`) or the app-wide one (`bc-client-secret`), with the connector's client id or
  the app-wide `BC_CLIENT_ID`; never a secret the row does not name;
- delegated: the worker's `RefreshTokenCredential` of the connector, redeeming its stored refresh token
  through the rotation guard (`ConnectorRefreshTokens`). While the connector is `consent_required` or
  `reconnect_required` no token is asked for: `ReconnectRequiredError` at once, so its work is parked.

Every client shares the worker's HTTP session, credential cache and gates, and takes its gate slots
under the BC user it runs as (`shared.bc.budget_user`): the tenant and client id for app-only access, the
consenting user (`TokenVersions.consentedBy`) for delegated access. Connectors that share a BC user share
its budget across every instance. `check_budget(name, new_work=...)` asks that budget, by the BC user the
connector's last client ran as (remembered for `BUDGET_KEY_SECONDS`), whether it is known to be used up, so
an export message can be put back before its connector is read or its ledger claim taken.
"""

from __future__ import annotations

import threading
from typing import Protocol

import requests

from shared.adapters.secrets import APP_CLIENT_SECRET_NAME
from shared.auth import BC_SCOPE, CredentialCache, RefreshTokenCredential, ReconnectRequiredError, TokenCredential
from shared.bc import BcClient, ConnectorGates, budget_user
from shared.config import AppSettings
from shared.clock import Clock
from shared.connectors import ConnectorRecord, ConnectorSettings, FieldError, SettingsInvalid

from ._credentials import DELEGATED_BC_SCOPE, StaticTokenCredential
from ._store import ConnectorRefreshTokens
from ._versions import TokenVersionStore

__all__ = ["BcClients", "Secrets"]

#: How long the BC user a connector's client ran as is remembered for `check_budget` (a connector whose
#: credentials change meanwhile is at worst put back once by its old BC user's budget).
BUDGET_KEY_SECONDS = 10.0

#: Statuses in which a delegated connector has a grant to use.
_HAS_GRANT = ("connected", "disabled")


class Secrets(Protocol):
    """What BcClients needs of the secret store: read client secrets, and keep rotated refresh tokens."""

    def get_secret(self, name: str) -> str | None: ...

    def set_secret(self, name: str, value: str) -> None: ...


class BcClients:
    """BC clients for stored connectors, unsaved settings and consent callbacks (see the module docstring)."""

    def __init__(self, *, app: AppSettings, secrets: Secrets, token_versions: TokenVersionStore,
                 credentials: CredentialCache, session: requests.Session, gates: ConnectorGates,
                 clock: Clock) -> None:
        self._app = app
        self._secrets = secrets
        self._versions = token_versions
        self._credentials = credentials
        self._session = session
        self._gates = gates
        self._clock = clock
        self._delegated_users: dict[str, str] = {}
        self._users_lock = threading.Lock()
        self._budget_keys: dict[str, tuple[str, float]] = {}  # connector -> (BC user, monotonic expiry)

    def check_budget(self, name: str, *, new_work: bool) -> None:
        """Raises BudgetExhausted at once when the budget of the BC user connector `name`'s last client ran as
        (in this worker, within `BUDGET_KEY_SECONDS`) is known to be used up, or, for `new_work`, promised to
        work deferred before; no storage read for the connector, no BC call. Returns when that is not known."""
        with self._users_lock:
            known = self._budget_keys.get(name)
        if known is not None and known[1] > self._clock.monotonic():
            self._gates.check(known[0], new_work=new_work)

    def for_record(self, record: ConnectorRecord) -> BcClient:
        """A client for a stored connector in its auth mode.

        Raises ReconnectRequiredError at once while a delegated connector is `consent_required` or
        `reconnect_required`, and SettingsInvalid when its credentials are incomplete.
        """
        settings = record.settings
        if settings.auth_mode == "clientCredentials":
            client_id, secret = self._app_credentials(settings, secret_name=record.client_secret_name)
            key = budget_user(settings.tenant_id, client_id=client_id)
            client = self._app_client(settings.tenant_id, settings.environment, client_id, secret, key=key)
        else:
            credential = self.delegated_credential(record)
            key = self._delegated_user(record)
            client = self._client(settings, credential, key=key, scope=DELEGATED_BC_SCOPE, delegated=True)
        with self._users_lock:
            self._budget_keys[record.name] = (key, self._clock.monotonic() + BUDGET_KEY_SECONDS)
        return client

    def _delegated_user(self, record: ConnectorRecord) -> str:
        """The budget key of a delegated connector: the person who consented (read once per worker)."""
        with self._users_lock:
            known = self._delegated_users.get(record.name)
        if known is not None:
            return known
        version = self._versions.get(record.name)
        user = budget_user(record.settings.tenant_id, user=version.consented_by if version else None,
                           connector=record.name)
        with self._users_lock:
            self._delegated_users[record.name] = user
        return user

    def delegated_credential(self, record: ConnectorRecord) -> RefreshTokenCredential:
        """The worker's refresh-token credential of a delegated connector (the keep-alive redeems it)."""
        if record.status not in _HAS_GRANT:
            waiting = "has no consent yet" if record.status == "consent_required" else "must be reconnected"
            raise ReconnectRequiredError(
                f"Connector '{record.name}' uses delegated access and {waiting}: start the consent with "
                f"POST /api/connectors/{record.name}/consent. Waiting work is kept and replayed afterwards.",
                error=record.status or "consent_required")
        settings = record.settings
        client_id, secret = self._app_credentials(settings, secret_name=record.client_secret_name)
        return self._credentials.delegated(
            record.name, authority_host=self._app.bc_authority_host, tenant=settings.tenant_id,
            client_id=client_id, client_secret=secret, http_session=self._session,
            store=lambda: ConnectorRefreshTokens(record.name, self._secrets, self._versions, clock=self._clock))

    def for_settings(self, settings: ConnectorSettings, client_secret: str | None = None, *,
                     name: str) -> BcClient:
        """An app-only client for settings not stored yet (a save's verification).

        The secret is `client_secret` (the caller resolved it from the body or the stored row), else the
        app-wide one.
        """
        client_id, secret = self._app_credentials(settings, client_secret=client_secret)
        return self._app_client(settings.tenant_id, settings.environment, client_id, secret,
                                key=budget_user(settings.tenant_id, client_id=client_id))

    def with_token(self, settings: ConnectorSettings, access_token: str, expires_in: int, *,
                   name: str) -> BcClient:
        """A delegated client over an access token in hand (the consent callback checks BC with it)."""
        return self._client(settings, StaticTokenCredential(access_token, expires_in),
                            key=budget_user(settings.tenant_id, connector=name), scope=DELEGATED_BC_SCOPE,
                            delegated=True)

    def forget(self, name: str) -> None:
        """Drop the connector's delegated credential (after a new consent its tokens are the old grant's)."""
        self._credentials.forget(name)
        with self._users_lock:
            self._delegated_users.pop(name, None)
            self._budget_keys.pop(name, None)

    # -- internals ----------------------------------------------------------------------------------

    def _app_credentials(self, settings: ConnectorSettings, *, client_secret: str | None = None,
                         secret_name: str | None = None) -> tuple[str, str]:
        client_id = settings.client_id or self._app.bc_client_id
        if client_secret is not None:
            secret: str | None = client_secret
        elif secret_name is not None:
            secret = self._secrets.get_secret(secret_name)
        else:
            secret = self._secrets.get_secret(APP_CLIENT_SECRET_NAME)
        if not client_id or not secret:
            raise SettingsInvalid([FieldError(
                "auth.clientSecret" if client_id else "auth.clientId",
                "The connector's credentials are incomplete; save the connector again with auth.clientSecret.")])
        return client_id, secret

    def _app_client(self, tenant: str, environment: str, client_id: str, secret: str, *, key: str) -> BcClient:
        credential = self._credentials.client_credentials(
            authority_host=self._app.bc_authority_host, tenant=tenant, client_id=client_id,
            client_secret=secret, http_session=self._session)
        return BcClient(api_url=self._app.bc_api_url, tenant=tenant, environment=environment,
                        credential=credential, session=self._session, gate=self._gates.gate(key), scope=BC_SCOPE)

    def _client(self, settings: ConnectorSettings, credential: TokenCredential, *, key: str,
                scope: str, delegated: bool) -> BcClient:
        return BcClient(api_url=self._app.bc_api_url, tenant=settings.tenant_id, environment=settings.environment,
                        credential=credential, session=self._session, gate=self._gates.gate(key), scope=scope,
                        delegated=delegated)
