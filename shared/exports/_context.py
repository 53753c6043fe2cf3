"""The ports an export needs, the per-message context, and the worker's look-up cache.

Ports (STYLE.md "Layout and boundaries"): the connector store, the ledger, a BC client factory, the
outcome and notification senders and the parking lot, built from `shared.bootstrap.Services` by
`export_deps` or given as fakes in tests.
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from shared.clock import utc_now
from shared.messages import Version

from shared.bc import ConnectorGates

__all__ = ["ExportDeps", "ExportContext", "ExportResult", "LookupCache", "export_deps", "WORKER_GATES",
           "WORKER_LOOKUPS"]


class LookupCache:
    """BC facts that change rarely, cached per worker: the global (shortcut) dimensions of a company.

    Only this one: items, units and dimension values are sent to BC by code (`lineObjectNumber`,
    `unitOfMeasureCode`, `valueCode`), so BC resolves them inside the one deep-insert request and nothing
    needs looking up first.
    """

    def __init__(self, ttl_seconds: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], tuple[float, Any]] = {}

    def get_or_load(self, key: tuple[str, ...], load: Callable[[], Any]) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self._clock() - found[0] < self.ttl:
                return found[1]
        value = load()
        with self._lock:
            self._entries[key] = (self._clock(), value)
        return value

    def forget(self, *prefix: str) -> None:
        with self._lock:
            for key in [k for k in self._entries if k[:len(prefix)] == prefix]:
                del self._entries[key]

    def shortcut_dimensions(self, client: Any, connector: str, company_id: str) -> tuple[str, str]:
        """(Shortcut Dimension 1 Code, Shortcut Dimension 2 Code) of the company's G/L setup."""
        def load() -> tuple[str, str]:
            rows = list(client.list_entities(company_id, "generalLedgerSetup",
                                             select=["shortcutDimension1Code", "shortcutDimension2Code"]))
            row = rows[0] if rows else {}
            return (str(row.get("shortcutDimension1Code") or "").upper(),
                    str(row.get("shortcutDimension2Code") or "").upper())
        return self.get_or_load(("glSetup", connector, company_id), load)


#: The worker's gates and caches (one Functions worker process = one of each).
WORKER_GATES = ConnectorGates()
WORKER_LOOKUPS = LookupCache()


@dataclass
class ExportDeps:
    store: Any  # shared.connectors.ConnectorStore
    ledger: Any  # shared.exports.Ledger
    bc_client_for: Callable[[Any], Any]  # ConnectorRecord -> BcClient; may raise ReconnectRequiredError
    send_outcome: Callable[[dict[str, Any]], None]
    notify: Callable[[dict[str, Any]], None]
    parking: Any  # shared.parking.ParkingLot
    #: `(name, reason)`: mark reconnect_required and notify once, with a consent link. None: a plain
    #: `mark_reconnect_required` whose notification names the consent route instead of a link.
    report_reconnect: Callable[[str, str], Any] | None = None
    now: Callable[[], _dt.datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    #: How long to wait for another worker's fresh claim on the same entity before letting the queue retry.
    claim_wait_seconds: float = 20.0
    #: A claim older than this belongs to a worker that died (functionTimeout 5 min + margin).
    stale_claim_seconds: float = 360.0
    gates: ConnectorGates = field(default_factory=lambda: WORKER_GATES)
    lookups: LookupCache = field(default_factory=lambda: WORKER_LOOKUPS)


def export_deps(services: Any) -> ExportDeps:
    """The real adapters of the worker (`shared.bootstrap.Services`)."""
    from ._ledger import TableLedger

    return ExportDeps(
        store=services.store(),
        ledger=TableLedger(services.table("ledger")),
        bc_client_for=services.bc_client_for_record,
        send_outcome=lambda outcome: _send_and_count(services, outcome),
        notify=services.notify,
        parking=services.parking(),
        report_reconnect=services.report_reconnect_required,
    )


def _send_and_count(services: Any, outcome: dict[str, Any]) -> None:
    """Send the outcome to the host, then count it on the connector's activity (best effort)."""
    from shared.connectors._activity import record_export_outcome

    services.send("outcomes", outcome)
    record_export_outcome(lambda: services.table("activity"), outcome)


@dataclass
class ExportResult:
    status: str  # created | updated | unchanged
    bc_id: str | None = None
    bc_number: str | None = None


@dataclass
class ExportContext:
    """One message being exported: its connector, settings and where its BC client comes from."""

    deps: ExportDeps
    record: Any  # ConnectorRecord
    settings: Any  # ConnectorSettings
    queue: str
    message_text: str
    message_id: str
    version: Version | None
    warnings: list[str] = field(default_factory=list)
    _client: Any = None

    @property
    def connector(self) -> str:
        return self.record.name

    @property
    def company_id(self) -> str:
        return self.record.company_id

    @property
    def company_name(self) -> str:
        return self.record.company_name

    def client(self) -> Any:
        """The connector's BC client, built on first use (an unchanged message never needs one)."""
        if self._client is None:
            self._client = self.deps.bc_client_for(self.record)  # gated by the client itself
        return self._client

    def now(self) -> _dt.datetime:
        return self.deps.now()

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
