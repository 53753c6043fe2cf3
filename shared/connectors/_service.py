"""The connector settings API's use cases: save (verified), get, list, delete, look-ups, and the view.

The HTTP blueprint only parses the trigger and writes the answer (`functions/_http.py` renders the
errors raised here through `shared.errors.disposition`); every rule a person would name lives here,
against the ports below, so it runs against fakes, Azurite and the sandbox alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Mapping, Protocol

from shared.adapters.secrets import (
    APP_CLIENT_SECRET_NAME,
    CONNECTOR_SECRET_PREFIX,
    ConnectorSecretName,
    new_client_secret_name,
    parse_connector_secret_name,
    refresh_token_name,
)
from shared.auth import TokenRefused
from shared.bc import BcClient
from shared.clock import Clock, iso
from shared.errors import ConflictError, NotFound, PreconditionFailed, ReconnectRequired
from shared.guarded import DEFAULT_ATTEMPTS
from shared.jsontypes import JsonObject, JsonValue
from shared.messages import notification

from ._lookups import LOOKUP_KINDS, UnknownLookup, run_lookup
from ._record import ConnectorRecord, ConnectorStore
from ._etags import Condition, http_etag, parse_condition
from ._settings import (
    SETTINGS_PATHS,
    ConnectorSettings,
    FieldError,
    SettingsInvalid,
    parse_connector_name,
    parse_put_body,
)
from ._verify import token_error_field, verify_settings

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
    "RealtimeSubscriptions",
    "SaveOutcome",
    "Secrets",
]

#: A look-up's answer: one row per choice.
Rows = list[JsonObject]

#: `auth.clientSecret` values that are not secrets (docs/contract.md §2): keep the connector's own stored
#: secret; use the app-wide one. A GET answers one of them, so a GET body saves back unchanged.
KEEP_STORED_SECRET = "stored"
USE_APP_WIDE_SECRET = "app-wide"

#: Fields of the view that a save does not set (docs/contract.md §2, "The connector view").
READ_ONLY_FIELDS = ("status", "companyId", "companyName", "companyCountry", "taxMode", "refreshTokenExpiresAt",
                    "createdAt", "updatedAt", "reconnectReason", "reconnectRequiredSince", "lastExports",
                    "expenseImport", "realtime")
#: Of those, the ones read from the activity table rather than the connector's row.
ACTIVITY_FIELDS = ("lastExports",)
#: Of those, reports that change without a save (every export, import run, token renewal): a GET body saved
#: back a moment later carries older values, so they are ignored rather than compared. The ETag (If-Match)
#: is what protects a read-modify-write against changes made meanwhile.
REPORT_FIELDS = ("updatedAt", "refreshTokenExpiresAt", "reconnectReason", "reconnectRequiredSince", "lastExports",
                 "expenseImport", "realtime")

#: A client secret written less than this long ago may belong to a save still running: the clean-up
#: pass leaves it (HTTP functions end within 230 seconds; Learn, "Azure Functions HTTP trigger").
SECRET_GRACE = timedelta(minutes=30)

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

    def list_names(self, prefix: str) -> list[str]: ...


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


class RealtimeSubscriptions(Protocol):
    """A connector's BC webhook subscriptions (`shared.webhooks.WebhookSubscriptions`)."""

    def sync(self, record: ConnectorRecord) -> list[str]:
        """Create/delete them as the settings ask; lines for the save's checks. Never raises."""
        ...

    def remove(self, record: ConnectorRecord) -> None: ...

    def view(self, record: ConnectorRecord) -> JsonObject: ...


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
                 notifier: Notifier, realtime: RealtimeSubscriptions, clock: Clock,
                 options: ConnectorOptions = ConnectorOptions()) -> None:
        self._store, self._secrets, self._bc_clients = store, secrets, bc_clients
        self._realtime = realtime
        self._consent, self._purger, self._activity = consent, purger, activity
        self._notifier, self._clock, self._options = notifier, clock, options

    def save(self, name: str, body: JsonValue, *, if_match: str | None = None,
             if_none_match: str | None = None) -> SaveOutcome:
        """Create or replace a connector after verifying every setting against BC.

        `if_match` / `if_none_match` are the request's conditions (HTTP headers, as sent): a stale ETag or
        an existing connector under `If-None-Match: *` raises PreconditionFailed (412). Without them the
        save replaces what is stored (last writer wins), and a save that overlaps another one raises
        ConflictError (409). Raises SettingsInvalid (422), TooLarge (413); transient BC/Entra errors
        propagate (503). Nothing is stored unless everything checks out; a secret written for a save that
        is not stored is removed again.
        """
        name = parse_connector_name(name)
        match = parse_condition("If-Match", if_match)
        none_match = parse_condition("If-None-Match", if_none_match)
        existing = self._store.get(name)
        _check_conditions(name, existing, match, none_match)
        settings, given = self._parse_body(name, body, existing)
        client_id = settings.client_id or self._options.app_client_id
        if not client_id:
            raise SettingsInvalid([FieldError(
                "auth.clientId", "Required: no app-wide BC_CLIENT_ID is configured, so the connector must name "
                                 "its app registration's client id.")])
        secret = self._secret_for(name, existing, given)
        now = iso(self._clock.now())
        values = dict(settings=settings, updated_at=now, status="consent_required", company_id=None,
                      company_name=None, tax_mode=None, company_country=None,
                      client_secret_source="connector" if secret.own else "app",
                      client_secret_name=secret.kept_name)
        # Table Storage's limits are checked before anything else is asked (413, no BC request).
        self._store.check_fits(ConnectorRecord(name=name, refresh_token_expires_at=None, created_at=now, **values))

        if settings.auth_mode == "clientCredentials":
            client = self._bc_clients.for_settings(settings, client_secret=secret.value, name=name)
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

        values.update(status=resolved.status, company_id=resolved.company_id, company_name=resolved.company_name,
                      tax_mode=resolved.tax_mode, company_country=resolved.company_country)
        written = None
        if secret.new_value is not None:
            # A name of its own: the row written below decides whether this save's secret is the current one.
            written = new_client_secret_name(name, self._clock.now())
            self._secrets.set_secret(written, secret.new_value)
            values["client_secret_name"] = written
        try:
            if existing is None:
                record = self._store.create(ConnectorRecord(name=name, refresh_token_expires_at=None, stats={},
                                                            created_at=now, **values))
            else:
                record = self._store.update(replace(existing, **values))
        except BaseException as err:
            if written is not None:
                self._forget_secret(written, "its save was not stored")
            if isinstance(err, ConflictError):
                raise _lost(name, existing, match, none_match) from err
            raise
        replaced = existing.client_secret_name if existing is not None else None
        if replaced and replaced.lower() != (record.client_secret_name or "").lower():
            self._forget_secret(replaced, "the connector no longer uses it")
        checks.extend(self._realtime.sync(record))
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

    def _parse_body(self, name: str, body: JsonValue, existing: ConnectorRecord | None
                    ) -> tuple[ConnectorSettings, str | None]:
        """The settings and the given `auth.clientSecret`; read-only fields of a GET body are checked
        against the stored connector (equal: accepted and ignored; different: a field error)."""
        body = _without_matching_name(name, body)
        read_only_errors: list[FieldError] = []
        if isinstance(body, Mapping):
            body, read_only_errors = self._without_read_only(body, existing)
        try:
            settings, secrets = parse_put_body(body)
        except SettingsInvalid as invalid:
            raise SettingsInvalid(read_only_errors + invalid.errors) from None
        if read_only_errors:
            raise SettingsInvalid(read_only_errors)
        return settings, secrets.get("auth.clientSecret")

    def _without_read_only(self, body: Mapping[str, JsonValue], existing: ConnectorRecord | None
                           ) -> tuple[dict[str, JsonValue], list[FieldError]]:
        settings_keys = {path.split(".")[0] for path in SETTINGS_PATHS}
        present = [k for k in body if k not in settings_keys and (k in READ_ONLY_FIELDS or existing is not None)]
        if not present:
            return dict(body), []
        stored: JsonObject = {}
        if existing is not None:
            stored = self.view(existing, activity=any(k in ACTIVITY_FIELDS for k in present))
            present = [k for k in present if k in stored or k in READ_ONLY_FIELDS]
        errors = []
        for key in present:
            if existing is not None and key in REPORT_FIELDS:
                continue
            if existing is None:
                errors.append(FieldError(key, "Read-only: there is no stored connector of this name yet; leave "
                                              "it out when creating one."))
            elif body[key] != stored.get(key) or type(body[key]) is not type(stored.get(key)):
                errors.append(FieldError(key, "Read-only: it differs from the stored value. Leave it out or send "
                                              "the value GET /connectors/{name} answers now."))
        return {k: v for k, v in body.items() if k not in present}, errors

    def _secret_for(self, name: str, existing: ConnectorRecord | None, given: str | None) -> "_Secret":
        """Which client secret the save verifies with and stores (docs/contract.md §2, auth.clientSecret).

        Omitted or null: keep what the connector uses now (its own stored secret, else the app-wide one;
        a new connector uses the app-wide one). "stored": keep the connector's own stored secret (422 when
        it has none). "app-wide": use the app-wide secret and drop the connector's own. Any other value: a
        new secret of the connector's own. Never a secret the stored row does not name.
        """
        kept = existing.client_secret_name if existing is not None else None
        if given is not None and given not in (KEEP_STORED_SECRET, USE_APP_WIDE_SECRET):
            return _Secret(given, own=True, new_value=given)
        if given == KEEP_STORED_SECRET and kept is None:
            raise SettingsInvalid([FieldError(
                "auth.clientSecret", f'"{KEEP_STORED_SECRET}" keeps the connector\'s own stored secret, but '
                                     + ("there is no such connector yet" if existing is None else
                                        "it uses the app-wide secret") + "; send the client secret itself.")])
        if kept is not None and given != USE_APP_WIDE_SECRET:
            value = self._secrets.get_secret(kept)
            if value is None:
                again = self._store.get(name)
                if again is None or again.etag != (existing.etag if existing else None):
                    raise _lost(name, existing, None, None)
                raise SettingsInvalid([FieldError(
                    "auth.clientSecret", f"The connector's stored client secret ({kept}) is missing from Key "
                                         "Vault; send auth.clientSecret again.")])
            return _Secret(value, own=True, kept_name=kept)
        value = self._secrets.get_secret(APP_CLIENT_SECRET_NAME)
        if value is None:
            raise SettingsInvalid([FieldError(
                "auth.clientSecret", "Required: no client secret is stored for this connector and the app-wide "
                                     f"secret '{APP_CLIENT_SECRET_NAME}' is not in Key Vault.")])
        return _Secret(value, own=False)

    def _forget_secret(self, secret_name: str, why: str) -> None:
        """Delete a secret no row names; a failure leaves it to the clean-up pass (`sweep_secrets`)."""
        try:
            self._secrets.delete_secret(secret_name)
        except Exception as err:  # noqa: BLE001 - the answer stands; the sweep removes it later
            log.warning("Secret %s (%s) could not be deleted now; the clean-up pass removes it: %s",
                        secret_name, why, err)

    def get(self, name: str) -> ConnectorRecord:
        """The stored connector; ConnectorNotFound (404) when there is none."""
        record = self._store.get(parse_connector_name(name))
        if record is None:
            raise ConnectorNotFound(name)
        return record

    def list(self) -> list[ConnectorRecord]:
        return sorted(self._store.list(), key=lambda r: r.name)

    def delete(self, name: str, *, if_match: str | None = None) -> None:
        """Remove the connector: its data, then its row (under the ETag it was read with), then the secrets
        that row named. A half-done delete can be repeated while the row exists; secrets left behind by a
        crash after the row went are removed by `sweep_secrets`. With `if_match`, a stale ETag raises
        PreconditionFailed (412); without it, a connector changed meanwhile is read again and deleted."""
        name = parse_connector_name(name)
        match = parse_condition("If-Match", if_match)
        for _ in range(DEFAULT_ATTEMPTS):
            record = self.get(name)
            _check_conditions(name, record, match, None)
            self._realtime.remove(record)
            self._purger.purge(record.name)
            try:
                self._store.delete(record.name, etag=record.etag)
            except ConflictError as err:
                if match is not None:
                    raise _lost(name, record, match, None) from err
                continue
            break
        else:
            raise ConflictError(f"Connector '{name}' kept changing while it was being deleted; try again.")
        for secret_name in filter(None, (record.client_secret_name, refresh_token_name(record.name))):
            self._forget_secret(secret_name, "its connector was deleted")
        log.info("Connector %s deleted with its ledger and secrets", record.name)

    def sweep_secrets(self, *, older_than: timedelta = SECRET_GRACE) -> list[str]:
        """The clean-up pass: delete per-connector secrets that no connector row names (left by a save or a
        delete that crashed half-way), except client secrets written less than `older_than` ago, which a
        save may still be about to name. Rows that cannot be read keep their secrets. Answers the names
        deleted."""
        now = self._clock.now()
        groups: dict[str, list[ConnectorSecretName]] = {}
        for secret_name in self._secrets.list_names(CONNECTOR_SECRET_PREFIX):
            parsed = parse_connector_secret_name(secret_name)
            if parsed is not None:
                groups.setdefault(parsed.connector, []).append(parsed)
        removed: list[str] = []
        for connector, names in sorted(groups.items()):
            try:
                record = self._store.get(connector)
            except SettingsInvalid:
                continue
            used = (record.client_secret_name or "").lower() if record is not None else ""
            for parsed in names:
                if parsed.kind == "refresh-token" and record is not None:
                    continue
                if parsed.name.lower() == used:
                    continue
                if parsed.written_at is not None and now - parsed.written_at < older_than:
                    continue
                self._secrets.delete_secret(parsed.name)
                removed.append(parsed.name)
        if removed:
            log.info("Secret clean-up removed %d secrets no connector names: %s", len(removed), ", ".join(removed))
        return removed

    def etag(self, record: ConnectorRecord) -> str | None:
        """The HTTP `ETag` of a stored connector (its row's ETag, quoted); `If-Match` takes it back."""
        return http_etag(record.etag)

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
            **self._realtime.view(record),
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
        except TokenRefused as err:
            # The stored credentials no longer work (an expired or deleted client secret looks like this).
            blamed = token_error_field(err, record.settings)
            raise SettingsInvalid([FieldError(blamed.field, f"Entra ID refused the connector's stored credentials: "
                                                            f"{blamed.message} Then save the connector with the new "
                                                            f"value (PUT /api/connectors/{record.name}).")]) from err

    def _notify_saved(self, record: ConnectorRecord, created: bool, checks: list[str]) -> None:
        verb = "created" if created else "updated"
        message = (f"Connector '{record.name}' was {verb}: company '{record.company_name}', status {record.status}."
                   if record.company_name else f"Connector '{record.name}' was {verb}; status {record.status}.")
        self._notifier.notify(notification(
            connector=record.name, event="connector_saved", severity="info", message=message,
            recipients=record.settings.notification_recipients,
            details={"status": record.status, "checks": list(checks)}, at=self._clock.now()))


@dataclass(frozen=True)
class _Secret:
    """The client secret of a save: its value (for the verification), whether it is the connector's own,
    the stored name it keeps, or the new value to store under a new name."""

    value: str
    own: bool
    kept_name: str | None = None
    new_value: str | None = None

    def __repr__(self) -> str:  # never the value
        return f"_Secret(own={self.own}, kept_name={self.kept_name!r}, new={self.new_value is not None})"


def _check_conditions(name: str, record: ConnectorRecord | None, match: Condition | None,
                      none_match: Condition | None) -> None:
    if none_match is not None and record is not None and none_match.matches(record.etag):
        raise PreconditionFailed(f"Connector '{name}' already exists and If-None-Match asks to create it only; "
                                 "read it with GET and save with If-Match to change it.", field="(If-None-Match)")
    if match is not None and not match.matches(record.etag if record is not None else None):
        if record is None:
            raise PreconditionFailed(f"Connector '{name}' does not exist, so If-Match cannot hold.",
                                     field="(If-Match)")
        raise PreconditionFailed(
            f"Connector '{name}' was changed since it was read: If-Match does not name its current ETag "
            f"{http_etag(record.etag)}. Read it again with GET, apply the change, and send the new ETag.",
            field="(If-Match)")


def _lost(name: str, existing: ConnectorRecord | None, match: Condition | None,
          none_match: Condition | None) -> ConflictError:
    """The error of a write that lost to another one between its read and its write."""
    if none_match is not None and existing is None:
        return PreconditionFailed(f"Connector '{name}' was created by someone else meanwhile (If-None-Match: *).",
                                  field="(If-None-Match)")
    if match is not None:
        return PreconditionFailed(f"Connector '{name}' was changed or deleted by someone else meanwhile; If-Match "
                                  "no longer holds. Read it again with GET and save with the new ETag.",
                                  field="(If-Match)")
    return ConflictError(f"Connector '{name}' was changed by someone else while it was being saved. Reload it "
                         "and save again.")


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
