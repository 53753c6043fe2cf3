"""Calling one registered function the way the Python worker does: bind arguments, run, log one line."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

import azure.functions as func
from azure.functions import _abc as func_abc

__all__ = ["Invocation", "FunctionInvoker", "OutValue"]

log = logging.getLogger("devhost")


class OutValue(func.Out):
    """The object passed for an output binding (``func.Out[...]``); the host reads it after success."""

    def __init__(self) -> None:
        self._value: Any = None
        self.is_set = False

    def set(self, val: Any) -> None:
        self._value = val
        self.is_set = True

    def get(self) -> Any:
        return self._value


class _TraceContext(func_abc.TraceContext):
    def __init__(self) -> None:
        self._parent = "00-%s-%s-01" % (uuid.uuid4().hex, uuid.uuid4().hex[:16])

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return self._parent

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class _RetryContext(func_abc.RetryContext):
    def __init__(self, retry_count: int, max_retry_count: int, exception: Any = None) -> None:
        self._count, self._max, self._exception = retry_count, max_retry_count, exception

    @property
    def retry_count(self) -> int:
        return self._count

    @property
    def max_retry_count(self) -> int:
        return self._max

    @property
    def exception(self) -> Any:
        return self._exception


class _Context(func.Context):
    _tls = threading.local()

    def __init__(self, invocation_id: str, function_name: str, retry: _RetryContext) -> None:
        self._id, self._name, self._retry = invocation_id, function_name, retry
        self._trace = _TraceContext()

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def thread_local_storage(self) -> Any:
        return self._tls

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return "."

    @property
    def trace_context(self) -> Any:
        return self._trace

    @property
    def retry_context(self) -> Any:
        return self._retry


@dataclass
class Invocation:
    """What happened in one call: the outcome, the return value and the output bindings' values."""

    function: str
    invocation_id: str
    succeeded: bool
    duration_ms: float
    result: Any = None
    outputs: dict[str, OutValue] = field(default_factory=dict)
    error: BaseException | None = None


class FunctionInvoker:
    """Wraps one ``azure.functions`` Function: knows its trigger, output bindings and parameters."""

    def __init__(self, function: Any) -> None:
        self.function = function
        self.name: str = function.get_function_name()
        self.trigger = function.get_trigger()
        self.user_function: Callable[..., Any] = function.get_user_function()
        bindings = function.get_bindings()
        self.outputs = [b for b in bindings if _direction(b) == "OUT" and b.name != "$return"]
        self.return_binding = next((b for b in bindings if _direction(b) == "OUT" and b.name == "$return"), None)
        self.extra_inputs = [b for b in bindings if _direction(b) == "IN" and b is not self.trigger
                             and b.name != self.trigger.name]
        params = inspect.signature(self.user_function).parameters
        bound = {b.name for b in bindings}
        self.wants_context = next((n for n in params if n not in bound and n == "context"), None)
        self.is_async = inspect.iscoroutinefunction(self.user_function)

    @property
    def trigger_type(self) -> str:
        return self.trigger.type

    def invoke(self, trigger_value: Any, *, retry_count: int = 0, max_retry_count: int = 0,
               extra: dict[str, Any] | None = None) -> Invocation:
        """Run the function once. Never raises: the outcome, result and outputs are in the Invocation."""
        invocation_id = str(uuid.uuid4())
        outs = {b.name: OutValue() for b in self.outputs}
        kwargs: dict[str, Any] = {self.trigger.name: trigger_value, **outs}
        for b in self.extra_inputs:
            kwargs.setdefault(b.name, None)
        if extra:
            kwargs.update(extra)
        if self.wants_context:
            kwargs[self.wants_context] = _Context(invocation_id, self.name,
                                                  _RetryContext(retry_count, max_retry_count))
        start = time.perf_counter()
        try:
            result = self.user_function(**kwargs)
            if inspect.isawaitable(result):
                result = asyncio.run(_await(result))
        except Exception as exc:  # the function failed; the trigger decides what happens next
            return Invocation(self.name, invocation_id, False, _ms_since(start), outputs=outs, error=exc)
        return Invocation(self.name, invocation_id, True, _ms_since(start), result=result, outputs=outs)

    def log_result(self, inv: Invocation, describe: str) -> None:
        """One line per invocation, like the host's "Executed 'Functions.x' (Succeeded, Id=..., Duration=...)"."""
        log.info("Executed 'Functions.%s' (%s, %s, Id=%s, Duration=%dms)", self.name,
                 "Succeeded" if inv.succeeded else "Failed", describe, inv.invocation_id, inv.duration_ms)
        if inv.error is not None:
            err = inv.error
            log.error("Functions.%s failed: %s: %s", self.name, type(err).__name__, err,
                      exc_info=(type(err), err, err.__traceback__))


def _ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _direction(binding: Any) -> str:
    d = getattr(binding, "direction", None)
    name = getattr(d, "name", None)
    if name:
        return name
    return {0: "IN", 1: "OUT", 2: "INOUT"}.get(d, str(d))
