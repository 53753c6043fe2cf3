"""The connector settings API's use cases: save (verified), get, list, delete, look-ups, and the view.

The HTTP blueprint only parses the trigger and writes the answer (`functions/_http.py` renders the
errors raised here through `shared.errors.disposition`); every rule a person would name lives here,
against the ports below, so it runs against fakes, Azurite and the sandbox alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Mapping, Protocol

from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, client_secret_name, refresh_token_name
from shared.bc import BcClient
from shared.clock import Clock, iso
from shared.errors import ConflictError, NotFound, ReconnectRequired
from shared.jsontypes import JsonObject, JsonValue
from shared.messages import notification

from ._lookups import LOOKUP_KINDS, UnknownLookup, run_lookup
from ._record import ConnectorRecord, ConnectorStore
from ._settings import ConnectorSettings, FieldError, SettingsInvalid, parse_connector_name, parse_put_body
from ._verify import verify_settings

log = logging.getLogger(__name__)

__all__ = [
    "ActivityReader",
    "Notifier",
    "BcClientSource",
    "ConnectorDataPurger",
    "ConnectorNotFound",
    "ConnectorOptions",
    "ConnectorService",
    "ConsentStart",
    "ConsentStarter",
    "SaveOutcome",
    "Secrets",
]

#: A look-up's answer: one row per choice.
Rows = list[JsonObject]

# Until shared.auth raises the tree's ReconnectRequired itself, a revoked grant arrives as either.


class ConnectorNotFound(NotFound):
    """The route names a connector that does not exist (HTTP 404)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"There is no connector named '{name}'.", field="name")
        self.name = name


# -- ports ------------------------------------------------------------------------------------------


class Secrets(Protocol):
    """Where client secrets and refresh tokens live (Key Vault; `shared.adapters.secrets`)."""

    def get_secret(self, name: str) -> str | None: ...

    def set_secret(self, name: str, value: str) -> None: ...

    def delete_secret(self, name: str) -> None: ...


class BcClientSource(Protocol):
    """BC clients for connectors (`shared.tokens.BcClients`)."""

    def for_record(self, record: ConnectorRecord) -> BcClient:
        """A client in the stored connector's auth mode; raises ReconnectRequired while a delegated
        connector has no usable grant."""
        ...

    def for_settings(self, settings: ConnectorSettings, client_secret: str | None = None, *,
                     name: str) -> BcClient:
        """A client-credentials client for settings not stored yet (a save's verification)."""
        ...


class ConsentStart(Protocol):
    @property
    def url(self) -> str: ...


class ConsentStarter(Protocol):
    """Starts a delegated connector's consent (`shared.consent.ConsentService`)."""

    def start(self, name: str, record: ConnectorRecord | None = None) -> ConsentStart: ...


class ConnectorDataPurger(Protocol):
    """Deletes a connector's rows in every table that holds per-connector data (not its settings row)."""

    def purge(self, name: str) -> None: ...


class Notifier(Protocol):
    """Sends one `bc-notifications` message (built by `shared.messages.notification`)."""

    def notify(self, message: JsonObject) -> None: ...


class ActivityReader(Protocol):
    """The last exports and their counts (`shared.adapters.activity.TableActivityLog`)."""

    def read(self, connector: str) -> JsonObject: ...


@dataclass(frozen=True)
class ConnectorOptions:
    #: The app-wide app registration (BC_CLIENT_ID), used when a connector names none.
    app_client_id: str | None = None


@dataclass
class SaveOutcome:
    created: bool
    record: ConnectorRecord
    checks: list[str]
    #: Delegated connector without a usable consent: where to send the person (docs/contract.md §2).
    consent_url: str | None = None


# -- the use cases ----------------------------------------------------------------------------------


class ConnectorService:
    """Save, read, delete and look up connectors."""

    def __init__(self, *, store: ConnectorStore, secrets: Secrets, bc_clients: BcClientSource,
                 consent: ConsentStarter, purger: ConnectorDataPurger, activity: ActivityReader,
                 notifier: Notifier, clock: Clock, options: ConnectorOptions = ConnectorOptions()) -> None:
        self._store, self._secrets, self._bc_clients = store, secrets, bc_clients
        self._consent, self._purger, self._activity = consent, purger, activity
        self._notifier, self._clock, self._options = notifier, clock, options

    def save(self, name: str, body: JsonValue) -> SaveOutcome:
        """Create or replace a connector after verifying every setting against BC.

        Raises SettingsInvalid (422), ConflictError (409); transient BC/Entra errors propagate (503).
        Nothing is stored unless everything checks out.
        """
        name = parse_connector_name(name)
        settings, secrets = parse_put_body(_without_matching_name(name, body))
        existing = self._store.get(name)
        client_id = settings.client_id or self._options.app_client_id
        if not client_id:
            raise SettingsInvalid([FieldError(
                "auth.clientId", "Required: no app-wide BC_CLIENT_ID is configured, so the connector must name "
                                 "its app registration's client id.")])
        new_secret = secrets.get("auth.clientSecret")
        own_secret = new_secret or self._secrets.get_secret(client_secret_name(name))
        secret = own_secret or self._secrets.get_secret(APP_CLIENT_SECRET_NAME)
        if secret is None:
            raise SettingsInvalid([FieldError(
                "auth.clientSecret", "Required: no client secret is stored for this connector and the app-wide "
                                     f"secret '{APP_CLIENT_SECRET_NAME}' is not in Key Vault.")])

        if settings.auth_mode == "clientCredentials":
            client = self._bc_clients.for_settings(settings, client_secret=secret, name=name)
            verification = verify_settings(settings, client, client_id=client_id)
            company, checks = verification.company, verification.checks
            resolved = _Resolved("connected", company.id, company.name, company.tax_mode, company.country)
        else:
            checks = ["Delegated access: the settings are checked against BC once consent is given "
                      f"(POST /api/connectors/{name}/consent)."]
            has_grant = existing is not None and self._secrets.get_secret(refresh_token_name(name)) is not None
            if existing is not None and has_grant and existing.status != "consent_required":
                resolved = _Resolved(existing.status, existing.company_id, existing.company_name,
                                     existing.tax_mode, existing.company_country)
            else:
                resolved = _Resolved("consent_required")

        if new_secret is not None:
            self._secrets.set_secret(client_secret_name(name), new_secret)
        now = iso(self._clock.now())
        values = dict(settings=settings, updated_at=now, status=resolved.status, company_id=resolved.company_id,
                      company_name=resolved.company_name, tax_mode=resolved.tax_mode,
                      company_country=resolved.company_country,
                      client_secret_source="connector" if own_secret else "app")
        try:
            if existing is None:
                record = self._store.create(ConnectorRecord(name=name, refresh_token_expires_at=None, stats={},
                                                            created_at=now, **values))
            else:
                record = self._store.update(replace(existing, **values))
        except ConflictError as err:
            raise ConflictError(
                f"Connector '{name}' was changed by someone else while it was being saved. Reload it and save "
                "again.") from err
        log.info("Connector %s %s: status %s, %d checks passed", name,
                 "created" if existing is None else "updated", record.status, len(checks))
        self._notify_saved(record, existing is None, checks)
        consent_url = None
        if settings.auth_mode == "delegated" and record.status in ("consent_required", "reconnect_required"):
            try:
                consent_url = self._consent.start(record.name, record=record).url
            except Exception as err:  # noqa: BLE001 - the save stands; say why there is no link
                log.warning("Connector %s saved without a consent link: %s", name, err)
                checks.append(f"No consent link could be made ({err}); start the consent with "
                              f"POST /api/connectors/{name}/consent.")
        return SaveOutcome(created=existing is None, record=record, checks=checks, consent_url=consent_url)

    def get(self, name: str) -> ConnectorRecord:
        """The stored connector; ConnectorNotFound (404) when there is none."""
        record = self._store.get(parse_connector_name(name))
        if record is None:
            raise ConnectorNotFound(name)
        return record

    def list(self) -> list[ConnectorRecord]:
        return sorted(self._store.list(), key=lambda r: r.name)

    def delete(self, name: str) -> None:
        """Remove settings, ledger rows and secrets. Data first, settings last: a half-done delete can be
        repeated because the connector still exists until its data is gone."""
        record = self.get(name)
        self._purger.purge(record.name)
        self._secrets.delete_secret(client_secret_name(record.name))
        self._secrets.delete_secret(refresh_token_name(record.name))
        self._store.delete(record.name)
        log.info("Connector %s deleted with its ledger and secrets", record.name)

    def view(self, record: ConnectorRecord, *, activity: bool = True) -> JsonObject:
        """The public JSON of a connector: settings without secrets, plus status, resolved values, the last
        import summary (in stats) and, with `activity`, the last exports with their counts."""
        settings = record.settings.to_document()
        # Write-only: the view says where the secret lives, never what it is (and costs no Key Vault call).
        auth = settings.get("auth")
        settings["auth"] = {**(auth if isinstance(auth, dict) else {}),
                            "clientSecret": "stored" if record.client_secret_source == "connector" else "app-wide"}
        return {
            "name": record.name,
            **settings,
            "status": record.status,
            "companyId": record.company_id,
            "companyName": record.company_name,
            "companyCountry": record.company_country,
            "taxMode": record.tax_mode,
            "refreshTokenExpiresAt": record.refresh_token_expires_at,
            "createdAt": record.created_at,
            "updatedAt": record.updated_at,
            **record.stats,
            **(self._activity.read(record.name) if activity else {}),
        }

    def lookup(self, name: str, kind: str, params: Mapping[str, str]) -> Rows:
        """Choices for a settings screen, read live from the connector's BC company.

        A delegated connector without a usable grant is the caller's to fix: 422 naming what to do.
        """
        if kind not in LOOKUP_KINDS:
            raise UnknownLookup(kind)
        record = self.get(name)
        try:
            client = self._bc_clients.for_record(record)
        except ReconnectRequired as err:
            raise SettingsInvalid([FieldError(
                "auth.mode", f"Connector '{record.name}' uses delegated access and has no consent yet; complete "
                             f"the consent (POST /api/connectors/{record.name}/consent) before using look-ups.")]) \
                from err
        try:
            return run_lookup(kind, params, client=client, settings=record.settings, company_id=record.company_id,
                              company_name=record.company_name)
        except ReconnectRequired as err:
            raise SettingsInvalid([FieldError("auth", f"{err} (POST /api/connectors/{record.name}/consent)")]) \
                from err

    def _notify_saved(self, record: ConnectorRecord, created: bool, checks: list[str]) -> None:
        verb = "created" if created else "updated"
        message = (f"Connector '{record.name}' was {verb}: company '{record.company_name}', status {record.status}."
                   if record.company_name else f"Connector '{record.name}' was {verb}; status {record.status}.")
        self._notifier.notify(notification(
            connector=record.name, event="connector_saved", severity="info", message=message,
            recipients=record.settings.notification_recipients,
            details={"status": record.status, "checks": list(checks)}, at=self._clock.now()))


@dataclass(frozen=True)
class _Resolved:
    """What a save stores besides the settings: the status and what verification resolved."""

    status: str
    company_id: str | None = None
    company_name: str | None = None
    tax_mode: str | None = None
    company_country: str | None = None


def _without_matching_name(name: str, body: JsonValue) -> JsonValue:
    if isinstance(body, Mapping) and "name" in body:
        if body["name"] != name:
            raise SettingsInvalid([FieldError(
                "name", f"The body names connector '{body['name']}' but the URL names '{name}'; rename by "
                        "creating a new connector and deleting the old one.")])
        body = {k: v for k, v in body.items() if k != "name"}
    return body
