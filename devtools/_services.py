"""Child processes for `make run` and `make test`: start in their own process group, wait, stop.

Every child gets its own process group (``start_new_session``), so Ctrl-C in the terminal reaches only
the parent, which then stops its children in order, and stopping a child also stops anything it spawned.
Only processes started here are ever signalled.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

__all__ = [
    "AZURITE_ACCOUNT_KEY",
    "AZURITE_DEFAULT_PORTS",
    "Child",
    "ServiceError",
    "azurite_answers",
    "azurite_connection_string",
    "start_azurite_on_free_ports",
    "free_ports",
    "port_in_use",
    "start_azurite",
    "start_child",
    "wait_until",
]

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Azurite's well-known development account key (public, documented by Microsoft; not a secret).
AZURITE_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZURITE_DEFAULT_PORTS = (10000, 10001, 10002)  # blob, queue, table


class ServiceError(RuntimeError):
    """A service could not be started; the message says which and where its log is."""


@dataclass
class Child:
    """A process this tool started, with its log file."""

    name: str
    process: subprocess.Popen
    log_path: Path | None

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to the child's process group, then SIGKILL after ``timeout``. Returns the exit code."""
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        else:
            # The leader is gone; make sure nothing it spawned lingers in its group.
            _signal_group(self.process.pid, signal.SIGTERM)
        return self.process.returncode

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the group id is the child's pid (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


def start_child(name: str, argv: Sequence[str], *, log_path: Path | None, env: dict[str, str] | None = None,
                cwd: Path = REPO_ROOT) -> Child:
    """Start ``argv`` in a new session; stdout and stderr go to ``log_path`` (or are discarded)."""
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "wb")
    else:
        out = open(os.devnull, "wb")
    try:
        process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()
    return Child(name, process, log_path)


def wait_until(check: Callable[[], bool], *, timeout: float, child: Child | None = None, what: str) -> None:
    """Poll ``check`` until true; fail early if ``child`` exits, and with its log tail on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if child is not None and not child.running:
            raise ServiceError("%s exited (code %s) before %s.%s" % (
                child.name, child.process.returncode, what, _tail_note(child)))
        if time.monotonic() > deadline:
            raise ServiceError("%s: not %s after %ds.%s" % (
                child.name if child else "service", what, timeout, _tail_note(child) if child else ""))
        time.sleep(0.1)


def _tail_note(child: Child) -> str:
    tail = child.log_tail()
    where = " Log: %s" % child.log_path if child.log_path else ""
    return "%s%s" % (where, ("\n--- last lines ---\n" + tail) if tail else "")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def free_ports(count: int) -> list[int]:
    """Ports the OS says are free right now (bound together, so they are distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def azurite_connection_string(blob: int, queue: int, table: int) -> str:
    """The explicit connection string (UseDevelopmentStorage=true only knows the default ports)."""
    return ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;"
            "BlobEndpoint=http://127.0.0.1:%d/devstoreaccount1;QueueEndpoint=http://127.0.0.1:%d/devstoreaccount1;"
            "TableEndpoint=http://127.0.0.1:%d/devstoreaccount1;" % (AZURITE_ACCOUNT_KEY, blob, queue, table))


def azurite_answers(port: int) -> bool:
    """True if an Azurite service answers on this port (its ``Server`` header says Azurite)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/devstoreaccount1?comp=list")
        return conn.getresponse().getheader("Server", "").startswith("Azurite")
    except OSError:
        return False
    finally:
        conn.close()


def start_azurite(ports: Sequence[int] = AZURITE_DEFAULT_PORTS, *, location: Path | None = None,
                  log_path: Path | None = None, timeout: float = 30.0, cwd: Path = REPO_ROOT) -> Child:
    """Start Azurite 3.35.0 from node_modules on 127.0.0.1; in memory unless ``location`` is given.

    ``--skipApiVersionCheck``: the Python SDKs send API versions newer than Azurite knows.
    ``--disableTelemetry``: Azurite 3.35 otherwise sends telemetry to Application Insights.
    """
    exe = REPO_ROOT / "node_modules" / ".bin" / "azurite"
    if not exe.exists():
        raise ServiceError("Azurite is not installed (%s is missing): run `make install`" % exe.relative_to(REPO_ROOT))
    blob, queue, table = ports
    argv = [str(exe), "--silent", "--skipApiVersionCheck", "--disableTelemetry",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", str(blob), "--queuePort", str(queue), "--tablePort", str(table)]
    if location is None:
        argv.append("--inMemoryPersistence")
    else:
        location.mkdir(parents=True, exist_ok=True)
        argv += ["--location", str(location)]
    child = start_child("Azurite", argv, log_path=log_path, cwd=cwd)
    try:
        wait_until(lambda: all(port_in_use(p) for p in ports), timeout=timeout, child=child,
                   what="listening on ports %d-%d" % (blob, table) if (blob, table) == (blob, blob + 2)
                   else "listening on ports %d, %d, %d" % (blob, queue, table))
    except BaseException:
        child.stop()
        raise
    return child


def start_azurite_on_free_ports(*, log_path: Path | None, cwd: Path = REPO_ROOT, attempts: int = 3
                                ) -> tuple[Child, str]:
    """Azurite in memory on ports the OS reports free; returns it and its explicit connection string.

    A port can be taken between choosing it and Azurite binding it, so a failed start chooses again.
    """
    last_error: Exception | None = None
    for _ in range(attempts):
        ports = free_ports(3)
        try:
            return start_azurite(ports, log_path=log_path, cwd=cwd), azurite_connection_string(*ports)
        except ServiceError as exc:
            last_error = exc
    raise ServiceError("Azurite did not start after %d attempts: %s" % (attempts, last_error))

