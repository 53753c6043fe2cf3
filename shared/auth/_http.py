"""The HTTP side of token acquisition: the adapter MSAL calls, over the worker's one session
(`shared.adapters.http.default_session`).

MSAL applies no timeout to an `http_client` we hand it (its own `timeout=` only reaches the session it
builds itself), so the adapter adds one to every call. It also remembers the last error answer, because
MSAL turns a failed tenant discovery into a ValueError that drops Entra's error body (msal 1.39
authority.py, `Authority.__init__`), and that body says whether the tenant exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

import requests

from shared.adapters.http import parse_retry_after
from shared.jsontypes import JsonValue

__all__ = ["MsalHttpClient", "ErrorAnswer", "DEFAULT_TIMEOUT"]

#: (connect, read) seconds for token requests: Entra answers in well under a second when healthy.
DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer from Entra, reduced to what classification needs (never the request)."""

    status: int
    payload: Mapping[str, JsonValue]
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

    def get(self, url: str, params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
            **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self._timeout)
        return self._record(self._session.get(url, params=params, headers=headers, **kwargs))

    def post(self, url: str, params: Mapping[str, str] | None = None, data: Mapping[str, str] | str | None = None,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
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
                # Entra sends seconds (msal throttled_http_client.py, RetryAfterParser); dates parse too.
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        return response

