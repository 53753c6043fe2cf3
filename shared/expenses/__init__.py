"""Expense import: expenses posted in Business Central become `bc-expenses` messages for the host.

    deps = expense_deps(get_services())
    summary = import_expenses("contoso-bc", deps, budget_seconds=HTTP_BUDGET_SECONDS)   # "run now"
    summaries = import_all(deps)                                                          # the timer

Sources: posted purchase invoice lines and corrective credit memo lines (default), or G/L entries on
expense accounts (`expenses.source = generalLedger`); incremental with an overlap, at-least-once with
stable keys, one run per connector at a time. See `_run.py` for the steps and `_state.py` for the cursor
and overlap rules.
"""

from shared.expenses._cursors import CursorStore, DocumentMarker, InMemoryCursorStore, TableCursorStore
from shared.expenses._mapping import ImportContext, map_document_line, map_ledger_entry
from shared.expenses._outbox import InMemoryOutbox, Outbox, QueueOutbox
from shared.expenses._projects import HostProject, InMemoryProjectMap, LedgerProjectMap, ProjectMap
from shared.expenses._ranges import RangeSet
from shared.expenses._reads import EXPENSE_CATEGORIES, AccountCatalog, category_key
from shared.expenses._run import (
    HTTP_BUDGET_SECONDS,
    IMPORT_LEASE,
    TIMER_BUDGET_SECONDS,
    UNKNOWN_PROJECTS_ROW,
    ExpenseDeps,
    ImportOptions,
    import_all,
    import_expenses,
)
from shared.expenses._state import Backfill, DocumentCursor, LedgerCursor
from shared.expenses._stats import STATS_KEY
from shared.expenses._summary import ImportSummary, SourceCounts
from shared.expenses._wiring import expense_deps

__all__ = [
    "AccountCatalog",
    "Backfill",
    "CursorStore",
    "DocumentCursor",
    "DocumentMarker",
    "EXPENSE_CATEGORIES",
    "ExpenseDeps",
    "HTTP_BUDGET_SECONDS",
    "HostProject",
    "IMPORT_LEASE",
    "ImportContext",
    "ImportOptions",
    "ImportSummary",
    "InMemoryCursorStore",
    "InMemoryOutbox",
    "InMemoryProjectMap",
    "LedgerCursor",
    "LedgerProjectMap",
    "Outbox",
    "ProjectMap",
    "QueueOutbox",
    "RangeSet",
    "STATS_KEY",
    "SourceCounts",
    "TIMER_BUDGET_SECONDS",
    "TableCursorStore",
    "UNKNOWN_PROJECTS_ROW",
    "category_key",
    "expense_deps",
    "import_all",
    "import_expenses",
    "map_document_line",
    "map_ledger_entry",
]
