"""Expense import (docs/contract.md §1, §3): the timer `import_expenses` and `POST /connectors/{name}/expenses/import`.

Both call the expense import use case (`shared.expenses.ExpenseImport`); this module only reads the
trigger and writes the answer. The timer's schedule is the app setting EXPENSE_IMPORT_SCHEDULE (an NCRONTAB
expression, §7).
"""

from __future__ import annotations

import logging

import azure.functions as func

from ._http import json_response, mapped_errors

log = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("import_expenses")
@bp.timer_trigger(arg_name="timer", schedule="%EXPENSE_IMPORT_SCHEDULE%", run_on_startup=False, use_monitor=True)
def import_expenses(timer: func.TimerRequest) -> None:
    """Every connector with expenses.enabled, least recently imported first, within the time budget."""
    from shared.bootstrap import worker_app  # the app's modules load on first call, not at cold start

    if timer.past_due:
        # The host was down or busy when the run was due; this run reads everything since the last one.
        log.warning("Expense import timer is past due; running now")
    summaries = worker_app().expenses.import_all()
    by_status: dict[str, int] = {}
    for summary in summaries:
        by_status[summary.status] = by_status.get(summary.status, 0) + 1
    log.info("Expense import timer: %d connectors (%s)", len(summaries),
             ", ".join(f"{count} {status}" for status, count in sorted(by_status.items())) or "none enabled")


@bp.function_name("run_expense_import")
@bp.route(route="connectors/{name}/expenses/import", methods=["POST"])
@mapped_errors
def run_expense_import(req: func.HttpRequest) -> func.HttpResponse:
    """Run the import of one connector now and answer its summary (statuses: `ImportSummary.http_status`)."""
    from shared.bootstrap import worker_app  # the app's modules load on first call, not at cold start

    summary = worker_app().expenses.import_one(req.route_params.get("name", ""))
    status, headers = summary.http_status()
    return json_response(summary.to_dict(), status, headers)
