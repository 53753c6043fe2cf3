"""Delegated consent and the token lifecycle: start, callback, keep-alive, reconnect, replay.

Use cases (all take a `ConsentDeps`, built by `Services.consent_deps()`):
- `start_consent(name, deps)`: an Entra authorize URL (authorization code + PKCE S256, single-use
  state kept 10 minutes in `ConsentStates`).
- `complete_consent(query, deps) -> Page`: the anonymous callback; `render_page(page)` draws it.
- `report_reconnect_required(name, reason, deps)`: a revoked grant seen anywhere: status
  `reconnect_required`, one notification with a consent link.
- `replay_connector(name, deps)`: re-enqueue parked (and failed) messages in order, one replay at a time.
- `keep_tokens_fresh(deps)`: the timer's job.
"""

from ._deps import ConsentDeps
from ._flow import (
    CALLBACK_ROUTE,
    CONSENT_SCOPES,
    ConsentStart,
    complete_consent,
    consent_redirect_uri,
    start_consent,
    update_record,
)
from ._keepalive import EXPIRING_THRESHOLDS_DAYS, KeepAliveSummary, keep_tokens_fresh
from ._outcomes import unexpected_error
from ._pages import PAGE_HEADERS, Page, render_page
from ._pkce import looks_like_state, new_code_verifier, new_state, s256_challenge
from ._reconnect import consent_hint, report_reconnect_required
from ._replay import REPLAY_LEASE, REPLAY_LEASE_TTL, ReplaySummary, replay_connector
from ._states import (
    CONSENT_STATE_LIFETIME,
    ConsentState,
    ConsentStateError,
    ConsentStateStore,
    InMemoryConsentStateStore,
    TableConsentStateStore,
)

__all__ = [
    "ConsentDeps",
    "ConsentStart",
    "start_consent",
    "complete_consent",
    "consent_redirect_uri",
    "update_record",
    "CALLBACK_ROUTE",
    "CONSENT_SCOPES",
    "KeepAliveSummary",
    "keep_tokens_fresh",
    "EXPIRING_THRESHOLDS_DAYS",
    "REPLAY_LEASE",
    "REPLAY_LEASE_TTL",
    "Page",
    "PAGE_HEADERS",
    "render_page",
    "unexpected_error",
    "looks_like_state",
    "new_code_verifier",
    "new_state",
    "s256_challenge",
    "report_reconnect_required",
    "consent_hint",
    "ReplaySummary",
    "replay_connector",
    "ConsentState",
    "ConsentStateError",
    "ConsentStateStore",
    "TableConsentStateStore",
    "InMemoryConsentStateStore",
    "CONSENT_STATE_LIFETIME",
]
