"""Triggers on the `-poison` queues: a message the queue gave up on (after host.json's maxDequeueCount)
ends as a `failed` outcome, an `export_failed` notification and a replayable ledger row, never silently."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()


@bp.function_name("customers_poison")
@bp.queue_trigger(arg_name="msg", queue_name="bc-customers-poison", connection="AzureWebJobsStorage")
def customers_poison(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process_poison(delivery_of("bc-customers-poison", msg))


@bp.function_name("projects_poison")
@bp.queue_trigger(arg_name="msg", queue_name="bc-projects-poison", connection="AzureWebJobsStorage")
def projects_poison(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process_poison(delivery_of("bc-projects-poison", msg))


@bp.function_name("products_poison")
@bp.queue_trigger(arg_name="msg", queue_name="bc-products-poison", connection="AzureWebJobsStorage")
def products_poison(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process_poison(delivery_of("bc-products-poison", msg))


@bp.function_name("invoices_poison")
@bp.queue_trigger(arg_name="msg", queue_name="bc-invoices-poison", connection="AzureWebJobsStorage")
def invoices_poison(msg: func.QueueMessage) -> None:
    from functions._queue import delivery_of
    from shared.bootstrap import worker_app

    worker_app().exports.process_poison(delivery_of("bc-invoices-poison", msg))
