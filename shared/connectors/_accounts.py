"""The G/L account categories whose postings are project costs: what a connector save verifies for the
`generalLedger` expense source and what the expense import reads (README "Expense import")."""

from __future__ import annotations

import re

__all__ = ["EXPENSE_CATEGORIES", "category_key"]

#: G/L account categories whose postings are project costs, as `category_key` writes them.
EXPENSE_CATEGORIES = frozenset({"expense", "costofgoodssold"})


def category_key(category: str) -> str:
    """'Cost_x0020_of_x0020_Goods_x0020_Sold' or 'Cost of Goods Sold' -> 'costofgoodssold'."""
    return re.sub(r"_x[0-9A-Fa-f]{4}_|[^A-Za-z]", "", category or "").lower()
