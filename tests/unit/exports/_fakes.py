"""In-memory ports for the export use case: a connector record, a BC client that records what it is asked,
and an `ExportService` built on them."""

from __future__ import annotations

from shared.adapters.queues import InMemoryQueueSender

import copy
import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from shared.adapters.ledger import InMemoryLedger
from shared.adapters.parking import InMemoryParkingLot
from shared.adapters.payloads import InMemoryPayloadStore
from shared.adapters.connector_store import InMemoryConnectorStore
from shared.connectors import ConnectorRecord, parse_connector_settings
from shared.exports import ExportOptions, ExportService, LookupCache
from tests._clock import LockstepClock
from tests._settings import apply_changes
from tests._schemas import check_sent

COMPANY_ID = "11111111-2222-3333-4444-555555555555"


def settings_document(**changes: Any) -> dict:
    document = {
        "tenantId": "contoso.onmicrosoft.com", "environment": "Production", "company": "CRONUS USA, Inc.",
        "auth": {"mode": "clientCredentials"},
        "defaults": {"unitOfMeasure": "PCS", "taxGroupCode": "TAXABLE", "writeInItem": "WRITE-IN",
                     "useHostInvoiceNumber": False},
        "customers": {"enabled": True,
                      "domestic": {"genBusPostingGroup": "DOMESTIC", "customerPostingGroup": "DOMESTIC"},
                      "abroad": {"genBusPostingGroup": "EXPORT", "customerPostingGroup": "FOREIGN"}},
        "projects": {"enabled": True, "dimension": "PROJECT"},
        "invoices": {"enabled": True, "departmentDimension": "DEPARTMENT", "departmentSource": "department"},
        "notifications": {"recipients": ["ops@example.com"]},
    }
    apply_changes(document, changes)
    return document


def record(name: str = "acme", *, tax_mode: str = "salesTax", country: str = "US", status: str = "connected",
           **changes: Any) -> ConnectorRecord:
    return ConnectorRecord(name=name, settings=parse_connector_settings(settings_document(**changes)), status=status, company_id=COMPANY_ID,
                           company_name="CRONUS USA, Inc.", tax_mode=tax_mode, refresh_token_expires_at=None,
                           company_country=country, client_secret_source="app")


class FakeBc:
    """Answers like BC would for the happy path; `fail[method]` holds exceptions to raise, in order."""

    def __init__(self, shortcuts: tuple[str, str] = ("DEPARTMENT", "PROJECT")) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []
        self.fail: dict[str, list[BaseException]] = {}
        self.lists: dict[str, list[dict]] = {}
        self.shortcuts = shortcuts
        self._numbers = itertools.count(1)

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.calls.append((name, copy.deepcopy(args), copy.deepcopy(kwargs)))
        pending = self.fail.get(name)
        if pending:
            raise pending.pop(0)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    def bodies(self, name: str) -> list[Any]:
        return [c[1][-1] for c in self.calls if c[0] == name]

    def create_entity(self, company_id: str, entity_set: str, body: dict) -> dict:
        self._record("create_entity", company_id, entity_set, body)
        prefix = {"customers": "C", "salesInvoices": "S-INV"}.get(entity_set, "X")
        return {"id": str(uuid.uuid4()), "number": f"{prefix}{next(self._numbers):05d}", "@odata.etag": 'W/"1"',
                **{k: v for k, v in body.items() if not isinstance(v, list)}}

    def update_entity(self, company_id: str, path: str, body: dict, *, etag: str) -> dict:
        self._record("update_entity", company_id, path, body)
        return {"id": path.split("(")[-1].rstrip(")"), "number": "C00001", "@odata.etag": 'W/"2"', **body}

    def get_entity(self, company_id: str, path: str, **kwargs: Any) -> dict:
        self._record("get_entity", company_id, path, kwargs)
        return {"id": path.split("(")[-1].rstrip(")"), "number": "PS-INV1", "status": "Open"}

    def list_entities(self, company_id: str, entity_set: str, **kwargs: Any) -> list[dict]:
        self._record("list_entities", company_id, entity_set, kwargs)
        if entity_set == "generalLedgerSetup":
            return [{"shortcutDimension1Code": self.shortcuts[0], "shortcutDimension2Code": self.shortcuts[1]}]
        return list(self.lists.get(entity_set, []))

    def batch(self, operations: list[dict], *, isolation_snapshot: bool = False) -> list[dict]:
        self._record("batch", operations)
        return [{"id": str(i), "status": 200, "body": {}} for i, _ in enumerate(operations)]

    def invoke_action(self, company_id: str, path: str, action: str) -> None:
        self._record("invoke_action", company_id, path, action)

    def create_odata(self, company: str, service: str, body: dict) -> dict:
        self._record("create_odata", company, service, body)
        return dict(body)

    def update_odata(self, company: str, service: str, key: Any, body: dict, *, etag: str) -> dict:
        self._record("update_odata", company, service, key, body)
        return dict(body)


class NoBc:
    """A BC client source for messages that must not reach Business Central."""

    def for_record(self, _record: Any) -> Any:
        raise AssertionError("this message must not reach Business Central")

    def check_budget(self, _name: str, *, new_work: bool) -> None:
        pass


@dataclass
class FixedBc:
    client: Any

    #: What `check_budget` raises (a BC user's budget known to be used up), if anything.
    closed: BaseException | None = None
    #: `new_work` of every `check_budget` call, in order.
    checks: list[bool] = field(default_factory=list)

    def for_record(self, _record: Any) -> Any:
        return self.client

    def check_budget(self, _name: str, *, new_work: bool) -> None:
        self.checks.append(new_work)
        if self.closed is not None:
            raise self.closed


@dataclass
class Sent:
    """The outbox, notifier and reconnect reporter of the fakes: everything the service sent."""

    outcomes: list[dict] = field(default_factory=list)
    notifications: list[dict] = field(default_factory=list)
    reconnects: list[tuple[str, str]] = field(default_factory=list)
    requeue: "InMemoryQueueSender" = field(default_factory=lambda: InMemoryQueueSender())

    def send_outcome(self, outcome: dict) -> None:
        check_sent("outcome-message", outcome)
        self.outcomes.append(outcome)

    def notify(self, notification: dict) -> None:
        check_sent("notification-message", notification)
        self.notifications.append(notification)

    def report(self, name: str, reason: str) -> bool:
        self.reconnects.append((name, reason))
        return True

    def __getitem__(self, key: str) -> list:
        return getattr(self, key)


@dataclass
class Ports:
    service: ExportService
    ledger: InMemoryLedger
    parking: InMemoryParkingLot
    store: InMemoryConnectorStore
    clock: LockstepClock
    payloads: InMemoryPayloadStore
    bc_clients: "FixedBc | NoBc"


def deps_for(rec: ConnectorRecord, bc: FakeBc | None = None, *,
             budget_closed: BaseException | None = None) -> tuple[Ports, Sent]:
    """An ExportService on fakes, with its ports; `Sent` collects outcomes and notifications.
    `budget_closed`: what the BC clients' `check_budget` raises (the BC user's budget known to be used up)."""
    sent = Sent()
    clock = LockstepClock()
    ledger, parking, store = InMemoryLedger(), InMemoryParkingLot(clock=clock), InMemoryConnectorStore([rec])
    payloads = InMemoryPayloadStore()
    bc_clients = FixedBc(bc, budget_closed) if bc is not None else NoBc()
    service = ExportService(connectors=store, ledger=ledger, bc_clients=bc_clients,
                            outbox=sent, notifier=sent, parking=parking, reconnects=sent, clock=clock,
                            lookups=LookupCache(clock), payloads=payloads, requeue=sent.requeue,
                            options=ExportOptions(claim_wait_seconds=0.05))
    return Ports(service, ledger, parking, store, clock, payloads, bc_clients), sent
