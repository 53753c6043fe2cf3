"""The keep-alive: redeem every delegated connector's refresh token on a schedule, so none reaches Entra's
90 days of inactivity; tell people when one is near its end anyway; catch up on parked work.

Per delegated connector that has a grant (`connected` or `disabled`):
- redeem the refresh token (`RefreshTokenCredential.refresh_now`); the rotated token is stored through
  the rotation guard and the connector's `refreshTokenExpiresAt` moves 90 days ahead;
- a revoked or expired grant: `reconnect_required`, one notification with a consent link;
- any other failure (Entra down for days, the app's client secret expired, Key Vault refusing): the
  token keeps ageing, so when it has 14, 7, 3 or 1 days left a `token_expiring` notification says
  when it lapses, why the renewal failed and what to do (once per threshold);
- connected connectors with parked messages left (parked while a replay ran) are replayed.
Then expired consent states are deleted. One connector's failure never stops the others.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass, field
from typing import Any

from shared.auth import ReconnectRequiredError, TokenError
from shared.clock import parse_iso
from shared.tokens import DELEGATED_BC_SCOPE, ConnectorRefreshTokens, iso

from ._deps import ConsentDeps
from ._flow import update_record
from ._reconnect import report_reconnect_required
from ._replay import replay_connector

__all__ = ["KeepAliveSummary", "keep_tokens_fresh", "EXPIRING_THRESHOLDS_DAYS"]

log = logging.getLogger(__name__)

#: Days before the refresh token lapses at which `token_expiring` is sent (once each).
EXPIRING_THRESHOLDS_DAYS = (14, 7, 3, 1)
_REFRESHABLE = ("connected", "disabled")


@dataclass
class KeepAliveSummary:
    refreshed: list[str] = field(default_factory=list)
    reconnect_required: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    expiring_notified: list[str] = field(default_factory=list)
    replayed: dict[str, int] = field(default_factory=dict)
    states_purged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"refreshed": self.refreshed, "reconnectRequired": self.reconnect_required, "failed": self.failed,
                "skipped": self.skipped, "expiringNotified": self.expiring_notified, "replayed": self.replayed,
                "statesPurged": self.states_purged}


def keep_tokens_fresh(deps: ConsentDeps) -> KeepAliveSummary:
    summary = KeepAliveSummary()
    for record in deps.store.list():
        try:
            settings = record.settings
        except Exception:  # noqa: BLE001 - a broken row must not stop the others
            log.warning("Keep-alive: connector %s has unreadable settings; skipped", record.name)
            summary.skipped.append(record.name)
            continue
        if settings.auth_mode != "delegated":
            continue
        if record.status not in _REFRESHABLE:
            summary.skipped.append(record.name)
            continue
        _keep_one(record, deps, summary)
    try:
        summary.states_purged = deps.states.purge_expired(before=deps.now())
    except Exception:  # noqa: BLE001 - housekeeping only
        log.warning("Keep-alive: could not delete expired consent states", exc_info=True)
    log.info("Keep-alive: %d refreshed, %d need reconnecting, %d failed, %d skipped", len(summary.refreshed),
             len(summary.reconnect_required), len(summary.failed), len(summary.skipped))
    return summary


def _keep_one(record: Any, deps: ConsentDeps, summary: KeepAliveSummary) -> None:
    name = record.name
    try:
        deps.credential_for(record).refresh_now(DELEGATED_BC_SCOPE)
        version = deps.versions.get(name)
        if version is not None:
            update_record(deps, name, refresh_token_expires_at=version.expires_at)
    except ReconnectRequiredError as err:
        report_reconnect_required(name, str(err), deps)
        summary.reconnect_required.append(name)
        return
    except Exception as err:  # noqa: BLE001 - TokenError, secret store, storage: reported below
        reason = _reason(err)
        log.warning("Keep-alive: connector %s not refreshed: %s", name, reason)
        summary.failed.append(name)
        if _notify_if_expiring(record, reason, deps):
            summary.expiring_notified.append(name)
        return
    summary.refreshed.append(name)
    if record.status == "connected":
        try:
            if deps.parking.list(name):
                summary.replayed[name] = replay_connector(name, deps).parked
        except Exception:  # noqa: BLE001 - the next run tries again
            log.warning("Keep-alive: replay of connector %s failed", name, exc_info=True)


def _notify_if_expiring(record: Any, reason: str, deps: ConsentDeps) -> bool:
    now = deps.now()
    tokens = ConnectorRefreshTokens(record.name, deps.secrets, deps.versions, now=deps.now)
    version = tokens.version()
    expires = parse_iso(version.expires_at if version else record.refresh_token_expires_at)
    if expires is None:
        return False
    days_left = (expires - now) / _dt.timedelta(days=1)
    due = [t for t in EXPIRING_THRESHOLDS_DAYS if days_left <= t]
    if not due:
        return False
    notice = f"{iso(expires)}|{min(due)}"
    if version is not None and (version.expiring_notice == notice or not tokens.note_expiring_notice(notice)):
        return False
    recipients = list(record.settings.notification_recipients)
    left = max(0.0, days_left)
    deps.notify({
        "connector": record.name,
        "event": "token_expiring",
        "severity": "warning" if left > 3 else "error",
        "message": (f"The Business Central sign-in of connector '{record.name}' lapses on {iso(expires)} "
                    f"(in {left:.1f} days) because it could not be renewed: {reason} Fix the cause so the daily "
                    "renewal succeeds; if it lapses, the consent must be run again "
                    f"(POST /api/connectors/{record.name}/consent). Work is parked, not lost, meanwhile."),
        "recipients": recipients,
        "details": {"expiresAt": iso(expires), "daysLeft": round(left, 1), "reason": reason},
        "at": iso(now),
    })
    return True


def _reason(err: Exception) -> str:
    """Operator-facing cause: token errors are written for operators already; others get one short line."""
    if isinstance(err, TokenError):
        return str(err)
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:300]}" if text else type(err).__name__
