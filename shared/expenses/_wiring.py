"""The real adapters of the expense import, from the worker's services (`shared.bootstrap.Services`)."""

from __future__ import annotations

from typing import Any

from shared.adapters import TableLeaseStore

from ._cursors import TableCursorStore
from ._outbox import QueueOutbox
from ._projects import LedgerProjectMap
from ._run import IMPORT_LEASE, ExpenseDeps, ImportOptions

__all__ = ["expense_deps"]


def expense_deps(services: Any, *, options: ImportOptions | None = None) -> ExpenseDeps:
    """Tables `ImportCursors`, `Locks`, `SyncLedger` (read-only), queue `bc-expenses`, the connector store."""
    return ExpenseDeps(
        store=services.store(),
        cursors=TableCursorStore(services.table("cursors")),
        leases=TableLeaseStore(services.table("locks"), name=IMPORT_LEASE),
        projects=LedgerProjectMap(services.table("ledger")),
        outbox=QueueOutbox(lambda: services.queue("expenses")),
        bc_client_for_record=services.bc_client_for_record,
        notify=services.notify,
        # The consent flow's version adds a consent link to the notification, where the app has it.
        report_reconnect=lambda name, reason: services.consent().report(name, reason),
        options=options or ImportOptions(),
    )
