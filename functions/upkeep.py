"""Timers that keep connectors healthy without anyone asking (docs/contract.md §1, "tokens kept alive").

`keep_tokens_fresh` (`TOKEN_KEEPALIVE_SCHEDULE`, default daily at 03:00 UTC) redeems every delegated
connector's refresh token so none reaches Entra's 90 days of inactivity, warns before one lapses for any
other reason, marks revoked grants `reconnect_required` (one notification with a consent link), and
replays parked work that is left over (`shared.tokens.TokenUpkeep`), then deletes connector secrets that no
connector row names (`ConnectorService.sweep_secrets`).
"""

from __future__ import annotations

import logging

import azure.functions as func

log = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("keep_tokens_fresh")
@bp.timer_trigger(schedule="%TOKEN_KEEPALIVE_SCHEDULE%", arg_name="timer", run_on_startup=False)
def keep_tokens_fresh(timer: func.TimerRequest) -> None:
    from shared.bootstrap import worker_app

    if timer.past_due:
        log.info("Token keep-alive is running late (past due); catching up now")
    app = worker_app()
    summary = app.upkeep.run()
    log.info("Token keep-alive done: %s", summary.to_dict())
    # The clean-up pass of connector secrets no row names (a save or delete that crashed half-way).
    removed = app.connectors.sweep_secrets()
    log.info("Secret clean-up done: %d removed", len(removed))
