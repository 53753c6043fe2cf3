"""`make run`: start Azurite, the BC sandbox and the functions, save the demo connector, keep running.

local.settings.json (copied from the example when missing) configures the functions and wins over
variables already set in the environment. Everything listens on 127.0.0.1 only. Children run in their
own process groups with their output in ``.run/*.log``; Ctrl-C (or SIGTERM, SIGHUP) stops every child
this script started, and only those, even when something failed on the way. An Azurite or sandbox that
is already running on the default ports is reused (and left running).

    python -m devtools.run [--no-demo] [--exit-after-demo] [--port N] [--sandbox-port N] [--azurite-ports B,Q,T]

Ports: the functions listen on `--port`, else local.settings.json `Host.LocalHttpPort`, else 7071; the sandbox
on `--sandbox-port` (default 8443; BC_API_URL and BC_AUTHORITY_HOST follow it); Azurite on `--azurite-ports`
(default 10000-10002; AzureWebJobsStorage then names them). Before the functions start, every queue, table
and the container bc-payloads is created. The demo saves connector `demo` only when it does not exist yet,
then runs examples/host.py: a customer, a project and an invoice, and their outcomes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import requests

from devtools._config import load_local_settings
from devtools._services import (
    AZURITE_DEFAULT_PORTS,
    Child,
    ServiceError,
    azurite_answers,
    azurite_connection_string,
    port_in_use,
    start_azurite,
    start_child,
    wait_until,
)

__all__ = ["main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
RUN_DIR = Path(".run")
SETTINGS = Path("local.settings.json")
EXAMPLE_SETTINGS = Path("local.settings.example.json")
SANDBOX_PORT = 8443
SANDBOX_URL = "https://127.0.0.1:%d" % SANDBOX_PORT
SANDBOX_STATE = Path(".sandbox")
SANDBOX_CA = SANDBOX_STATE / "ca.pem"
FUNCTIONS_PORT = 7071
FUNCTIONS_URL = "http://127.0.0.1:%d" % FUNCTIONS_PORT
AZURITE_PORTS: tuple[int, ...] = AZURITE_DEFAULT_PORTS


class _Stop(Exception):
    """SIGTERM or SIGHUP: unwind like Ctrl-C does."""


def _say(text: str = "") -> None:
    print(text, flush=True)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Stop()


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.run", description="Run bc-connector locally.")
    parser.add_argument("--no-demo", action="store_true", help="do not save the demo connector")
    parser.add_argument("--exit-after-demo", action="store_true",
                        help="stop everything after the demo instead of waiting for Ctrl-C (smoke test)")
    parser.add_argument("--port", type=int, help="the functions' port (default: Host.LocalHttpPort, else 7071)")
    parser.add_argument("--sandbox-port", type=int, default=8443, help="the BC sandbox's port (default 8443)")
    parser.add_argument("--azurite-ports", help="Azurite's blob,queue,table ports (default 10000,10001,10002)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    global FUNCTIONS_PORT, FUNCTIONS_URL, SANDBOX_PORT, SANDBOX_URL, AZURITE_PORTS

    os.chdir(REPO_ROOT)
    # Ctrl-C even when started from a script (background jobs inherit SIGINT ignored); SIGTERM and SIGHUP
    # (terminal closed) clean up too: the children live in their own sessions and would not get them.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    children: list[Child] = []
    demo_ok = True
    try:
        env = _environment()
        FUNCTIONS_PORT = args.port or int((load_local_settings(SETTINGS).get("Host") or {}).get("LocalHttpPort", 7071))
        FUNCTIONS_URL = "http://127.0.0.1:%d" % FUNCTIONS_PORT
        SANDBOX_PORT, SANDBOX_URL = args.sandbox_port, "https://127.0.0.1:%d" % args.sandbox_port
        if args.sandbox_port != 8443:
            env["BC_API_URL"] = env["BC_AUTHORITY_HOST"] = SANDBOX_URL
        if args.azurite_ports:
            AZURITE_PORTS = tuple(int(p) for p in args.azurite_ports.split(","))
            env["AzureWebJobsStorage"] = azurite_connection_string(*AZURITE_PORTS)
        _check_functions_port_free()
        azurite = _azurite(children)
        _storage(env)
        sandbox = _sandbox(children, env)
        functions = _functions(children, env)
        if not args.no_demo:
            _say("")
            _say("== Demo: connector 'demo' through the HTTP API ==")
            demo_ok = _demo(env)
            if demo_ok:
                _say("")
                _say("== Demo: a host sends a customer, a project and an invoice (examples/host.py) ==")
                demo_ok = _example_host(env)
        _say("")
        _say("== Running ==")
        _say("  Azurite (Azure Storage emulator: blobs, queues, tables)  queue http://127.0.0.1:%d, table "
             "http://127.0.0.1:%d  %s" % (AZURITE_PORTS[1], AZURITE_PORTS[2], azurite))
        _say("  BC sandbox (Business Central + Entra ID stand-in)  %s  %s" % (SANDBOX_URL, sandbox))
        _say("  Functions (%s)  %s/api  %s" % (
            "func start" if shutil.which("func") else "dev host: python -m devtools.devhost", FUNCTIONS_URL,
            functions))
        _say("")
        _say("  Try: curl %s/api/connectors/demo   (every route: docs/requests.http)" % FUNCTIONS_URL)
        _say("       curl -X POST %s/admin/functions/import_expenses -H 'Content-Type: application/json' -d '{}'"
             "   (fire a timer now)" % FUNCTIONS_URL)
        if not demo_ok:
            _say("  The demo did not save the connector (see above); the services keep running so you can look.")
        if args.exit_after_demo:
            return 0 if demo_ok else 1
        _say("")
        _say("Press Ctrl-C to stop.")
        while True:
            for child in children:
                if not child.running:
                    _say("")
                    _say("%s stopped unexpectedly (exit code %s). Last lines of %s:\n%s" % (
                        child.name, child.process.returncode, child.log_path, child.log_tail()))
                    return 1
            time.sleep(1)
    except (KeyboardInterrupt, _Stop):
        _say("")
        _say("Stopping...")
        return 0 if demo_ok else 1
    except ServiceError as exc:
        _say("")
        _say("Could not start: %s" % exc)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        for child in reversed(children):
            code = child.stop()
            _say("Stopped %s (exit code %s)." % (child.name, code))
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _environment() -> dict[str, str]:
    """This process's environment with local.settings.json Values on top.

    Unlike `func start` (where variables already set win), local.settings.json wins here: `make run` is
    the app as that file configures it, and a machine-wide REQUESTS_CA_BUNDLE (common on corporate
    machines) would otherwise make the sandbox's certificate untrusted. Overridden names are listed.
    """
    if not SETTINGS.exists():
        shutil.copyfile(EXAMPLE_SETTINGS, SETTINGS)
        _say("Created %s from %s (local defaults: Azurite and the BC sandbox). Edit it to change settings."
             % (SETTINGS, EXAMPLE_SETTINGS))
    try:
        values = load_local_settings(SETTINGS).get("Values", {})
    except ValueError as exc:
        raise ServiceError("%s is not valid: %s" % (SETTINGS, exc)) from exc
    env = dict(os.environ)
    overridden = []
    for name, value in values.items():
        value = "" if value is None else str(value)
        if name in env and env[name] != value:
            overridden.append(name)
        env[name] = value
    if overridden:
        _say("Using %s for %s (your environment had other values)." % (SETTINGS, ", ".join(sorted(overridden))))
    return env


def _check_functions_port_free() -> None:
    if port_in_use(FUNCTIONS_PORT):
        raise ServiceError("port %d is already in use (another `make run`, `func start` or dev host?). "
                           "Stop it first." % FUNCTIONS_PORT)


def _azurite(children: list[Child]) -> str:
    ports = AZURITE_PORTS
    busy = [p for p in ports if port_in_use(p)]
    if busy:
        if all(azurite_answers(p) for p in ports):
            _say("Azurite is already running on 127.0.0.1:%d-%d: using it (it was not started here, so it "
                 "keeps running afterwards)." % (ports[0], ports[-1]))
            return "(already running, not managed here)"
        raise ServiceError("ports %s are in use by something that is not Azurite; free them (Azurite needs "
                           "10000-10002)" % ", ".join(str(p) for p in busy))
    log_path = RUN_DIR / "azurite.log"
    _say("Starting Azurite (storage emulator) on 127.0.0.1:%d-%d, data in .azurite/ ..." % (ports[0], ports[-1]))
    children.append(start_azurite(ports, location=Path(".azurite"), log_path=log_path))
    return "log %s" % log_path


def _sandbox_world(ca: Path) -> bool:
    if not ca.exists():
        return False
    return requests.get(SANDBOX_URL + "/_sandbox/world", verify=str(ca), timeout=2).status_code == 200


def _sandbox(children: list[Child], env: dict[str, str]) -> str:
    if port_in_use(SANDBOX_PORT):
        try:
            reusable = _sandbox_world(SANDBOX_CA)
        except requests.RequestException:
            reusable = False
        if reusable:
            _say("The BC sandbox is already running on %s: using it (it keeps running afterwards)." % SANDBOX_URL)
            return "(already running, not managed here)"
        raise ServiceError("port %d is in use by something that is not the BC sandbox (no answer to "
                           "GET /_sandbox/world trusting %s)" % (SANDBOX_PORT, SANDBOX_CA))
    log_path = RUN_DIR / "sandbox.log"
    _say("Starting the BC sandbox on %s (state and CA in %s/) ..." % (SANDBOX_URL, SANDBOX_STATE))
    child = start_child("BC sandbox", [sys.executable, "-m", "sandbox", "--port", str(SANDBOX_PORT),
                                       "--state-dir", str(SANDBOX_STATE)], log_path=log_path, env=env)
    children.append(child)
    wait_until(lambda: _sandbox_world(SANDBOX_CA), timeout=60, child=child,
               what="answering GET %s/_sandbox/world" % SANDBOX_URL)
    return "log %s" % log_path


def _storage(env: dict[str, str]) -> None:
    """Every queue, table and the container bc-payloads, before anything polls them (the app's own
    composition root creates them; the same happens when a worker builds its app)."""
    from shared.adapters.secrets import InMemorySecretStore
    from shared.bootstrap import build_adapters

    build_adapters(env, secrets=InMemorySecretStore())
    _say("Created the queues, tables and container bc-payloads in Azurite (those that were missing).")


def _functions(children: list[Child], env: dict[str, str]) -> str:
    log_path = RUN_DIR / "functions.log"
    if shutil.which("func"):
        argv = ["func", "start", "--port", str(FUNCTIONS_PORT)]
        # Core Tools starts the Python worker with the `python` it finds on PATH: make it this venv's.
        env = dict(env, PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
                   VIRTUAL_ENV=str(Path(sys.executable).parent.parent))
        _say("Starting the functions with Azure Functions Core Tools (func start) on %s ..." % FUNCTIONS_URL)
        timeout = 180
    else:
        argv = [sys.executable, "-m", "devtools.devhost", "--port", str(FUNCTIONS_PORT)]
        _say("Starting the functions on %s with the dev host (Core Tools `func` is not installed; "
             "devtools/devhost.py stands in for it locally) ..." % FUNCTIONS_URL)
        timeout = 60
    child = start_child("Functions", argv, log_path=log_path, env=env)
    children.append(child)

    def healthy() -> bool:
        return requests.get(FUNCTIONS_URL + "/api/health", timeout=2).status_code == 200

    wait_until(healthy, timeout=timeout, child=child, what="answering GET %s/api/health" % FUNCTIONS_URL)
    return "log %s" % log_path


def _demo(env: dict[str, str]) -> bool:
    import subprocess

    result = subprocess.run([sys.executable, "-m", "devtools.demo", "--base-url", FUNCTIONS_URL,
                             "--sandbox-url", SANDBOX_URL, "--ca", str(SANDBOX_CA)], env=env, check=False)
    return result.returncode == 0


def _example_host(env: dict[str, str]) -> bool:
    import subprocess

    result = subprocess.run([sys.executable, str(REPO_ROOT / "examples" / "host.py"), "--connector", "demo",
                             "--timeout", "120"], env=env, check=False)
    return result.returncode == 0


if __name__ == "__main__":
    sys.exit(main())
