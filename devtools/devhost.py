"""A local stand-in for the Azure Functions host. DEVELOPMENT TOOL ONLY: production code never imports it.

Azure Functions Core Tools (``func``) cannot be installed on every machine (its installer downloads a
binary), so ``make run`` falls back to this runner when ``func`` is not on PATH. It loads the real
registrations of ``function_app.app`` and drives them with the host's semantics, as far as they matter
for developing and testing this app:

- HTTP triggers on 127.0.0.1:7071 (``/api/<route>``, route templates, methods, 404/405). Auth levels are
  not enforced, as with ``func start``.
- Queue triggers polling Azure Storage (Azurite) per host.json ``extensions.queues``: batchSize,
  newBatchThreshold, visibilityTimeout, maxDequeueCount then ``<queue>-poison``, messageEncoding.
- Timer triggers on their NCRONTAB schedules (UTC), run_on_startup and retry policies.
- Queue output bindings (``func.Out`` or ``$return``), sent only when the function succeeds.
- ``local.settings.json`` Values applied to the environment, without overriding what is already set.

What it is not: the real host (no extension bundles, no function keys, no scale-out, no lease renewal,
no functionTimeout cancellation, no ``use_monitor`` persistence). Verify deployment behaviour in Azure.

Usage::

    python -m devtools.devhost [--port 7071] [--no-queues] [--no-timers]

In tests::

    host = DevHost(app, environ, port=0, queues=False)
    host.start(); ...; host.poll_queues_once(); ...; host.stop()
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from werkzeug.serving import WSGIRequestHandler, make_server

from devtools._config import (
    HostConfig,
    QueueSettings,
    SettingError,
    apply_settings,
    load_local_settings,
    resolve_setting_expression,
)
from devtools._http import HttpFrontend, HttpRoute
from devtools._invoke import FunctionInvoker, Invocation
from devtools._ncrontab import NCrontabError, NCrontabSchedule
from devtools._queues import QueueListener, QueueOutcome
from devtools._routes import RouteTemplate, RouteTemplateError
from devtools._storage import QueueHub, send_outputs
from devtools._timers import TimerRunner

__all__ = [
    "DevHost",
    "HostConfig",
    "NCrontabError",
    "NCrontabSchedule",
    "QueueOutcome",
    "QueueSettings",
    "RouteTemplate",
    "RouteTemplateError",
    "SettingError",
    "apply_settings",
    "load_local_settings",
    "main",
]

log = logging.getLogger("devhost")

REPO_ROOT = Path(__file__).resolve().parents[1]


class DevHost:
    """Runs one FunctionApp's functions locally.

    ``app`` is a ``func.FunctionApp`` (its ``get_functions()`` is called once: a second call raises in
    azure-functions 1.26) or the list that call returned. ``environ`` supplies ``%SETTING%`` values and
    connection strings (default: ``os.environ``). ``queue_settings`` overrides host.json's queue section
    (tests shorten visibilityTimeout and maxPollingInterval this way).
    """

    def __init__(self, app: Any, environ: Mapping[str, str] | None = None, *,
                 host_json: str | os.PathLike | Mapping[str, Any] = REPO_ROOT / "host.json",
                 bind: str = "127.0.0.1", port: int = 7071, queues: bool = True, timers: bool = True,
                 queue_settings: QueueSettings | None = None) -> None:
        functions = app.get_functions() if hasattr(app, "get_functions") else list(app)
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.config = (HostConfig.from_dict(host_json) if isinstance(host_json, Mapping)
                       else HostConfig.load(host_json))
        if queue_settings is not None:
            self.config = replace(self.config, queues=queue_settings)
        self.bind, self.port = bind, port
        self.queues_enabled, self.timers_enabled = queues, timers
        self.invokers = [FunctionInvoker(f) for f in functions]
        self._hub: QueueHub | None = None
        self._listeners: list[QueueListener] | None = None
        self._timers: list[TimerRunner] = []
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self.http = HttpFrontend(
            [HttpRoute.from_invoker(i) for i in self.invokers if i.trigger_type == "httpTrigger"],
            route_prefix=self.config.route_prefix, send_outputs=self._send_outputs, admin=self._fire_on_demand)
        self._check_triggers()

    # -- public API ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return "http://%s:%d" % (self.bind, self.port)

    def start(self) -> "DevHost":
        """Serve HTTP, start queue listeners and timers (as enabled); returns self."""
        self._server = make_server(self.bind, self.port, self.http, threaded=True,
                                   request_handler=_QuietRequestHandler)
        self.port = self._server.server_port
        self._server_thread = threading.Thread(target=self._serve, name="devhost-http",
                                               daemon=True)
        self._server_thread.start()
        for line in self.describe():
            log.info("%s", line)
        try:
            if self.queues_enabled:
                for listener in self.listeners:
                    listener.start()
            if self.timers_enabled:
                self._timers = [self._timer_runner(i) for i in self.invokers if i.trigger_type == "timerTrigger"]
                for t in self._timers:
                    t.start()
        except BaseException:
            self.stop()
            raise
        return self

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=0.1)  # shutdown() waits up to one poll interval

    def stop(self) -> None:
        """Stop taking work, let invocations in flight finish, close the HTTP server."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for t in self._timers:
            t.stop()
        if self._listeners:
            for listener in self._listeners:
                listener.stop()
            self._listeners = None

    def __enter__(self) -> "DevHost":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def listeners(self) -> list[QueueListener]:
        """Queue listeners, built (and their queues created) on first use."""
        if self._listeners is None:
            self._listeners = [QueueListener(i, self.hub, self.config.queues,
                                             lease_seconds=int(self.config.function_timeout or 600))
                               for i in self.invokers if i.trigger_type == "queueTrigger"]
        return self._listeners

    @property
    def hub(self) -> QueueHub:
        if self._hub is None:
            self._hub = QueueHub(self.environ, self.config.queues.message_encoding)
        return self._hub

    def poll_queues_once(self) -> list[QueueOutcome]:
        """Every queue trigger fetches one batch and processes it; returns what happened to each message.

        For deterministic tests: use with ``queues=False`` so no background listener competes.
        """
        outcomes: list[QueueOutcome] = []
        for listener in self.listeners:
            outcomes.extend(listener.poll_once())
        return outcomes

    def run_timer(self, name: str) -> Invocation:
        """Fire a timer function now (as the portal's "Test/Run" does)."""
        invoker = next(i for i in self.invokers if i.name == name and i.trigger_type == "timerTrigger")
        return self._timer_runner(invoker).fire(reason="run manually")

    def _fire_on_demand(self, name: str) -> bool:
        """`POST /admin/functions/{name}`: fire timer `name` in the background; False when there is none."""
        if not any(i.name == name and i.trigger_type == "timerTrigger" for i in self.invokers):
            return False
        threading.Thread(target=self.run_timer, args=(name,), name="devhost-admin-%s" % name, daemon=True).start()
        return True

    def describe(self) -> list[str]:
        """The startup banner: every function and how it is triggered."""
        lines = ["bc-connector dev host (a development stand-in for the Azure Functions host)", "", "Functions:"]
        prefix = "/" + self.config.route_prefix if self.config.route_prefix else ""
        for i in self.invokers:
            t = i.trigger
            if i.trigger_type == "httpTrigger":
                route = HttpRoute.from_invoker(i)
                methods = ",".join(sorted(route.methods)) if len(route.methods) < 8 else "ALL"
                lines.append("    %s: [%s] %s%s/%s" % (i.name, methods, self.base_url, prefix, route.template.template))
            elif i.trigger_type == "queueTrigger":
                state = "" if self.queues_enabled else " (listening disabled)"
                lines.append("    %s: queueTrigger %s%s" % (i.name, self._show_setting(t.queue_name), state))
            elif i.trigger_type == "timerTrigger":
                state = "" if self.timers_enabled else " (timers disabled)"
                lines.append("    %s: timerTrigger %s%s" % (i.name, self._show_setting(t.schedule), state))
            else:
                lines.append("    %s: %s (not emulated: never triggered)" % (i.name, i.trigger_type))
        q = self.config.queues
        lines += ["",
                  "Queues: batchSize %d, newBatchThreshold %d (at most %d in flight per function), "
                  "maxDequeueCount %d, visibilityTimeout %gs, maxPollingInterval %gs, messageEncoding %s"
                  % (q.batch_size, q.threshold, q.max_in_flight, q.max_dequeue_count, q.visibility_timeout,
                     q.max_polling_interval, q.message_encoding),
                  "Auth levels are not enforced locally (like func start): no function keys are needed."]
        return lines

    # -- internals -------------------------------------------------------------------------------

    def _show_setting(self, expression: str) -> str:
        """``%NAME%`` expressions with their current value, for the banner."""
        if "%" not in expression:
            return expression
        try:
            return "%s (%s)" % (resolve_setting_expression(expression, self.environ, "banner"), expression)
        except SettingError:
            return "%s (not set!)" % expression

    def _send_outputs(self, invoker: FunctionInvoker, inv: Invocation) -> list[str]:
        needs_hub = any(b.type == "queue" for b in invoker.outputs) or (
            invoker.return_binding is not None and invoker.return_binding.type == "queue")
        return send_outputs(self.hub if needs_hub else None, invoker, inv)

    def _timer_runner(self, invoker: FunctionInvoker) -> TimerRunner:
        expression = resolve_setting_expression(invoker.trigger.schedule, self.environ,
                                                "the schedule of %s" % invoker.name)
        return TimerRunner(invoker, NCrontabSchedule.parse(expression), send_outputs=self._send_outputs)

    def _check_triggers(self) -> None:
        """Fail at start-up, naming the function, rather than at the first message or tick."""
        for i in self.invokers:
            if i.trigger_type == "timerTrigger" and self.timers_enabled:
                self._timer_runner(i)
            for b in i.extra_inputs:
                log.warning("Functions.%s: input binding %r of type %r is not emulated; it receives None",
                            i.name, b.name, b.type)


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log: each invocation already logs one line (and 404/405 are not invocations)."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass


# -- command line ------------------------------------------------------------------------------------

def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.devhost",
                                     description="Run the function app locally without Core Tools "
                                                 "(development only).")
    parser.add_argument("--port", type=int, default=None, help="HTTP port (default: local.settings.json "
                        "Host.LocalHttpPort, else 7071)")
    parser.add_argument("--no-queues", action="store_true", help="do not listen to queues")
    parser.add_argument("--no-timers", action="store_true", help="do not run timer triggers")
    parser.add_argument("--app", default="function_app:app", help="module:attribute of the FunctionApp "
                        "(default function_app:app)")
    parser.add_argument("--settings", default="local.settings.json", help="settings file (default "
                        "local.settings.json; missing is fine)")
    args = parser.parse_args(list(argv) if argv is not None else None)

    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", stream=sys.stdout)
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    os.chdir(REPO_ROOT)  # like `func start` in the project folder: relative paths in settings resolve here
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    try:
        settings = load_local_settings(args.settings)
    except ValueError as exc:
        log.error("Cannot read %s: %s", args.settings, exc)
        return 2
    values = settings.get("Values", {})
    shadowed = sorted(n for n, v in values.items() if n in os.environ and os.environ[n] != str(v))
    applied = apply_settings(values)
    if settings:
        log.info("Applied %d settings from %s (variables already set win)", len(applied), args.settings)
    if shadowed:
        log.warning("The environment overrides %s of %s (as with func start)", ", ".join(shadowed), args.settings)
    port = args.port if args.port is not None else int((settings.get("Host") or {}).get("LocalHttpPort", 7071))

    module_name, _, attr = args.app.partition(":")
    try:
        app = getattr(importlib.import_module(module_name), attr or "app")
    except Exception:
        log.exception("Could not load the function app %s", args.app)
        return 1
    try:
        host = DevHost(app, os.environ, port=port, queues=not args.no_queues, timers=not args.no_timers)
        host.start()
    except Exception as exc:  # settings, schedules, routes, the port, storage: say which, then stop
        log.error("The dev host could not start: %s: %s", type(exc).__name__, exc)
        return 1

    stopping = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    log.info("Host started on %s. Press Ctrl-C to stop.", host.base_url)
    while not stopping.wait(1.0):
        pass
    log.info("Stopping: waiting for invocations in flight...")
    host.stop()
    log.info("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
