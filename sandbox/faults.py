"""Injected failures and added latency (`POST/DELETE /_sandbox/faults`, `PUT /_sandbox/latency`).

A fault rule answers the next N requests that match an optional method and path regex with one of the
failures a BC client must survive (docs/business-central.md §4):
    "429"   Application_TooManyRequests, with or without Retry-After
    "502"   Bad gateway, with Retry-After ("data-plane services temporarily unavailable")
    "503"   Service unavailable, with Retry-After
    "504"   Gateway timeout ("split the request; do not retry as-is")
    "drop"  the connection is closed without any answer (the client sees a connection error)

The path regex is searched (`re.search`) in the request path as sent, percent-encoding included, without
the query string. Without a path, a rule matches BC API/OData requests only (`/v2.0/...`); give a path
such as `/oauth2/v2.0/token` to fail Entra requests instead.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass

__all__ = ["Faults", "FaultRule", "FAULT_TYPES"]

FAULT_TYPES = ("429", "502", "503", "504", "drop")
_DEFAULT_PATH = re.compile(r"^/v2\.0/")
_DEFAULT_RETRY_AFTER = {"502": 1, "503": 1}  # Microsoft documents Retry-After for 502 and 503


@dataclass
class FaultRule:
    id: int
    type: str
    remaining: int
    retry_after: int | None
    method: str | None
    path: re.Pattern[str] | None

    def matches(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method and self.method != method.upper():
            return False
        return bool((self.path or _DEFAULT_PATH).search(path))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "type": self.type,
            "remaining": self.remaining,
            "retryAfter": self.retry_after,
            "method": self.method,
            "path": self.path.pattern if self.path else None,
        }


class Faults:
    """Thread-safe list of fault rules plus the added latency for BC requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self.latency_ms = 0

    def add(self, spec: dict) -> FaultRule:
        kind = str(spec.get("type", ""))
        if kind not in FAULT_TYPES:
            raise ValueError(f"fault type must be one of {', '.join(FAULT_TYPES)}")
        count = spec.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError("count must be a positive integer")
        retry_after = spec.get("retryAfter", _DEFAULT_RETRY_AFTER.get(kind))
        if retry_after is not None and (not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0):
            raise ValueError("retryAfter must be a non-negative integer (seconds) or null")
        if kind in ("504", "drop"):
            retry_after = None
        method = spec.get("method")
        path = spec.get("path")
        try:
            pattern = re.compile(path) if path else None
        except re.error as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from exc
        rule = FaultRule(next(self._ids), kind, count, retry_after, method.upper() if method else None, pattern)
        with self._lock:
            self._rules.append(rule)
        return rule

    def take(self, method: str, path: str) -> FaultRule | None:
        """Consumes one use of the first matching rule, if any."""
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def set_latency(self, ms: int | float) -> None:
        if isinstance(ms, bool) or not isinstance(ms, (int, float)) or ms < 0:
            raise ValueError("ms must be a non-negative number")
        self.latency_ms = ms

    def reset(self) -> None:
        self.clear()
        self.latency_ms = 0

    def to_json(self) -> dict:
        with self._lock:
            return {"rules": [r.to_json() for r in self._rules], "latencyMs": self.latency_ms}
