"""A TCP proxy that adds a round trip: every chunk is forwarded `delay/2` after it arrived, in each direction.

Run in its own process (so its work does not share the benchmark's interpreter lock):

    python -m benchmarks._latency_proxy --target 127.0.0.1:10001 --delay-ms 5
    -> prints "proxy ready on 127.0.0.1:<port>"

Local Azurite answers in well under a millisecond of network time; Azure Storage is a few milliseconds away
from a Functions instance in the same region. With this proxy in front of Azurite, a request pays the added
round trip as it would against the real service, so the benchmark shows what sending concurrently buys
there. Chunks of one direction keep their order (each connection has one forwarding thread per direction).
"""

from __future__ import annotations

import argparse
import heapq
import socket
import threading
import time


def _pump(source: socket.socket, target: socket.socket, delay: float) -> None:
    """Read from `source`, forward each chunk `delay` seconds after it arrived, in order."""
    pending: list[tuple[float, int, bytes]] = []
    ready = threading.Condition()
    closed = False
    order = 0

    def forward() -> None:
        while True:
            with ready:
                while not pending and not closed:
                    ready.wait()
                if not pending:
                    break
                due, _, chunk = pending[0]
                wait = due - time.monotonic()
                if wait > 0:
                    ready.wait(wait)
                    continue
                heapq.heappop(pending)
            try:
                target.sendall(chunk)
            except OSError:
                break
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    sender = threading.Thread(target=forward, daemon=True)
    sender.start()
    while True:
        try:
            chunk = source.recv(65536)
        except OSError:
            chunk = b""
        with ready:
            if not chunk:
                closed = True
                ready.notify()
                break
            order += 1
            heapq.heappush(pending, (time.monotonic() + delay, order, chunk))
            ready.notify()
    sender.join()


def _serve(client: socket.socket, target: tuple[str, int], delay: float) -> None:
    try:
        upstream = socket.create_connection(target)
    except OSError:
        client.close()
        return
    for s in (client, upstream):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    back = threading.Thread(target=_pump, args=(upstream, client, delay / 2), daemon=True)
    back.start()
    _pump(client, upstream, delay / 2)
    back.join()
    client.close()
    upstream.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--delay-ms", type=float, required=True, help="added round trip, in milliseconds")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"proxy ready on 127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_serve, args=(client, (host, int(port)), args.delay_ms / 1000), daemon=True).start()


if __name__ == "__main__":
    main()
