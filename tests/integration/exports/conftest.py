"""Fixtures for the export tests: a harness that saves a connector against the sandbox, delivers messages
to the real queue functions and reads outcomes back from Azurite."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from sandbox import constants
from sandbox.bc._fixturegen import COMPANY_IDS
from tests.integration.exports._helpers import (
    OutcomeReader,
    bc_requests,
    deliver,
    message,
    save_connector,
)

QUEUE_OF = {"customer": "bc-customers", "project": "bc-projects", "product": "bc-products",
            "invoice": "bc-invoices"}


@dataclass
class Harness:
    services: Any
    admin: Any
    sandbox: Any
    name: str
    outcomes: OutcomeReader
    company: str = "us"
    connector: dict = field(default_factory=dict)

    def save(self, company: str = "us", **changes: Any) -> dict:
        self.company = company
        self.connector = save_connector(self.name, company, **changes)
        return self.connector

    @property
    def company_id(self) -> str:
        return COMPANY_IDS[(constants.ENVIRONMENT, self.company)]

    @property
    def company_name(self) -> str:
        return constants.VAT_COMPANY if self.company == "vat" else constants.US_COMPANY

    def text(self, kind: str, data: dict, version: Any = 1) -> str:
        return message(self.name, kind, data, version)

    def send(self, kind: str, data: dict, version: Any = 1, **kwargs: Any) -> dict:
        """Deliver one message to its queue function; the outcome it sent."""
        before = len(self.outcomes.of(self.name))
        deliver(QUEUE_OF[kind], self.text(kind, data, version), **kwargs)
        outcomes = self.outcomes.of(self.name)
        assert len(outcomes) == before + 1, f"expected one new outcome, got {outcomes[before:]}"
        return outcomes[-1]

    def mark(self) -> int:
        return self.admin.last_seq()

    def bc_since(self, mark: int) -> list[dict]:
        return bc_requests(self.admin, mark)

    def client(self) -> Any:
        """A BC client to check what BC holds (its requests show in the sandbox log: use marks)."""
        from shared.adapters.http import default_session
        from shared.auth import CredentialCache
        from shared.bc import BcClient, ConnectorGates

        credential = CredentialCache().client_credentials(
            authority_host=self.sandbox.url, tenant=constants.TENANT_ID, client_id=constants.DEMO_CLIENT_ID,
            client_secret=constants.DEMO_CLIENT_SECRET)
        return BcClient(api_url=self.sandbox.url, tenant=constants.TENANT_ID, environment=constants.ENVIRONMENT,
                        credential=credential, session=default_session(), gate=ConnectorGates().gate("test"))

    def ledger(self, kind: str, host_id: str) -> Any:
        from shared.adapters.ledger import TableLedger

        return TableLedger(self.services.table("ledger")).get(self.name, kind, host_id)

    def invoice(self, bc_id: str) -> dict:
        return self.client().get_entity(self.company_id, f"salesInvoices({bc_id})",
                                        expand="salesInvoiceLines,dimensionSetLines")

    def customer(self, bc_id: str) -> dict:
        return self.client().get_entity(self.company_id, f"customers({bc_id})")

    def customer_card(self, number: str) -> dict:
        from shared.bc import eq

        [card] = self.client().list_odata(self.company_name, "Customer_Card", filter=eq("No", number))
        return card

    def dimension_value(self, dimension: str, code: str) -> dict:
        from shared.bc import and_, eq

        [value] = self.client().list_odata(self.company_name, "DimensionValues",
                                           filter=and_(eq("Dimension_Code", dimension), eq("Code", code)))
        return value

    def notifications(self, event: str = "export_failed") -> list[dict]:
        return [n for n in self.services.notifications if n["connector"] == self.name and n["event"] == event]


@pytest.fixture
def exp(services, bc, sandbox, connector_name) -> Harness:
    return Harness(services=services, admin=bc, sandbox=sandbox, name=connector_name,
                   outcomes=OutcomeReader(services))
