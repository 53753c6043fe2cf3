"""host.json and local.settings.json, read the way the Functions host reads them (the parts the dev host uses)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, MutableMapping

__all__ = [
    "HostConfig",
    "QueueSettings",
    "SettingError",
    "apply_settings",
    "load_local_settings",
    "parse_timespan",
    "resolve_setting_expression",
]

_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


class SettingError(LookupError):
    """An app setting the app refers to (``%NAME%``, a connection name) is not set."""


def parse_timespan(text: str) -> float:
    """``[d.]hh:mm:ss[.fffffff]`` (a .NET TimeSpan, as host.json uses) to seconds."""
    m = _TIMESPAN.match(str(text).strip())
    if not m:
        raise ValueError("%r is not a timespan like 00:00:30" % (text,))
    days, hours, minutes, seconds, fraction = m.groups()
    total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
    return total + (float("0." + fraction) if fraction else 0.0)


@dataclass(frozen=True)
class QueueSettings:
    """``extensions.queues`` of host.json, with the host's defaults (Storage extension 5.x)."""

    batch_size: int = 16
    new_batch_threshold: int | None = None  # None: batch_size // 2 (one instance)
    max_dequeue_count: int = 5
    visibility_timeout: float = 0.0
    max_polling_interval: float = 60.0
    message_encoding: str = "base64"

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 32:
            raise ValueError("queues.batchSize must be 1-32 (Azure Storage returns at most 32), got %r"
                             % self.batch_size)
        if self.new_batch_threshold is not None and self.new_batch_threshold < 0:
            raise ValueError("queues.newBatchThreshold must not be negative")
        if self.max_dequeue_count < 1:
            raise ValueError("queues.maxDequeueCount must be at least 1")
        if self.message_encoding not in ("base64", "none"):
            raise ValueError("queues.messageEncoding must be 'base64' or 'none', got %r" % self.message_encoding)

    @property
    def threshold(self) -> int:
        """Fetch the next batch when the messages in flight drop to this number."""
        return self.batch_size // 2 if self.new_batch_threshold is None else self.new_batch_threshold

    @property
    def max_in_flight(self) -> int:
        """The host's per-function, per-instance concurrency: batchSize + newBatchThreshold."""
        return self.batch_size + self.threshold

    @classmethod
    def from_host_json(cls, host: Mapping[str, Any]) -> "QueueSettings":
        q = (host.get("extensions") or {}).get("queues") or {}
        defaults = cls()
        return cls(
            batch_size=int(q.get("batchSize", defaults.batch_size)),
            new_batch_threshold=(int(q["newBatchThreshold"]) if "newBatchThreshold" in q else None),
            max_dequeue_count=int(q.get("maxDequeueCount", defaults.max_dequeue_count)),
            visibility_timeout=(parse_timespan(q["visibilityTimeout"]) if "visibilityTimeout" in q
                                else defaults.visibility_timeout),
            max_polling_interval=(parse_timespan(q["maxPollingInterval"]) if "maxPollingInterval" in q
                                  else defaults.max_polling_interval),
            message_encoding=str(q.get("messageEncoding", defaults.message_encoding)).lower(),
        )


@dataclass(frozen=True)
class HostConfig:
    """What the dev host takes from host.json."""

    queues: QueueSettings
    route_prefix: str = "api"
    function_timeout: float | None = None  # seconds; None = unbounded

    @classmethod
    def from_dict(cls, host: Mapping[str, Any]) -> "HostConfig":
        if str(host.get("version")) != "2.0":
            raise ValueError("host.json must say \"version\": \"2.0\" (Functions v2+), got %r" % host.get("version"))
        http = (host.get("extensions") or {}).get("http") or {}
        timeout = host.get("functionTimeout")
        return cls(
            queues=QueueSettings.from_host_json(host),
            route_prefix=str(http.get("routePrefix", "api")).strip("/"),
            function_timeout=None if timeout in (None, "-1", -1) else parse_timespan(timeout),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "HostConfig":
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            return cls(queues=QueueSettings())
        return cls.from_dict(data)


def load_local_settings(path: str | os.PathLike) -> dict[str, Any]:
    """The whole local.settings.json (``Values``, ``Host``, ...), or {} if the file does not exist."""
    p = Path(path)
    if not p.exists():
        return {}
    with p.open(encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data.get("Values", {}), dict):
        raise ValueError("%s: \"Values\" must be an object of strings" % p)
    return data


def apply_settings(values: Mapping[str, Any], environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Copy settings into the environment without overriding what is already set (as `func start` does).

    Returns the names that were applied.
    """
    env = os.environ if environ is None else environ
    applied = []
    for name, value in values.items():
        if name in env:
            continue
        env[name] = "" if value is None else str(value)
        applied.append(name)
    return applied


def resolve_setting_expression(text: str, environ: Mapping[str, str], what: str) -> str:
    """Replace ``%NAME%`` with the app setting NAME, as binding expressions do; ``what`` goes in errors."""

    def lookup(m: re.Match) -> str:
        name = m.group(1)
        value = environ.get(name)
        if value is None or value == "":
            raise SettingError("app setting %r (used as %%%s%% in %s) is not set" % (name, name, what))
        return value

    return re.sub(r"%([^%]+)%", lookup, text)
