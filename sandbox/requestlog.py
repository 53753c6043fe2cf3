"""A numbered log of every request the sandbox answered (`GET /_sandbox/requests?since=<seq>`).

Benchmarks count BC requests per exported entity from it; tests check what a client really sent. Entries
never contain secrets: query parameters that can carry credentials are masked, bodies are not kept.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode

__all__ = ["RequestLog", "LogEntry", "RequestInfo", "redact_query"]

_SECRET_PARAMS = {
    "client_secret", "code", "code_verifier", "refresh_token", "access_token", "client_assertion", "id_token",
    "password", "assertion",
}


@dataclass
class LogEntry:
    seq: int
    time: str
    requestId: str
    kind: str  # "bc", "entra" or "other"
    method: str
    path: str
    query: str
    status: int | None  # None when the connection was dropped on purpose
    principal: str | None  # Principal.limit_key for BC requests
    durationMs: float
    batchOperations: int = 1
    fault: str | None = None
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = asdict(self)
        extra = data.pop("extra")
        data.update(extra)
        return data


@dataclass
class RequestInfo:
    """What the pipeline learns about a request while answering it; logged once the answer is sent."""

    request_id: str
    kind: str
    principal: str | None = None
    batch_operations: int = 1
    fault: str | None = None
    extra: dict = field(default_factory=dict)


def redact_query(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, "***" if k.lower() in _SECRET_PARAMS else v) for k, v in pairs])


class RequestLog:
    """Thread-safe, bounded (oldest entries drop off); sequence numbers keep increasing across clears."""

    def __init__(self, capacity: int = 100_000):
        self._lock = threading.Lock()
        self._entries: collections.deque[LogEntry] = collections.deque(maxlen=capacity)
        self._seq = 0

    def append(self, **values) -> LogEntry:
        with self._lock:
            self._seq += 1
            entry = LogEntry(
                seq=self._seq,
                time=datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                **values,
            )
            self._entries.append(entry)
            return entry

    def since(self, seq: int = 0, kind: str | None = None) -> list[LogEntry]:
        with self._lock:
            return [e for e in self._entries if e.seq > seq and (kind is None or e.kind == kind)]

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
