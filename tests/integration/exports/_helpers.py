"""Helpers for the export tests: saving a connector through the API, messages as the host sends them,
calling the queue functions like the host does, and reading `bc-outcomes` back from Azurite."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from azure.functions.queue import QueueMessage

from sandbox import constants
from tests._app import FUNCTIONS, call_http, json_of
from tests._settings import connector_settings

SECRET = constants.DEMO_CLIENT_SECRET
FUNCTION_OF = {"bc-customers": "export_customer", "bc-projects": "export_project", "bc-products": "export_product",
               "bc-invoices": "export_invoice", "bc-customers-poison": "customers_poison",
               "bc-projects-poison": "projects_poison", "bc-products-poison": "products_poison",
               "bc-invoices-poison": "invoices_poison"}


def settings_document(company: str = "us", **changes: Any) -> dict:
    return connector_settings(company, **changes)


def save_connector(name: str, company: str = "us", **changes: Any) -> dict:
    response = call_http("put_connector", route_params={"name": name}, body=settings_document(company, **changes))
    assert response.status_code in (200, 201), response.get_body()
    return json_of(response)["connector"]


def customer_data(host_id: str = "cust-1", **changes: Any) -> dict:
    data = {"id": host_id, "name": "Northwind Traders", "type": "Company", "email": "ap@northwind.example",
            "phone": "+1 404 555 0199", "website": "https://northwind.example", "currencyCode": None,
            "taxRegistrationNumber": "US-123", "blocked": False,
            "invoiceAddress": {"line1": "1 Main Street", "line2": "Suite 5", "city": "Atlanta", "state": "GA",
                               "postalCode": "30301", "countryCode": "US"}}
    data.update(changes)
    return data


def line(description: str = "Consulting", quantity: float = 2, unit_price: float = 100, **changes: Any) -> dict:
    out = {"description": description, "product": None, "quantity": quantity, "unitPrice": unit_price}
    out.update(changes)
    return out


def invoice_data(host_id: str = "PSA-1001", customer: dict | None = None, lines: list | None = None,
                 **changes: Any) -> dict:
    data = {"id": host_id, "invoiceDate": "2026-11-20", "dueDate": "2026-12-20",
            "customer": customer or customer_data(), "lines": lines or [line()]}
    data.update(changes)
    return data


def message(connector: str, kind: str, data: dict, version: Any = 1) -> str:
    return json.dumps({"connector": connector, "type": kind, "version": version, "data": data})


def deliver(queue: str, text: str, *, message_id: str | None = None, dequeue_count: int = 1) -> None:
    """Call the queue function of `queue` with the message, as the Functions host does."""
    msg = QueueMessage(id=message_id or uuid.uuid4().hex, body=text.encode("utf-8"), dequeue_count=dequeue_count)
    FUNCTIONS[FUNCTION_OF[queue]].get_user_function()(msg)


class OutcomeReader:
    """Reads `bc-outcomes` from Azurite, keeping every outcome by connector (tests share the queue)."""

    _buffer: dict[str, list[dict]] = {}
    _all: list[dict] = []
    _lock = threading.Lock()

    def __init__(self, services: Any) -> None:
        self._queue = services.queue("outcomes")

    def drain(self) -> None:
        with self._lock:
            while True:
                batch = list(next(self._queue.receive_messages(messages_per_page=32).by_page(), []))
                if not batch:
                    return
                for item in batch:
                    outcome = json.loads(item.content)
                    self._buffer.setdefault(outcome.get("connector") or "", []).append(outcome)
                    self._all.append(outcome)
                    self._queue.delete_message(item)

    def of(self, connector: str) -> list[dict]:
        self.drain()
        return list(self._buffer.get(connector, []))

    def everything(self) -> list[dict]:
        """Every outcome read so far, in order, whatever its connector."""
        self.drain()
        return list(self._all)

    def last(self, connector: str) -> dict:
        outcomes = self.of(connector)
        assert outcomes, f"no outcome for connector {connector}"
        return outcomes[-1]


def bc_requests(admin: Any, since: int) -> list[dict]:
    """BC requests (not Entra) the sandbox logged after `since`."""
    return [r for r in admin.requests(since=since, kind="bc")]


def describe(requests: list[dict]) -> list[str]:
    return [f"{r['method']} {r['path'].split('/', 5)[-1]}" for r in requests]
