"""The worker's HTTP session for Business Central: built on first use, shared by every BcClient.

One pool per worker keeps TLS connections to BC alive across invocations. BC processes 5 requests per
user at once and queues up to 95 more (bc_api.md §4), so a pool of 32 covers a worker's threads
without opening connections BC would only queue. `trust_env` stays on, so REQUESTS_CA_BUNDLE (the
local sandbox's certificate) and proxy settings apply as in plain requests. Retries are ours
(`RetryPolicy`), so the adapter makes none.
"""

from __future__ import annotations

import threading

import requests

__all__ = ["default_session", "POOL_SIZE"]

POOL_SIZE = 32

_session: requests.Session | None = None
_lock = threading.Lock()


def default_session() -> requests.Session:
    global _session
    if _session is None:
        with _lock:
            if _session is None:
                session = requests.Session()
                adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE, max_retries=0)
                session.mount("https://", adapter)
                session.mount("http://", adapter)
                _session = session
    return _session
