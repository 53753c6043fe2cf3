"""Use cases of the connector settings API: save (verified), get, list, delete, look-ups.

The HTTP blueprint only parses the trigger and maps the errors raised here to statuses; everything a
person would call a rule lives here, against small ports (store, secrets, BC client factory, purge,
notifications) so it can run against fakes, Azurite and the sandbox alike.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol

from shared.clock import iso, utc_now
from shared.config import AppSettings
from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, SecretStore, client_secret_name, refresh_token_name

from ._settings import (
    ConnectorSettings,
    FieldError,
    SettingsInvalid,
    parse_connector_name,
    parse_put_body,
)
from ._store import ConcurrentUpdateError, ConnectorAlreadyExists, ConnectorRecord, ConnectorStore
from ._verify import verify_settings

log = logging.getLogger(__name__)

__all__ = [
    "BcConnection",
    "ConnectorConflict",
    "ConnectorDeps",
    "ConnectorNotFound",
    "SaveOutcome",
    "connection_for",
    "delete_connector",
    "get_connector",
    "list_connectors",
    "lookup",
    "save_connector",
    "view_connector",
]


class ConnectorNotFound(LookupError):
    def __init__(self, name: str):
        super().__init__(f"There is no connector named '{name}'.")
        self.name = name


class ConnectorConflict(Exception):
    """Someone else changed the connector while this request was saving it."""


@dataclass(frozen=True)
class BcConnection:
    """What it takes to reach one BC environment with client credentials. The secret stays out of repr."""

    tenant: str
    environment: str
    client_id: str
    client_secret: str = field(repr=False)


class BcClientFactory(Protocol):
    def __call__(self, connection: BcConnection) -> Any: ...


@dataclass
class ConnectorDeps:
    """The ports the use cases need; built by `shared.bootstrap` from the app settings."""

    store: ConnectorStore
    secrets: SecretStore
    app: AppSettings
    bc_client_for: BcClientFactory
    purge_connector_data: Callable[[str], None]
    notify: Callable[[dict[str, Any]], None]
    now: Callable[[], _dt.datetime] = utc_now
    #: Delegated connectors: a new consent URL for a record (shared.consent.start_consent).
    start_consent: Callable[[ConnectorRecord], str] | None = None
    #: A BC client for a stored connector in its auth mode (delegated ones once connected).
    bc_client_for_record: Callable[[ConnectorRecord], Any] | None = None
    #: The last exports and their counts for a connector name (shared.connectors._activity.read_activity).
    read_activity: Callable[[str], dict[str, Any]] | None = None


@dataclass
class SaveOutcome:
    created: bool
    record: ConnectorRecord
    checks: list[str]
    #: Delegated connector without a usable consent: where to send the person (ARCHITECTURE §2).
    consent_url: str | None = None


def save_connector(name: str, body: Any, deps: ConnectorDeps) -> SaveOutcome:
    """Create or replace a connector after verifying every setting against BC.

    Raises SettingsInvalid (422), ConnectorConflict (409); transient BC/Entra errors propagate (503).
    Nothing is stored unless everything checks out.
    """
    name = parse_connector_name(name)
    body = _without_matching_name(name, body)
    settings, secrets = parse_put_body(body)
    existing = deps.store.get(name)
    client_id = settings.client_id or deps.app.bc_client_id
    if not client_id:
        raise SettingsInvalid([FieldError(
            "auth.clientId", "Required: no app-wide BC_CLIENT_ID is configured, so the connector must name "
                             "its app registration's client id.")])
    new_secret = secrets.get("auth.clientSecret")
    own_secret = new_secret or deps.secrets.get_secret(client_secret_name(name))
    secret = own_secret or deps.secrets.get_secret(APP_CLIENT_SECRET_NAME)
    if secret is None:
        raise SettingsInvalid([FieldError(
            "auth.clientSecret", "Required: no client secret is stored for this connector and the app-wide "
                                 f"secret '{APP_CLIENT_SECRET_NAME}' is not in Key Vault.")])

    record_values: dict[str, Any]
    if settings.auth_mode == "clientCredentials":
        client = deps.bc_client_for(BcConnection(settings.tenant_id, settings.environment, client_id, secret))
        verification = verify_settings(settings, client, client_id=client_id)
        company = verification.company
        checks = verification.checks
        record_values = dict(status="connected", company_id=company.id, company_name=company.name,
                             tax_mode=company.tax_mode, company_country=company.country)
    else:
        has_grant = existing is not None and deps.secrets.get_secret(refresh_token_name(name)) is not None
        checks = ["Delegated access: the settings are checked against BC once consent is given "
                  f"(POST /api/connectors/{name}/consent)."]
        if existing is not None and has_grant and existing.status != "consent_required":
            record_values = dict(status=existing.status, company_id=existing.company_id,
                                 company_name=existing.company_name, tax_mode=existing.tax_mode,
                                 company_country=existing.company_country)
        else:
            record_values = dict(status="consent_required", company_id=None, company_name=None,
                                 tax_mode=None, company_country=None)

    record_values["client_secret_source"] = "connector" if own_secret else "app"
    if new_secret is not None:
        deps.secrets.set_secret(client_secret_name(name), new_secret)
    now = iso(deps.now())
    document = settings.to_document()
    try:
        if existing is None:
            record = deps.store.create(ConnectorRecord(
                name=name, settings=document, refresh_token_expires_at=None, stats={},
                created_at=now, updated_at=now, **record_values))
        else:
            existing.settings = document
            existing.updated_at = now
            for key, value in record_values.items():
                setattr(existing, key, value)
            record = deps.store.update(existing)
    except (ConcurrentUpdateError, ConnectorAlreadyExists) as err:
        raise ConnectorConflict(
            f"Connector '{name}' was changed by someone else while it was being saved. Reload it and save "
            "again.") from err
    log.info("Connector %s %s: status %s, %d checks passed", name,
             "created" if existing is None else "updated", record.status, len(checks))
    _notify_saved(record, existing is None, checks, settings, deps)
    consent_url = None
    if settings.auth_mode == "delegated" and record.status in ("consent_required", "reconnect_required") \
            and deps.start_consent is not None:
        try:
            consent_url = deps.start_consent(record)
        except Exception as err:  # noqa: BLE001 - the save stands; say why there is no link
            log.warning("Connector %s saved without a consent link: %s", name, err)
            checks.append(f"No consent link could be made ({err}); start the consent with "
                          f"POST /api/connectors/{name}/consent.")
    return SaveOutcome(created=existing is None, record=record, checks=checks, consent_url=consent_url)


def get_connector(name: str, deps: ConnectorDeps) -> ConnectorRecord:
    record = deps.store.get(parse_connector_name(name))
    if record is None:
        raise ConnectorNotFound(name)
    return record


def list_connectors(deps: ConnectorDeps) -> list[ConnectorRecord]:
    return sorted(deps.store.list(), key=lambda r: r.name)


def delete_connector(name: str, deps: ConnectorDeps) -> None:
    """Remove settings, ledger rows and secrets. Data first, settings last: a half-done delete can be
    repeated because the connector still exists until its data is gone."""
    record = get_connector(name, deps)
    deps.purge_connector_data(record.name)
    deps.secrets.delete_secret(client_secret_name(record.name))
    deps.secrets.delete_secret(refresh_token_name(record.name))
    deps.store.delete(record.name)
    log.info("Connector %s deleted with its ledger and secrets", record.name)


def connection_for(record: ConnectorRecord, deps: ConnectorDeps) -> BcConnection:
    """The BC connection of a stored client-credentials connector."""
    settings = ConnectorSettings.from_document(record.settings)
    client_id = settings.client_id or deps.app.bc_client_id
    secret = _stored_secret(record.name, deps)
    if not client_id or not secret:
        raise SettingsInvalid([FieldError(
            "auth.clientSecret" if client_id else "auth.clientId",
            "The connector's credentials are incomplete; save the connector again with auth.clientSecret.")])
    return BcConnection(settings.tenant_id, settings.environment, client_id, secret)


def view_connector(record: ConnectorRecord, deps: ConnectorDeps | None = None) -> dict[str, Any]:
    """The public JSON of a connector: settings without secrets, plus status, resolved values, the last
    import summary (in stats) and, given `deps`, the last exports with their counts."""
    settings = dict(record.settings)
    # Write-only: the view says where the secret lives, never what it is (and costs no Key Vault call).
    auth = dict(settings.get("auth") or {})
    auth["clientSecret"] = "stored" if record.client_secret_source == "connector" else "app-wide"
    settings["auth"] = auth
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
        **{key: value for key, value in (record.stats or {}).items()},
        **(deps.read_activity(record.name) if deps is not None and deps.read_activity else {}),
    }


def _stored_secret(name: str, deps: ConnectorDeps) -> str | None:
    return deps.secrets.get_secret(client_secret_name(name)) or deps.secrets.get_secret(APP_CLIENT_SECRET_NAME)


def _without_matching_name(name: str, body: Any) -> Any:
    if isinstance(body, Mapping) and "name" in body:
        if body["name"] != name:
            raise SettingsInvalid([FieldError(
                "name", f"The body names connector '{body['name']}' but the URL names '{name}'; rename by "
                        "creating a new connector and deleting the old one.")])
        body = {k: v for k, v in body.items() if k != "name"}
    return body


def _notify_saved(record: ConnectorRecord, created: bool, checks: list[str], settings: ConnectorSettings,
                  deps: ConnectorDeps) -> None:
    verb = "created" if created else "updated"
    message = (f"Connector '{record.name}' was {verb}: company '{record.company_name}', status {record.status}."
               if record.company_name else f"Connector '{record.name}' was {verb}; status {record.status}.")
    deps.notify({
        "connector": record.name,
        "event": "connector_saved",
        "severity": "info",
        "message": message,
        "recipients": list(settings.notification_recipients),
        "details": {"status": record.status, "checks": checks},
        "at": iso(deps.now()),
    })


def lookup(name: str, kind: str, params: Mapping[str, str], deps: ConnectorDeps) -> list[dict[str, Any]]:
    """Choices for a settings screen, read live from the connector's BC company."""
    from ._lookups import LOOKUP_KINDS, UnknownLookup, run_lookup

    if kind not in LOOKUP_KINDS:
        raise UnknownLookup(kind)
    record = get_connector(name, deps)
    settings = ConnectorSettings.from_document(record.settings)
    if settings.auth_mode == "clientCredentials":
        client = deps.bc_client_for(connection_for(record, deps))
    elif record.status in ("connected", "disabled") and deps.bc_client_for_record is not None:
        client = deps.bc_client_for_record(record)
    else:
        raise SettingsInvalid([FieldError(
            "auth.mode", f"Connector '{record.name}' uses delegated access and has no consent yet; complete "
                         f"the consent (POST /api/connectors/{record.name}/consent) before using look-ups.")])
    from shared.auth import ReconnectRequiredError

    try:
        return run_lookup(kind, params, client=client, settings=settings, company_id=record.company_id,
                          company_name=record.company_name)
    except ReconnectRequiredError as err:
        raise SettingsInvalid([FieldError("auth", f"{err} (POST /api/connectors/{record.name}/consent)")]) from err
