"""A webhook subscriber on loopback for the sandbox's webhook tests: records every call, answers as told."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    body: bytes
    headers: dict[str, str]

    @property
    def token(self) -> str | None:
        values = self.query.get("validationToken")
        return values[0] if values else None

    def json(self) -> dict:
        return json.loads(self.body)


def echo_token(req: Received) -> tuple[int, str]:
    """What a correct subscriber does: 200 with the token as text, 200 for notifications."""
    return (200, req.token) if req.token is not None else (200, "")


@dataclass
class Subscriber:
    answer: Callable[[Received], tuple[int, str]] = echo_token
    received: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "Subscriber":
        subscriber = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Received(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True), body,
                               dict(self.headers))
                with subscriber._lock:
                    subscriber.received.append(req)
                status, text = subscriber.answer(req)
                data = text.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return "http://127.0.0.1:%d/api/bc/notifications" % self._server.server_address[1]

    def notifications(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token is None]

    def handshakes(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.token is not None]

    def wait_for_notifications(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.notifications()
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError("expected %d notification requests, got %d" % (count, len(self.notifications())))
