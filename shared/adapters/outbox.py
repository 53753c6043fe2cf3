"""What the use cases send to the host: outcomes on `bc-outcomes` (counted on the connector's activity)
and notifications on `bc-notifications`, as plain UTF-8 JSON through the worker's `QueueSender`."""

from __future__ import annotations

from typing import Mapping, Protocol

from shared.jsontypes import JsonValue

from .names import QUEUES

__all__ = ["QueueNotifier", "OutcomeOutbox"]


class _Sender(Protocol):
    def send_json(self, queue: str, payload: Mapping[str, JsonValue]) -> None: ...


class _Activity(Protocol):
    def record_export_outcome(self, outcome: Mapping[str, JsonValue]) -> None: ...


class QueueNotifier:
    """Sends each notification to `bc-notifications`."""

    def __init__(self, queues: _Sender) -> None:
        self._queues = queues

    def notify(self, message: Mapping[str, JsonValue]) -> None:
        self._queues.send_json(QUEUES["notifications"], message)


class OutcomeOutbox:
    """Sends each outcome to `bc-outcomes`, then counts it on the connector's activity (best effort)."""

    def __init__(self, queues: _Sender, activity: _Activity) -> None:
        self._queues, self._activity = queues, activity

    def send_outcome(self, outcome: Mapping[str, JsonValue]) -> None:
        self._queues.send_json(QUEUES["outcomes"], outcome)
        self._activity.record_export_outcome(outcome)
