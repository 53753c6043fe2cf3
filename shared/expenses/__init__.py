"""Expense import: expenses posted in Business Central become `bc-expenses` messages for the host.

    expenses = ExpenseImport(connectors=..., cursors=..., leases=..., projects=..., outbox=...,
                             bc_clients=..., notifier=..., reconnects=..., clock=SYSTEM_CLOCK)
    summary = expenses.import_one("contoso-bc")      # "run now" (HTTP budget)
    summaries = expenses.import_all()                # the timer (timer budget)

Sources: posted purchase invoice lines and corrective credit memo lines (default), or G/L entries on
expense accounts (`expenses.source = generalLedger`); incremental with an overlap, at-least-once with
stable keys, one run per connector at a time. See `_import.py` for the steps, `_state.py` for the cursor
and overlap rules and `_ports.py` for what the import needs (the adapters are in `shared.adapters`).
"""

from shared.expenses._failures import OutOfOrder, OutOfTime, StorageUnavailable
from shared.expenses._import import (
    HTTP_BUDGET_SECONDS,
    IMPORT_LEASE,
    TIMER_BUDGET_SECONDS,
    UNKNOWN_PROJECTS_ROW,
    ExpenseImport,
    ImportOptions,
)
from shared.expenses._mapping import ImportContext, map_document_line, map_ledger_entry
from shared.expenses._ports import (
    BcClientSource,
    BcReader,
    CursorStore,
    DocumentMarker,
    HeldLease,
    Leases,
    Notifier,
    Outbox,
    ProjectMap,
    ReconnectReporter,
)
from shared.expenses._projects import HostProject
from shared.expenses._ranges import RangeSet
from shared.expenses._reads import AccountCatalog
from shared.expenses._state import Backfill, DocumentCursor, LedgerCursor
from shared.expenses._stats import STATS_KEY
from shared.expenses._summary import ImportSummary, SourceCounts

__all__ = [
    "AccountCatalog",
    "Backfill",
    "BcClientSource",
    "BcReader",
    "CursorStore",
    "DocumentCursor",
    "DocumentMarker",
    "ExpenseImport",
    "HTTP_BUDGET_SECONDS",
    "HeldLease",
    "HostProject",
    "IMPORT_LEASE",
    "ImportContext",
    "ImportOptions",
    "ImportSummary",
    "Leases",
    "LedgerCursor",
    "Notifier",
    "OutOfOrder",
    "OutOfTime",
    "Outbox",
    "ProjectMap",
    "RangeSet",
    "ReconnectReporter",
    "STATS_KEY",
    "SourceCounts",
    "StorageUnavailable",
    "TIMER_BUDGET_SECONDS",
    "UNKNOWN_PROJECTS_ROW",
    "map_document_line",
    "map_ledger_entry",
]
