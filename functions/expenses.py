"""Expense import (ARCHITECTURE §1, §3): the timer `import_expenses` and `POST /connectors/{name}/expenses/import`.

Both call `shared.expenses`; this module only reads the trigger and writes the answer. The timer's
schedule is the app setting EXPENSE_IMPORT_SCHEDULE (an NCRONTAB expression, §7).
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
    from shared.bootstrap import get_services
    from shared.expenses import TIMER_BUDGET_SECONDS, expense_deps, import_all

    if timer.past_due:
        # The host was down or busy when the run was due; this run reads everything since the last one.
        log.warning("Expense import timer is past due; running now")
    summaries = import_all(expense_deps(get_services()), budget_seconds=TIMER_BUDGET_SECONDS)
    by_status: dict[str, int] = {}
    for summary in summaries:
        by_status[summary.status] = by_status.get(summary.status, 0) + 1
    log.info("Expense import timer: %d connectors (%s)", len(summaries),
             ", ".join(f"{count} {status}" for status, count in sorted(by_status.items())) or "none enabled")


@bp.function_name("run_expense_import")
@bp.route(route="connectors/{name}/expenses/import", methods=["POST"])
@mapped_errors
def run_expense_import(req: func.HttpRequest) -> func.HttpResponse:
    """Run the import of one connector now and answer its summary (statuses: `status_for`)."""
    from shared.bootstrap import get_services
    from shared.connectors import FieldError, SettingsInvalid
    from shared.expenses import HTTP_BUDGET_SECONDS, expense_deps, import_expenses

    services = get_services()
    record = services.connectors().get(req.route_params.get("name", ""))
    if not record.settings.expenses_enabled:
        raise SettingsInvalid([FieldError("expenses.enabled", "Expense import is off for this connector: set "
                                                              "expenses.enabled to true and save it first.")])
    summary = import_expenses(record.name, expense_deps(services), budget_seconds=HTTP_BUDGET_SECONDS)
    status, headers = status_for(summary.status, summary.error)
    return json_response(summary.to_dict(), status, headers)


def status_for(status: str, error: dict | None) -> tuple[int, dict[str, str] | None]:
    """200 completed/partial; 409 busy, skipped, reconnect_required; failed: 422 for a setting, 503 (with
    Retry-After) when trying again later can help, else 502."""
    if status in ("completed", "partial"):
        return 200, None
    if status in ("busy", "skipped", "reconnect_required"):
        return 409, None
    error = error or {}
    if error.get("field"):
        return 422, None
    if error.get("retryable"):
        return 503, {"Retry-After": str(max(1, int(error.get("retryAfter") or 30)))}
    return 502, None
