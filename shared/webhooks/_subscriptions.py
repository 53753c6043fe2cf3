"""`WebhookSubscriptions`: a connector's BC webhook subscriptions, kept as its settings ask (issue 14).

Per connector with `expenses.enabled` and `expenses.realtime` (default: on when `_urls.notification_base`
finds an address BC can reach), one subscription to the entity set of its expense source:
`purchaseInvoices` for the purchase-invoice source (BC does not notify `purchaseCreditMemos`: credit memos
keep arriving by the timer) or `generalLedgerEntries` for the G/L source.

- `sync(record)` on save and after consent: creates what is missing, deletes what is no longer wanted
  (option off, source changed, expenses off); a refusal is kept on the row (`failed`, with BC's reason) and
  does not fail the save: the keep-alive tries again.
- `keep_alive()` (timer `keep_webhooks_alive`, every 6 hours by default): per active subscription, one GET
  (BC may have deleted it: after an answer other than 2xx/408/429/5xx, or after 3 days) and re-creates a
  missing one; renews (PATCH, BC repeats the handshake) each one expiring within `renew_before` (2 days).
  So a subscription is renewed about once a day, a day before BC would drop it, and seven failed runs in a
  row (42 hours) still leave it alive; the interval is safe because 6 h + the renewal margin of 48 h is
  far below the 72 h lifetime.
- `remove(name)` when the connector is deleted: DELETE at BC (best effort: BC drops an unrenewed one
  after 3 days anyway, and a notification with a clientState we no longer know is refused), rows, secret.
- `view(record)`: the state and expiry shown on `GET /connectors/{name}` (never the clientState).

The clientState is 64 random URL-safe characters per connector in Key Vault; BC repeats it in every
notification and the endpoint compares it in constant time.
"""

from __future__ import annotations

import datetime as _dt
import logging
import secrets as _random
from dataclasses import dataclass, field, replace
from typing import Protocol

from shared.adapters.secrets import webhook_state_name
from shared.bc import BcError, BcNotFoundError, subscription_resource
from shared.clock import Clock, iso, parse_iso
from shared.connectors import ConnectorRecord
from shared.errors import ConnectorError
from shared.jsontypes import JsonObject

from ._ports import Secrets, Subscription, SubscriptionClient, SubscriptionClients, SubscriptionStore
from ._urls import notification_base, notification_url

__all__ = ["WebhookSubscriptions", "WebhookOptions", "KeepAliveReport", "ENTITY_SETS"]

log = logging.getLogger(__name__)

#: The entity set BC notifies for each expense source (purchaseCreditMemos is not webhook-enabled).
ENTITY_SETS = {"purchaseInvoices": "purchaseInvoices", "generalLedger": "generalLedgerEntries"}
_RUNNABLE = ("connected", "disabled")


@dataclass(frozen=True)
class WebhookOptions:
    public_base_url: str | None
    bc_api_url: str
    #: Renew a subscription when less than this is left of its 3 days.
    renew_before: _dt.timedelta = _dt.timedelta(days=2)


@dataclass
class KeepAliveReport:
    renewed: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    checked: int = 0

    def to_dict(self) -> JsonObject:
        return {"renewed": self.renewed, "created": self.created, "removed": self.removed, "failed": self.failed,
                "checked": self.checked}


class ConnectorList(Protocol):
    """The connector store (`shared.connectors.ConnectorStore`)."""

    def list(self) -> list[ConnectorRecord]: ...


class WebhookSubscriptions:
    def __init__(self, *, connectors: ConnectorList, store: SubscriptionStore, secrets: Secrets,
                 bc_clients: SubscriptionClients, clock: Clock, options: WebhookOptions) -> None:
        self._connectors = connectors
        self._store = store
        self._secrets = secrets
        self._bc_clients = bc_clients
        self._clock = clock
        self._options = options

    # -- what is wanted ---------------------------------------------------------------------------------

    def wanted(self, record: ConnectorRecord) -> tuple[set[str], str]:
        """The entity sets this connector should be subscribed to, and why (or why not)."""
        settings = record.settings
        if not settings.expenses_enabled:
            return set(), "expenses.enabled is false."
        if settings.expenses_realtime is False:
            return set(), "expenses.realtime is false."
        base, why = notification_base(self._options.public_base_url, self._options.bc_api_url)
        if base is None:
            return set(), why
        if record.status not in _RUNNABLE or not record.company_id:
            return set(), f"The connector is {record.status}; subscriptions follow once it is connected."
        return {ENTITY_SETS[settings.expenses_source]}, why

    # -- use cases --------------------------------------------------------------------------------------

    def sync(self, record: ConnectorRecord) -> list[str]:
        """Bring the connector's subscriptions in line with its settings; one line per change, for the
        save's checks. Never raises for BC's or storage's trouble (the keep-alive retries)."""
        try:
            return self._sync(record, renew=False, report=None)
        except Exception as err:  # noqa: BLE001 - the save stands; the keep-alive tries again
            log.warning("Connector %s: webhook subscriptions not synchronised: %s", record.name, err)
            return [f"Real-time expenses: the subscription could not be set up now ({_reason(err)}); the "
                    "keep-alive timer tries again."]

    def keep_alive(self) -> KeepAliveReport:
        report = KeepAliveReport()
        known = {r.name: r for r in self._connectors.list()}
        for record in known.values():
            try:
                self._sync(record, renew=True, report=report)
            except Exception as err:  # noqa: BLE001 - one connector's trouble must not stop the others
                log.warning("Webhook keep-alive of connector %s failed: %s", record.name, err)
                report.failed.append(record.name)
        for row in self._store.list_all():  # rows of connectors deleted half-way
            if row.connector not in known:
                self._store.delete(row.connector, row.entity_set)
        return report

    def remove(self, record: ConnectorRecord) -> None:
        """Delete every subscription of the connector at BC (best effort), its rows and its clientState."""
        rows = self._store.list(record.name)
        client = self._client(record) if any(r.subscription_id for r in rows) else None
        for row in rows:
            if client is not None and row.subscription_id:
                self._delete_at_bc(client, row)
            self._store.delete(record.name, row.entity_set)
        self._secrets.delete_secret(webhook_state_name(record.name))

    def view(self, record: ConnectorRecord) -> JsonObject:
        wanted, why = self.wanted(record)
        rows = self._store.list(record.name)
        return {"realtime": {
            "enabled": bool(wanted), "reason": why,
            "subscriptions": [{"resource": r.entity_set, "state": r.state, "subscriptionId": r.subscription_id or None,
                               "expiresAt": r.expires_at or None, "updatedAt": r.updated_at or None,
                               **({"error": r.error} if r.error else {})} for r in rows]}}

    # -- the work ----------------------------------------------------------------------------------------

    def _sync(self, record: ConnectorRecord, *, renew: bool, report: KeepAliveReport | None) -> list[str]:
        wanted, _why = self.wanted(record)
        rows = {r.entity_set: r for r in self._store.list(record.name)}
        if not wanted and not rows:
            return []
        lines: list[str] = []
        client: SubscriptionClient | None = None
        for entity_set, row in rows.items():
            if entity_set in wanted:
                continue
            client = client or self._client(record)
            if row.subscription_id:
                self._delete_at_bc(client, row)
            self._store.delete(record.name, entity_set)
            lines.append(f"Real-time expenses: the {entity_set} subscription was deleted.")
            if report is not None:
                report.removed.append(f"{record.name}/{entity_set}")
        if not wanted:
            self._secrets.delete_secret(webhook_state_name(record.name))
            return lines
        base, _ = notification_base(self._options.public_base_url, self._options.bc_api_url)
        assert base is not None  # wanted() checked it
        url = notification_url(base, record.name)
        state = self._client_state(record.name)
        for entity_set in sorted(wanted):
            client = client or self._client(record)
            resource = subscription_resource(str(record.company_id), entity_set)
            row = rows.get(entity_set)
            if report is not None:
                report.checked += 1
            outcome = self._keep(client, record.name, entity_set, row, url, resource, state, renew=renew)
            if outcome:
                lines.append(f"Real-time expenses: {entity_set} subscription {outcome}.")
                if report is not None:
                    (report.failed if outcome.startswith("failed") else
                     report.renewed if outcome.startswith("renewed") else report.created).append(
                        f"{record.name}/{entity_set}")
        return lines

    def _keep(self, client: SubscriptionClient, name: str, entity_set: str, row: Subscription | None, url: str,
              resource: str, state: str, *, renew: bool) -> str:
        """Create, check, renew: what happened in words ('' when nothing had to)."""
        now = self._clock.now()
        same = row is not None and row.state == "active" and row.subscription_id and \
            row.notification_url == url and row.resource == resource
        if same and row is not None:
            if not renew:
                return ""
            found = client.get_subscription(row.subscription_id)
            if found is None:
                log.warning("Connector %s: BC no longer has webhook subscription %s (%s); creating it again", name,
                            row.subscription_id, entity_set)
            else:
                expires = parse_iso(str(found.get("expirationDateTime") or "")) or now
                if expires - now > self._options.renew_before:
                    self._store.put(_from_bc(row, found, now))
                    return ""
                try:
                    answer = client.renew_subscription(
                        row.subscription_id, etag=str(found.get("@odata.etag") or "*"), notification_url=url,
                        resource=resource, client_state=state)
                except BcNotFoundError:
                    answer = None
                except BcError as err:
                    self._store.put(replace(row, state="failed", error=_reason(err), updated_at=iso(now)))
                    return f"failed to renew ({_reason(err)})"
                if answer is not None:
                    self._store.put(_from_bc(row, answer, now))
                    return f"renewed until {answer.get('expirationDateTime')}"
        elif row is not None and row.subscription_id:
            self._delete_at_bc(client, row)  # another URL, resource, or a failed one: start over
        base = row or Subscription(connector=name, entity_set=entity_set, state="creating")
        try:
            answer = client.create_subscription(notification_url=url, resource=resource, client_state=state)
        except (BcError, ConnectorError) as err:
            self._store.put(replace(base, state="failed", subscription_id="", error=_reason(err),
                                    updated_at=iso(now)))
            log.warning("Connector %s: BC refused the %s webhook subscription: %s", name, entity_set, err)
            return f"failed ({_reason(err)})"
        created = _from_bc(replace(base, resource=resource, notification_url=url), answer, now)
        self._store.put(created)
        log.info("Connector %s: webhook subscription %s on %s until %s", name, created.subscription_id, entity_set,
                 created.expires_at)
        return f"created, valid until {created.expires_at}"

    def _delete_at_bc(self, client: SubscriptionClient, row: Subscription) -> None:
        try:
            client.delete_subscription(row.subscription_id, etag=row.bc_etag or "*")
        except Exception as err:  # noqa: BLE001 - BC drops it within 3 days unrenewed; its notifications are refused
            log.warning("Connector %s: webhook subscription %s not deleted at BC (%s); it lapses within 3 days",
                        row.connector, row.subscription_id, err)

    def _client(self, record: ConnectorRecord) -> SubscriptionClient:
        return self._bc_clients.for_record(record)

    def _client_state(self, name: str) -> str:
        secret_name = webhook_state_name(name)
        state = self._secrets.get_secret(secret_name)
        if not state:
            state = _random.token_urlsafe(48)  # 64 characters, well under BC's 2,048
            self._secrets.set_secret(secret_name, state)
        return state


def _from_bc(row: Subscription, answer: dict, now: _dt.datetime) -> Subscription:
    return replace(row, state="active", error="", subscription_id=str(answer.get("subscriptionId") or
                                                                         row.subscription_id),
                   expires_at=str(answer.get("expirationDateTime") or row.expires_at),
                   bc_etag=str(answer.get("@odata.etag") or row.bc_etag), updated_at=iso(now))


def _reason(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:300]
