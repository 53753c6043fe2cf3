"""The `connector` fixture: an expense connector saved on the sandbox, its projects mapped in the ledger."""

from __future__ import annotations

import pytest
from tests.integration.expenses._helpers import MAPPED, expense_settings

from tests._app import call_http, json_of


@pytest.fixture
def connector(services, connector_name):
    """Saves an expense connector (purchaseInvoices from 2026-09-01) and maps P-1001/P-1002 in the ledger;
    deleted afterwards, so the timer test of another run does not meet it."""
    from shared.adapters import table_key

    created = []

    def save(*, exports_projects: bool = False, **expenses) -> str:
        response = call_http("put_connector", route_params={"name": connector_name},
                             body=expense_settings(exports_projects=exports_projects, **expenses))
        assert response.status_code in (200, 201), json_of(response)
        if not created:
            ledger = services.table("ledger")
            for code, host_id in MAPPED.items():
                ledger.upsert_entity({"PartitionKey": f"{connector_name}|project", "RowKey": table_key(host_id),
                                      "bcNumber": code, "status": "synced"})
            created.append(connector_name)
        return connector_name

    yield save
    if created:
        call_http("delete_connector", route_params={"name": connector_name})
