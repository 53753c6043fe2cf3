"""Delegated consent of a connector: start, callback + pages, reconnect, replay.

`ConsentService` (built by `shared.bootstrap` with its ports; tests pass fakes):
- `start(name, record=None) -> ConsentStart`: an Entra authorize URL (authorization code + PKCE S256,
  single-use state kept 10 minutes in `ConsentStates`).
- `complete(query) -> Page` / `callback(query) -> RenderedPage`: the anonymous callback and its page.
- `report(name, reason) -> bool`: the `ReconnectReporter` of exports, imports and the keep-alive: status
  `reconnect_required` once, one notification with a consent link.
- `replay(name) -> ReplaySummary`: `POST /replay`: parked then failed messages, one replay at a time.
The keep-alive is `shared.tokens.TokenUpkeep`.
"""

from ._html import PAGE_HEADERS, Page, render_page
from ._pages import unexpected_error
from ._pkce import looks_like_state, new_code_verifier, new_state, s256_challenge
from ._ports import (
    BcClientSource,
    CodeRedeemer,
    CodeRedeemers,
    ConnectorStatuses,
    FailedMessages,
    Lease,
    Leases,
    ParkingLot,
    QueueSender,
)
from ._replay import REPLAY_LEASE, REPLAY_LEASE_TTL, ReplaySummary
from ._service import CALLBACK_ROUTE, CONSENT_SCOPES, ConsentService, ConsentStart, RenderedPage, consent_hint
from ._states import CONSENT_STATE_LIFETIME, ConsentState, ConsentStateError, ConsentStateStore, take_state

__all__ = [
    "ConsentService",
    "ConsentStart",
    "RenderedPage",
    "CALLBACK_ROUTE",
    "CONSENT_SCOPES",
    "REPLAY_LEASE",
    "REPLAY_LEASE_TTL",
    "ReplaySummary",
    "Page",
    "PAGE_HEADERS",
    "render_page",
    "unexpected_error",
    "looks_like_state",
    "new_code_verifier",
    "new_state",
    "s256_challenge",
    "consent_hint",
    "ConsentState",
    "ConsentStateError",
    "ConsentStateStore",
    "CONSENT_STATE_LIFETIME",
    "take_state",
    "BcClientSource",
    "CodeRedeemer",
    "CodeRedeemers",
    "ConnectorStatuses",
    "FailedMessages",
    "Lease",
    "Leases",
    "ParkingLot",
    "QueueSender",
]
