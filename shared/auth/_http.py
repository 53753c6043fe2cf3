"""The HTTP side of token acquisition: one pooled session per worker and the adapter MSAL calls.

MSAL applies no timeout to an `http_client` we hand it (its own `timeout=` only reaches the session it
builds itself), so the adapter adds one to every call. It also remembers the last error answer, because
MSAL turns a failed tenant discovery into a ValueError that drops Entra's error body (msal 1.39
authority.py, `Authority.__init__`), and that body says whether the tenant exists.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any, Mapping

import requests

__all__ = ["default_session", "MsalHttpClient", "ErrorAnswer"]

_session: requests.Session | None = None
_session_lock = threading.Lock()

#: (connect, read) seconds for token requests: Entra answers in well under a second when healthy.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)


def default_session() -> requests.Session:
    """The worker's session for Entra, built on first use (cold start) and shared by all credentials.

    `trust_env` stays on, so REQUESTS_CA_BUNDLE (the local sandbox's certificate) and proxies apply.
    """
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                session = requests.Session()
                adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _session = session
    return _session


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer from Entra, reduced to what classification needs (never the request)."""

    status: int
    payload: Mapping[str, Any]
    retry_after: float | None


class MsalHttpClient:
    """msal.oauth2cli.http.HttpClient over a requests.Session, with timeouts and error capture.

    One instance per credential; the credential serialises calls with its lock, so `last_error` is
    the answer of the call in progress.
    """

    def __init__(self, session: requests.Session, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self._session = session
        self._timeout = timeout
        self.last_error: ErrorAnswer | None = None

    def get(self, url: str, params: Any = None, headers: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._record(self._session.get(url, params=params, headers=headers, **kwargs))

    def post(self, url: str, params: Any = None, data: Any = None, headers: Any = None,
             **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        kwargs.setdefault("allow_redirects", False)
        return self._record(self._session.post(url, params=params, data=data, headers=headers, **kwargs))

    def close(self) -> None:
        """MSAL may call this; the session is shared by the worker, so it stays open."""

    def _record(self, response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            try:
                payload = json.loads(response.text)
            except ValueError:
                payload = {}
            self.last_error = ErrorAnswer(
                status=response.status_code,
                payload=payload if isinstance(payload, dict) else {},
                retry_after=_retry_after_seconds(response.headers.get("Retry-After")),
            )
        return response


def _retry_after_seconds(value: str | None) -> float | None:
    # Entra sends Retry-After in seconds only (msal throttled_http_client.py, RetryAfterParser).
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
