"""Queue access for the dev host: connection settings, queue creation, message encoding, output bindings."""

from __future__ import annotations

import base64
import binascii
import logging
import threading
from typing import Any, Iterable, Mapping

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import LinearRetry, QueueClient, QueueServiceClient

from devtools._config import SettingError, resolve_setting_expression

__all__ = ["QueueHub", "MessageDecodeError", "output_values"]

log = logging.getLogger("devhost")


class MessageDecodeError(ValueError):
    """A message is not valid for the configured messageEncoding (host.json)."""


class QueueHub:
    """One place for queue clients, shared by triggers and output bindings.

    Clients are raw (no SDK encode/decode policies): the hub applies host.json's ``messageEncoding``
    itself, so a poison copy is byte-for-byte the message that failed. Sending to a queue wakes its
    listener at once, like the host's shared queue watcher does for messages its own functions write.
    """

    def __init__(self, environ: Mapping[str, str], message_encoding: str) -> None:
        self._environ = environ
        self.message_encoding = message_encoding
        self._services: dict[str, QueueServiceClient] = {}
        self._clients: dict[tuple[str, str], QueueClient] = {}
        self._watchers: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    # -- names and clients ---------------------------------------------------------------------

    def queue_name(self, expression: str, what: str) -> str:
        """Resolve ``%SETTING%`` and check the name as Azure Storage would (lower case, 3-63 chars)."""
        name = resolve_setting_expression(expression, self._environ, what)
        if name != name.lower() or not 3 <= len(name) <= 63:
            raise ValueError("queue name %r of %s must be lower case and 3-63 characters" % (name, what))
        return name

    def client(self, connection: str | None, queue_name: str) -> QueueClient:
        """A client for the queue; the queue is created the first time it is asked for."""
        conn = connection or "AzureWebJobsStorage"
        with self._lock:
            key = (conn, queue_name)
            if key in self._clients:
                return self._clients[key]
            service = self._services.get(conn)
            if service is None:
                # Local storage answers at once or not at all: retry briefly (the SDK default backs off
                # from 15 s, which only hides a stopped Azurite).
                service = QueueServiceClient.from_connection_string(
                    self._connection_string(conn), retry_policy=LinearRetry(backoff=1, retry_total=2,
                                                                            random_jitter_range=0))
                self._services[conn] = service
            client = service.get_queue_client(queue_name)
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            self._clients[key] = client
            return client

    def _connection_string(self, conn: str) -> str:
        value = self._environ.get(conn)
        if value:
            return value
        if any(k.startswith(conn + "__") for k in self._environ):
            raise SettingError(
                "identity-based connection %s__* is not supported by the dev host: set %s to a connection "
                "string (Azurite: UseDevelopmentStorage=true)" % (conn, conn))
        raise SettingError("app setting %r (the storage connection of a queue binding) is not set" % conn)

    def watcher(self, queue_name: str) -> threading.Event:
        with self._lock:
            return self._watchers.setdefault(queue_name, threading.Event())

    # -- encoding --------------------------------------------------------------------------------

    def decode(self, raw: str) -> bytes:
        """The body a function sees, from the stored message text."""
        if self.message_encoding == "none":
            return raw.encode("utf-8")
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MessageDecodeError(
                "message is not base64 but host.json says messageEncoding 'base64'") from exc

    def encode(self, text: str | bytes) -> str:
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        if self.message_encoding == "none":
            return data.decode("utf-8")
        return base64.b64encode(data).decode("ascii")

    # -- sending ---------------------------------------------------------------------------------

    def send(self, connection: str | None, queue_name: str, messages: Iterable[str | bytes]) -> int:
        client = self.client(connection, queue_name)
        count = 0
        for message in messages:
            client.send_message(self.encode(message))
            count += 1
        if count:
            self.watcher(queue_name).set()
        return count

    def send_raw(self, connection: str | None, queue_name: str, raw: str) -> None:
        """Send already-encoded message text (poison copies)."""
        self.client(connection, queue_name).send_message(raw)
        self.watcher(queue_name).set()


def output_values(value: Any) -> list[str | bytes]:
    """What an output binding's value means as messages: str, bytes, a QueueMessage, or a list of those."""
    if value is None:
        return []
    if isinstance(value, (str, bytes, bytearray)):
        return [value]
    if hasattr(value, "get_body"):
        return [value.get_body()]
    if isinstance(value, (list, tuple)):
        out: list[str | bytes] = []
        for item in value:
            out.extend(output_values(item))
        return out
    raise TypeError("a queue output binding takes str, bytes, QueueMessage or a list of them, got %s"
                    % type(value).__name__)


def send_outputs(hub: "QueueHub | None", invoker: Any, invocation: Any) -> list[str]:
    """Send the values of a successful invocation's queue output bindings (named ones and ``$return``).

    Raises if sending fails: the host then counts the invocation as failed. Returns a short
    description per queue written, for the log.
    """
    pending: list[tuple[Any, Any]] = [(b, invocation.outputs[b.name].get()) for b in invoker.outputs
                                      if invocation.outputs[b.name].is_set]
    rb = invoker.return_binding
    if rb is not None and rb.type == "queue":
        pending.append((rb, invocation.result))
    written = []
    for binding, value in pending:
        if binding.type != "queue":
            log.warning("Functions.%s: output binding %r of type %r is not emulated by the dev host; "
                        "its value was dropped", invoker.name, binding.name, binding.type)
            continue
        if hub is None:
            raise SettingError("Functions.%s writes to a queue but the dev host has no storage" % invoker.name)
        name = hub.queue_name(binding.queue_name, "output binding %r of %s" % (binding.name, invoker.name))
        count = hub.send(getattr(binding, "connection", None), name, output_values(value))
        if count:
            written.append("%d to %s" % (count, name))
    return written
