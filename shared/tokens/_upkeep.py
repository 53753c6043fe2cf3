"""The keep-alive: redeem every delegated connector's refresh token on a schedule, so none reaches Entra's
90 days of inactivity; tell people when one is near its end anyway; catch up on parked work.

Per delegated connector that has a grant (`connected` or `disabled`):
- redeem the refresh token (`refresh_now`); the rotated token is stored through the rotation guard and
  the connector's `refreshTokenExpiresAt` moves 90 days ahead;
- a revoked or expired grant: the `ReconnectReporter` marks it `reconnect_required` and notifies once;
- any other failure (Entra down for days, the app's client secret expired, Key Vault refusing): the
  token keeps ageing, so when it has 14, 7, 3 or 1 days left a `token_expiring` notification says
  when it lapses, why the renewal failed and what to do (once per threshold);
- connected connectors with parked messages left (parked while a replay ran) are replayed.
Then expired consent states are deleted. One connector's failure never stops the others.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field, replace
from typing import Protocol

from shared.logfields import log_scope
from shared.auth import TokenError
from shared.clock import Clock, iso, parse_iso
from shared.connectors import ConnectorRecord, ConnectorSettings
from shared.errors import ReconnectRequired
from shared.guarded import guarded_update
from shared.jsontypes import JsonObject
from shared.messages import notification

from ._credentials import DELEGATED_BC_SCOPE
from ._store import ConnectorRefreshTokens, Secrets
from ._versions import TokenVersionStore

__all__ = ["TokenUpkeep", "KeepAliveSummary", "EXPIRING_THRESHOLDS_DAYS", "ConnectorRecords", "Notifier",
           "ReconnectReporter", "update_connector"]

log = logging.getLogger(__name__)

#: Days before the refresh token lapses at which `token_expiring` is sent (once each).
EXPIRING_THRESHOLDS_DAYS = (14, 7, 3, 1)
_REFRESHABLE = ("connected", "disabled")


# -- ports ------------------------------------------------------------------------------------------------


class ConnectorRecords(Protocol):
    """The connector store (`shared.connectors.ConnectorStore`); `update` raises ConflictError on a stale ETag."""

    def get(self, name: str) -> ConnectorRecord | None: ...

    def list(self) -> list[ConnectorRecord]: ...

    def update(self, record: ConnectorRecord) -> ConnectorRecord: ...


class RefreshingCredential(Protocol):
    def refresh_now(self, *scopes: str) -> object:
        """Redeem the refresh token now, even if an access token is cached; raises like `get_token`."""
        ...


class DelegatedCredentialSource(Protocol):
    """The worker's refresh-token credential of a delegated connector (platform's per-worker cache)."""

    def delegated_credential(self, record: ConnectorRecord) -> RefreshingCredential: ...


class ReconnectReporter(Protocol):
    """`reconnect_required` once + one notification with a consent link (`shared.consent.ConsentService`)."""

    def report(self, name: str, reason: str) -> bool: ...


class ParkedReplay(Protocol):
    """Re-enqueue a connected connector's parked messages (`shared.consent.ConsentService`)."""

    def waiting(self, name: str) -> bool: ...

    def replay_parked(self, name: str) -> int: ...


class ExpiredStates(Protocol):
    def purge_expired(self, *, before: _dt.datetime) -> int: ...


class Notifier(Protocol):
    """Sends one `bc-notifications` message."""

    def notify(self, message: JsonObject) -> None: ...


# -- shared with the consent ----------------------------------------------------------------------------


def update_connector(connectors: ConnectorRecords, clock: Clock, name: str,
                     **fields: str | None) -> ConnectorRecord | None:
    """Set fields of a connector record, re-reading on conflict; None when it is gone or already so."""
    def decide(record: ConnectorRecord | None) -> ConnectorRecord | None:
        if record is None or all(getattr(record, k) == v for k, v in fields.items()):
            return None
        changed = replace(record, **fields)
        changed.updated_at = iso(clock.now(), timespec="seconds")
        return changed

    return guarded_update(lambda: connectors.get(name), decide, connectors.update,
                          what=f"connector '{name}'")


# -- the use case ---------------------------------------------------------------------------------------


@dataclass
class KeepAliveSummary:
    refreshed: list[str] = field(default_factory=list)
    reconnect_required: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    expiring_notified: list[str] = field(default_factory=list)
    replayed: dict[str, int] = field(default_factory=dict)
    states_purged: int = 0

    def to_dict(self) -> JsonObject:
        return {"refreshed": self.refreshed, "reconnectRequired": self.reconnect_required, "failed": self.failed,
                "skipped": self.skipped, "expiringNotified": self.expiring_notified, "replayed": self.replayed,
                "statesPurged": self.states_purged}


class TokenUpkeep:
    """The timer's job (`functions/upkeep.py`): keep every delegated grant alive."""

    def __init__(self, *, connectors: ConnectorRecords, credentials: DelegatedCredentialSource,
                 secrets: Secrets, versions: TokenVersionStore, reconnects: ReconnectReporter,
                 replays: ParkedReplay, states: ExpiredStates, notifier: Notifier, clock: Clock) -> None:
        self._connectors = connectors
        self._credentials = credentials
        self._secrets = secrets
        self._versions = versions
        self._reconnects = reconnects
        self._replays = replays
        self._states = states
        self._notifier = notifier
        self._clock = clock

    def run(self) -> KeepAliveSummary:
        summary = KeepAliveSummary()
        for record in self._connectors.list():
            settings = record.settings  # rows whose settings no longer parse are left out by the store
            if settings.auth_mode != "delegated":
                continue
            if record.status not in _REFRESHABLE:
                summary.skipped.append(record.name)
                continue
            with log_scope(operation="keepalive", connector=record.name):
                self._keep_one(record, settings, summary)
        try:
            summary.states_purged = self._states.purge_expired(before=self._clock.now())
        except Exception:  # noqa: BLE001 - housekeeping only
            log.warning("Keep-alive: could not delete expired consent states", exc_info=True)
        with log_scope(operation="keepalive"):
            log.info("Keep-alive: %d refreshed, %d need reconnecting, %d failed, %d skipped",
                     len(summary.refreshed), len(summary.reconnect_required), len(summary.failed),
                     len(summary.skipped))
        return summary

    def _keep_one(self, record: ConnectorRecord, settings: ConnectorSettings, summary: KeepAliveSummary) -> None:
        name = record.name
        try:
            self._refresh(record)
        except ReconnectRequired as err:
            self._reconnects.report(name, str(err))
            summary.reconnect_required.append(name)
            return
        except Exception as err:  # noqa: BLE001 - TokenError, secret store, storage: reported below
            reason = _reason(err)
            log.warning("Keep-alive: connector %s not refreshed: %s", name, reason)
            summary.failed.append(name)
            if self._notify_if_expiring(record, settings, reason):
                summary.expiring_notified.append(name)
            return
        summary.refreshed.append(name)
        if record.status == "connected":
            self._catch_up(name, summary)

    def _refresh(self, record: ConnectorRecord) -> None:
        self._credentials.delegated_credential(record).refresh_now(DELEGATED_BC_SCOPE)
        version = self._versions.get(record.name)
        if version is not None:
            update_connector(self._connectors, self._clock, record.name,
                             refresh_token_expires_at=version.expires_at)

    def _catch_up(self, name: str, summary: KeepAliveSummary) -> None:
        try:
            if self._replays.waiting(name):
                summary.replayed[name] = self._replays.replay_parked(name)
        except Exception:  # noqa: BLE001 - the next run tries again
            log.warning("Keep-alive: replay of connector %s failed", name, exc_info=True)

    def _notify_if_expiring(self, record: ConnectorRecord, settings: ConnectorSettings, reason: str) -> bool:
        now = self._clock.now()
        tokens = ConnectorRefreshTokens(record.name, self._secrets, self._versions, clock=self._clock)
        version = tokens.version()
        expires = parse_iso(version.expires_at if version else record.refresh_token_expires_at)
        if expires is None:
            return False
        days_left = (expires - now) / _dt.timedelta(days=1)
        due = [t for t in EXPIRING_THRESHOLDS_DAYS if days_left <= t]
        if not due:
            return False
        lapses = iso(expires, timespec="seconds")
        notice = f"{lapses}|{min(due)}"
        if version is not None and (version.expiring_notice == notice or not tokens.note_expiring_notice(notice)):
            return False
        left = max(0.0, days_left)
        self._notifier.notify(notification(
            connector=record.name, event="token_expiring", severity="warning" if left > 3 else "error",
            message=(f"The Business Central sign-in of connector '{record.name}' lapses on {lapses} "
                     f"(in {left:.1f} days) because it could not be renewed: {reason} Fix the cause so the daily "
                     "renewal succeeds; if it lapses, the consent must be run again "
                     f"(POST /api/connectors/{record.name}/consent). Work is parked, not lost, meanwhile."),
            recipients=settings.notification_recipients,
            details={"expiresAt": lapses, "daysLeft": round(left, 1), "reason": reason}, at=now))
        return True


def _reason(err: Exception) -> str:
    """Operator-facing cause: token errors are written for operators already; others get one short line."""
    if isinstance(err, TokenError):
        return str(err)
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:300]}" if text else type(err).__name__
