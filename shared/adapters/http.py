"""The worker's one HTTP session (Business Central and Entra ID alike) and the one Retry-After parser.

One pool per worker keeps TLS connections alive across invocations. BC processes 5 requests per user at
once and queues up to 95 more, so a pool of 32 per host covers a worker's threads without opening
connections BC would only queue. `trust_env` stays on, so REQUESTS_CA_BUNDLE (the local sandbox's
certificate) and proxy settings apply as in plain requests. Retries are the callers' (`RetryPolicy` for
BC, MSAL's own for Entra), so the adapter makes none.
"""

from __future__ import annotations

import datetime
import email.utils
import threading
import time

import requests

__all__ = ["default_session", "new_session", "parse_retry_after", "POOL_SIZE"]

POOL_SIZE = 32

_session: requests.Session | None = None
_lock = threading.Lock()


def new_session() -> requests.Session:
    """A pooled session that makes no retries of its own."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def default_session() -> requests.Session:
    """The worker's session, built on first use (not at import: cold start) and shared by every client."""
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                _session = new_session()
    return _session


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    A date in the past means 0; garbage means "not given" (None). `now` is epoch seconds (tests).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000" dates parse naive; HTTP dates are always GMT
        when = when.replace(tzinfo=datetime.timezone.utc)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)
