"""One message being exported (`Delivery` in, `ExportContext` while it runs) and the worker's look-ups."""

from __future__ import annotations

import datetime as _dt
import threading
from dataclasses import dataclass, field
from typing import Callable, TypeVar

from shared.bc import BcClient
from shared.clock import Clock
from shared.connectors import ConnectorRecord, ConnectorSettings
from shared.messages import Version, unwrap_deferred

from ._ledger import Ledger
from ._ports import BcClientSource, ExportOptions

__all__ = ["Delivery", "ExportContext", "ExportResult", "LookupCache"]

Loaded = TypeVar("Loaded")


@dataclass(frozen=True)
class Delivery:
    """One message as the queue handed it over."""

    queue: str  # the contract queue it came from, e.g. "bc-invoices"
    text: str  # the original message text (JSON), byte for byte what the host sent
    message_id: str
    dequeue_count: int = 1
    #: The app's own deferred copy, back at the time the BC user's budget promised it (not new work).
    deferred: bool = False

    @classmethod
    def received(cls, queue: str, text: str, message_id: str, dequeue_count: int = 1) -> "Delivery":
        """A delivery of queue text as it arrived: a deferred copy gives the host's text, marked `deferred`."""
        message = unwrap_deferred(text)
        return cls(queue, message.text, message_id, dequeue_count, deferred=message.deferred)


class LookupCache:
    """BC facts that change rarely, cached per worker: the global (shortcut) dimensions of a company.

    Only this one: items, units and dimension values are sent to BC by code (`lineObjectNumber`,
    `unitOfMeasureCode`, `valueCode`), so BC resolves them inside the one deep-insert request and nothing
    needs looking up first.
    """

    def __init__(self, clock: Clock, ttl_seconds: float = 600.0) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], tuple[float, object]] = {}

    def get_or_load(self, key: tuple[str, ...], load: Callable[[], Loaded]) -> Loaded:
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self._clock.monotonic() - found[0] < self.ttl:
                return found[1]  # type: ignore[return-value]  # stored by the same key's load
        value = load()
        with self._lock:
            self._entries[key] = (self._clock.monotonic(), value)
        return value

    def shortcut_dimensions(self, client: BcClient, connector: str, company_id: str) -> tuple[str, str]:
        """(Shortcut Dimension 1 Code, Shortcut Dimension 2 Code) of the company's G/L setup."""
        def load() -> tuple[str, str]:
            rows = list(client.list_entities(company_id, "generalLedgerSetup",
                                             select=["shortcutDimension1Code", "shortcutDimension2Code"]))
            row = rows[0] if rows else {}
            return (str(row.get("shortcutDimension1Code") or "").upper(),
                    str(row.get("shortcutDimension2Code") or "").upper())
        return self.get_or_load(("glSetup", connector, company_id), load)


@dataclass
class ExportResult:
    status: str  # created | updated | unchanged
    bc_id: str | None = None
    bc_number: str | None = None


@dataclass
class ExportContext:
    """One message being exported: its connector, settings, the ledger and where its BC client comes from."""

    record: ConnectorRecord
    settings: ConnectorSettings
    delivery: Delivery
    version: Version | None
    ledger: Ledger
    lookups: LookupCache
    clock: Clock
    options: ExportOptions
    bc_clients: BcClientSource
    warnings: list[str] = field(default_factory=list)
    _client: BcClient | None = None

    @property
    def connector(self) -> str:
        return self.record.name

    @property
    def company_id(self) -> str:
        return self.record.company_id or ""

    @property
    def company_name(self) -> str:
        return self.record.company_name or ""

    def client(self) -> BcClient:
        """The connector's BC client, built on first use (an unchanged message never needs one)."""
        if self._client is None:
            self._client = self.bc_clients.for_record(self.record)
        return self._client

    def now(self) -> _dt.datetime:
        return self.clock.now()

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)
