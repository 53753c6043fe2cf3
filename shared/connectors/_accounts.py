"""The G/L account categories whose postings are project costs (README "Expense import").

Both the save's verification and the expense import read them; they live with the connector settings so
that connectors need not import expenses.
"""

from __future__ import annotations

import re

__all__ = ["EXPENSE_CATEGORIES", "category_key"]

#: G/L account categories whose postings are project costs (README "Expense import").
EXPENSE_CATEGORIES = frozenset({"expense", "costofgoodssold"})


def category_key(category: str) -> str:
    """'Cost_x0020_of_x0020_Goods_x0020_Sold' or 'Cost of Goods Sold' -> 'costofgoodssold'."""
    return re.sub(r"_x[0-9A-Fa-f]{4}_|[^A-Za-z]", "", category or "").lower()
