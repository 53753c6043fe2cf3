"""What the expense import needs from the world, as small Protocols; `shared.bootstrap` passes the real
adapters (`shared.adapters.*`), tests pass fakes or the in-memory twins.

Cursor rows (table `ImportCursors`, PartitionKey = connector) hold where each source's import stands
(`purchaseInvoices`, `purchaseCreditMemos`, `generalLedger`), a marker per posted document
(`{source}|{documentId}`: `sending` while its messages go out, then `done`) and the project values no
host project carries (`unknownProjects`). Only the run holding the connector's lease writes them, so plain
writes suffice. The layout is `shared/adapters/cursors.py`'s business.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Protocol

from shared.connectors import ConnectorRecord
from shared.jsontypes import JsonObject

from ._projects import HostProject

__all__ = ["BcClientSource", "BcReader", "CursorStore", "DocumentMarker", "HeldLease", "Leases", "Notifier",
           "Outbox", "ProjectMap", "ReconnectReporter"]


@dataclass(frozen=True)
class DocumentMarker:
    """A posted document whose lines were processed (sent, or skipped for a reason)."""

    document_id: str
    number: str
    last_modified: str
    lines: int


class CursorStore(Protocol):
    def load(self, connector: str, name: str) -> JsonObject | None:
        """The `state` of row `name` (a source, or `unknownProjects`), or None."""
        ...

    def save(self, connector: str, name: str, state: JsonObject, *, cursor: str = "",
             last_run: JsonObject | None = None, at: str = "") -> None:
        """Write row `name`; a `lastRun` written earlier is kept when `last_run` is None."""
        ...

    def claim(self, connector: str, source: str, markers: list[DocumentMarker], *, at: str) -> dict[str, str]:
        """Mark documents `sending` unless they have a marker; answers the earlier state of those that had one
        (`sending` or `done`, by lower-case document id)."""
        ...

    def mark_imported(self, connector: str, source: str, markers: list[DocumentMarker], *, at: str) -> None:
        """Mark documents `done`."""
        ...


class HeldLease(Protocol):
    """A lease this run holds: renewed before every page, released at the end."""

    @property
    def expires_at(self) -> _dt.datetime: ...

    def renew(self) -> None:
        """Raises when another run took the lease over: the run stops before sending more."""
        ...

    def release(self) -> None: ...


class Leases(Protocol):
    """The connector's `expense-import` lease (`shared.adapters.TableLeaseStore`)."""

    def acquire(self, connector: str, owner: str, *, ttl: _dt.timedelta) -> HeldLease | None:
        """The lease, or None while another run holds it."""
        ...

    def holder(self, connector: str) -> Mapping[str, object] | None:
        """`{"owner", "expiresAt"}` of the current lease row, if any."""
        ...


class ProjectMap(Protocol):
    """Read-only: which host project a value of the project dimension stands for (the projects export's
    ledger; `shared.adapters.ledger`)."""

    def projects(self, connector: str) -> dict[str, HostProject]:
        """Host projects of a connector by dimension value code (upper-case, as BC stores Code fields)."""
        ...


class Outbox(Protocol):
    """Queue `bc-expenses`. `send_many` returns only when every message is on the queue, or raises: the
    caller records a page as done after it returns, so a page is never marked done before it was sent."""

    def send_many(self, messages: list[JsonObject]) -> None: ...


class BcReader(Protocol):
    """The Business Central reads of an import (`shared.bc.BcClient`)."""

    def batch(self, operations: Iterable[Mapping[str, str]]) -> list[dict]: ...

    def list_entities(self, company_id: str, entity_set: str, *, filter: str | None = None,
                      select: str | None = None, expand: str | list[str] | None = None,
                      orderby: str | None = None, page_size: int | None = None) -> Iterator[dict]: ...


class BcClientSource(Protocol):
    """A BC client for a stored connector, in its auth mode (`shared.tokens.BcClients`). Raises
    ReconnectRequired while the connector waits for its consent or a reconnect."""

    def for_record(self, record: ConnectorRecord) -> BcReader: ...


class Notifier(Protocol):
    """Queue `bc-notifications`; the message is built by `shared.messages.notification`."""

    def notify(self, message: JsonObject) -> None: ...


class ReconnectReporter(Protocol):
    """A revoked grant: the connector becomes `reconnect_required` once, with one notification carrying a
    consent link (the consent service). True when this call changed the status."""

    def report(self, name: str, reason: str) -> bool: ...
