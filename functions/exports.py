"""Queue-triggered exports (docs/contract.md §1, §4, §5): customers, projects, products and invoices to Business
Central.

Each function hands its message to the worker's `ExportService`, which sends exactly one outcome to `bc-outcomes`
(through the worker's services, like notifications) or raises so the queue redelivers the message.
"""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()


@bp.function_name("export_customer")
@bp.queue_trigger(arg_name="msg", queue_name="bc-customers", connection="AzureWebJobsStorage")
def export_customer(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process(delivery_of("bc-customers", msg))


@bp.function_name("export_project")
@bp.queue_trigger(arg_name="msg", queue_name="bc-projects", connection="AzureWebJobsStorage")
def export_project(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process(delivery_of("bc-projects", msg))


@bp.function_name("export_product")
@bp.queue_trigger(arg_name="msg", queue_name="bc-products", connection="AzureWebJobsStorage")
def export_product(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process(delivery_of("bc-products", msg))


@bp.function_name("export_invoice")
@bp.queue_trigger(arg_name="msg", queue_name="bc-invoices", connection="AzureWebJobsStorage")
def export_invoice(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process(delivery_of("bc-invoices", msg))
