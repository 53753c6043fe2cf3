"""A fake Business Central for the expense import's use-case tests, and the ports around it.

`FakeBc` answers exactly the reads the import makes (`read_catalog`'s `$batch`, `list_entities` on
purchaseInvoices / purchaseCreditMemos / generalLedgerEntries with the import's filters, ordering and
page size) from lists a test fills, and records every request. The real protocol (paging, `$expand`,
throttling) is covered against the sandbox in tests/integration/expenses.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import re
import uuid
from typing import Any, Iterator

from shared.adapters import InMemoryLeaseStore
from shared.adapters.cursors import InMemoryCursorStore
from shared.adapters.expense_outbox import InMemoryOutbox
from shared.adapters.connector_store import InMemoryConnectorStore
from shared.connectors import ConnectorRecord, ConnectorStatuses, ConnectorStore, parse_connector_settings
from shared.messages import notification
from shared.expenses import IMPORT_LEASE, ExpenseImport, HostProject, ImportOptions
from tests._clock import LockstepClock
from tests._schemas import check_sent

COMPANY_ID = "5a1c6898-0000-4e8f-9b7a-5c6d7e8f9a01"
NAME = "acme"

ACCOUNTS = [
    {"number": "60100", "displayName": "Travel", "category": "Expense"},
    {"number": "60200", "displayName": "Office Supplies", "category": "Expense"},
    {"number": "50100", "displayName": "Cost of Materials", "category": "Cost_x0020_of_x0020_Goods_x0020_Sold"},
    {"number": "40100", "displayName": "Sales", "category": "Income"},
    {"number": "18100", "displayName": "Bank", "category": "Assets"},
]

_CONDITION = re.compile(r"(\w+) (eq|gt|ge|lt|le) (\S+)")


def stamp(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (
        moment.microsecond // 1000)


class FakeProjectMap:
    """The projects export's ledger as the import reads it: `set(connector, host_id, code)`."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[str, str]] = {}

    def set(self, connector: str, host_id: str, code: str) -> None:
        self._rows.setdefault(connector, {})[host_id] = code

    def projects(self, connector: str) -> dict[str, HostProject]:
        out: dict[str, HostProject] = {}
        for host_id, code in sorted(self._rows.get(connector, {}).items()):
            out.setdefault(code.upper(), HostProject(host_id, code.upper()))
        return out


class FakeBcClients:
    """Every connector reads the same fake BC; `fail` makes `for_record` raise (e.g. a revoked grant)."""

    def __init__(self, bc: "FakeBc", fail: Exception | None = None) -> None:
        self.bc, self.fail = bc, fail

    def for_record(self, record: ConnectorRecord) -> "FakeBc":
        if self.fail is not None:
            raise self.fail
        return self.bc


class CollectedNotifications(list):
    """The `bc-notifications` messages sent, in order."""

    def notify(self, message: dict) -> None:
        check_sent("notification-message", message)
        self.append(message)


class StatusReconnects:
    """What the consent service does on a revoked grant, minus the consent link: status
    `reconnect_required` once and one notification."""

    def __init__(self, store: ConnectorStore, notifications: CollectedNotifications, clock: LockstepClock) -> None:
        self.store, self.notifications, self.clock = store, notifications, clock

    def report(self, name: str, reason: str) -> bool:
        if not ConnectorStatuses(store=self.store, clock=self.clock).mark_reconnect_required(name, reason=reason):
            return False
        hint = f"Reconnect it with POST /api/connectors/{name}/consent."
        record = self.store.get(name)
        self.notifications.notify(notification(
            connector=name, event="reconnect_required", severity="error",
            message=(f"Connector '{name}' lost its access to Business Central and must be reconnected: {reason} "
                     f"{hint} Work is parked meanwhile and replayed after reconnecting."),
            recipients=record.settings.notification_recipients if record else (),
            details={"reason": reason, "consent": hint}, at=self.clock.now()))
        return True


class FakeBc:
    """In-memory documents and G/L entries, read the way the import reads them."""

    def __init__(self, clock: LockstepClock) -> None:
        self.clock = clock
        self.documents: dict[str, list[dict]] = {"purchaseInvoices": [], "purchaseCreditMemos": []}
        self.entries: list[dict] = []
        self.requests: list[tuple[str, str]] = []
        self.fail_next: Exception | None = None
        self._numbers = itertools.count(1001)
        self._entry_numbers = itertools.count(1)

    # -- data ------------------------------------------------------------------------------------------
    def post_document(self, source: str = "purchaseInvoices", *, lines: list[dict], posting_date: str = "2026-11-02",
                      project: str | None = None, status: str = "Open", modified: _dt.datetime | None = None,
                      vendor: tuple[str, str] = ("V10000", "Fabrikam")) -> dict:
        prefix = "PP-INV" if source == "purchaseInvoices" else "PP-CR"
        document = {
            "id": str(uuid.uuid4()), "number": f"{prefix}{next(self._numbers)}", "postingDate": posting_date,
            "vendorNumber": vendor[0], "vendorName": vendor[1], "currencyCode": "USD", "status": status,
            "lastModifiedDateTime": stamp(modified or self.clock.now()),
            "dimensionSetLines": [{"code": "PROJECT", "valueCode": project}] if project else [],
        }
        nav = "purchaseInvoiceLines" if source == "purchaseInvoices" else "purchaseCreditMemoLines"
        document[nav] = [{
            "id": str(uuid.uuid4()), "sequence": (n + 1) * 10000, "lineType": ln.get("lineType", "Account"),
            "lineObjectNumber": ln.get("account", "60100"), "description": ln.get("description", f"line {n + 1}"),
            "quantity": ln.get("quantity", 1), "netAmount": ln.get("amount", 10),
            "dimensionSetLines": [{"code": "PROJECT", "valueCode": ln["project"]}] if ln.get("project") else [],
        } for n, ln in enumerate(lines)]
        self.documents[source].append(document)
        return document

    def modify_document(self, document: dict, **changes: Any) -> None:
        document.update(changes)
        document["lastModifiedDateTime"] = stamp(self.clock.now())

    def post_entry(self, *, account: str = "60100", debit: float = 0, credit: float = 0, project: str | None = "P-1",
                   posting_date: str = "2026-11-02", number: int | None = None,
                   modified: _dt.datetime | None = None) -> dict:
        entry = {
            "id": str(uuid.uuid4()), "entryNumber": number if number is not None else next(self._entry_numbers),
            "postingDate": posting_date, "documentNumber": "G0001", "accountNumber": account,
            "description": f"entry on {account}", "debitAmount": debit, "creditAmount": credit,
            "lastModifiedDateTime": stamp(modified or self.clock.now()),
            "dimensionSetLines": [{"code": "PROJECT", "valueCode": project}] if project else [],
        }
        self.entries.append(entry)
        return entry

    # -- the client surface the import uses -------------------------------------------------------------
    def batch(self, operations: list[dict]) -> list[dict]:
        self.requests.append(("POST", "$batch"))
        self._maybe_fail()
        out = []
        for op in operations:
            if "/accounts" in op["url"]:
                out.append({"id": op["id"], "status": 200, "body": {"value": ACCOUNTS}})
            else:
                out.append({"id": op["id"], "status": 200, "body": {"value": [{"localCurrencyCode": "USD"}]}})
        return out

    def list_entities(self, company_id: str, entity_set: str, *, filter: str, page_size: int,
                      orderby: str | None = None, **_: Any) -> Iterator[dict]:
        assert company_id == COMPANY_ID
        if entity_set == "generalLedgerEntries":
            rows = sorted(self.entries, key=lambda e: e["entryNumber"])
        else:
            rows = sorted(self.documents[entity_set], key=lambda d: (d["lastModifiedDateTime"], d["id"]))
            assert orderby == "lastModifiedDateTime"
        rows = [r for r in rows if _matches(r, filter)]
        return self._paged(entity_set, filter, rows, page_size)

    def _paged(self, entity_set: str, filter: str, rows: list[dict], size: int) -> Iterator[dict]:
        for start in range(0, max(len(rows), 1), size):
            self.requests.append(("GET", f"{entity_set}?$filter={filter}"))
            self._maybe_fail()
            yield from [_copy(r) for r in rows[start:start + size]]

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error


def _copy(row: dict) -> dict:
    import copy

    return copy.deepcopy(row)


def _matches(row: dict, filter: str) -> bool:
    for field, op, literal in _CONDITION.findall(filter):
        value = row[field]
        if isinstance(value, int):
            other: Any = int(literal)
        else:
            other = literal
            if field == "lastModifiedDateTime":
                value, other = _dt.datetime.fromisoformat(value.replace("Z", "+00:00")), \
                    _dt.datetime.fromisoformat(other.replace("Z", "+00:00"))
        ok = {"eq": value == other, "gt": value > other, "ge": value >= other, "lt": value < other,
              "le": value <= other}[op]
        if not ok:
            return False
    return True


def settings_document(**expenses: Any) -> dict:
    return {
        "tenantId": "7d3a1c52-6b1e-4c1f-9d2a-0b5f3e8c4a11", "environment": "Production", "company": "CRONUS",
        "auth": {"mode": "clientCredentials"},
        "projects": {"enabled": True, "dimension": "PROJECT"},
        "expenses": {"enabled": True, "fromDate": "2026-11-01", "source": "purchaseInvoices",
                     "activity": "Travel", "billable": True, **expenses},
        "notifications": {"recipients": ["ops@example.com"]},
    }


class World:
    """A connector, its fake BC, in-memory stores, collected notifications; `run()` imports once."""

    def __init__(self, *, tick: float = 0.0, **expenses: Any) -> None:
        self.clock = LockstepClock(tick=tick)
        self.bc = FakeBc(self.clock)
        self.store = InMemoryConnectorStore()
        self.store.create(ConnectorRecord(name=NAME, settings=parse_connector_settings(settings_document(**expenses)), status="connected",
                                          company_id=COMPANY_ID, company_name="CRONUS", tax_mode="salesTax",
                                          refresh_token_expires_at=None))
        self.cursors = InMemoryCursorStore()
        self.leases = InMemoryLeaseStore(name=IMPORT_LEASE, clock=self.clock)
        self.projects = FakeProjectMap()
        for n in (1, 2, 3):
            self.projects.set(NAME, f"host-{n}", f"P-{n}")
        self.outbox = InMemoryOutbox()
        self.notifications = CollectedNotifications()
        self.options = ImportOptions(document_page_size=2, ledger_page_size=3)

    def importer(self, **changes: Any) -> ExpenseImport:
        """The use case on this world's fakes; `changes` replace ports by name (e.g. `leases=`)."""
        ports: dict[str, Any] = dict(
            connectors=self.store, cursors=self.cursors, leases=self.leases, projects=self.projects,
            outbox=self.outbox, bc_clients=FakeBcClients(self.bc), notifier=self.notifications,
            reconnects=StatusReconnects(self.store, self.notifications, self.clock), clock=self.clock,
            options=self.options)
        ports.update(changes)
        return ExpenseImport(**ports)

    def run(self, budget_seconds: float = 60.0, **changes: Any):
        return self.importer(**changes).import_one(NAME, budget_seconds=budget_seconds)

    def set_expenses(self, **expenses: Any) -> None:
        record = self.store.get(NAME)
        document = record.settings.to_document()
        record.settings = parse_connector_settings({**document, "expenses": {**document["expenses"], **expenses}})
        self.store.update(record)

    @property
    def keys(self) -> list[str]:
        return self.outbox.keys

    def stats(self) -> dict:
        return self.store.get(NAME).stats.get("expenseImport", {})
