"""Readiness: do the app's dependencies answer? One cheap call each, never Business Central.

    report = Readiness({"storage": probe_storage, "keyVault": probe_secrets}).check()
    report.ready, report.to_dict()     # {"status": "ready"|"not_ready", "version", "checks": {...}}

A probe is a callable that returns when its dependency answered and raises otherwise. The report names the
failing dependency with the error's code and class (the tree's translation, `shared/errors.py`), for the
operator who called the function-key route; the anonymous health route never runs the probes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

from shared.errors import ConnectorError
from shared.jsontypes import JsonObject
from shared.version import __version__

__all__ = ["Readiness", "ReadinessReport", "Probe", "liveness"]

Probe = Callable[[], None]


def liveness() -> JsonObject:
    """The anonymous answer: the app runs, and its version. Nothing about its dependencies."""
    return {"status": "ok", "service": "bc-connector", "version": __version__}


@dataclass(frozen=True)
class ReadinessReport:
    checks: Mapping[str, JsonObject] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return bool(self.checks) and all(c.get("status") == "ok" for c in self.checks.values())

    @property
    def http_status(self) -> int:
        return 200 if self.ready else 503

    def to_dict(self) -> JsonObject:
        return {"status": "ready" if self.ready else "not_ready", "service": "bc-connector",
                "version": __version__, "checks": {k: dict(v) for k, v in self.checks.items()}}

    @classmethod
    def unbuilt(cls, err: BaseException, names: tuple[str, ...]) -> "ReadinessReport":
        """The app could not even be built (e.g. storage refused creating its tables): every check failed."""
        failed = _failure(err)
        return cls({name: dict(failed) for name in names})


class Readiness:
    """Runs each probe once and reports per dependency."""

    def __init__(self, probes: Mapping[str, Probe]) -> None:
        self._probes = dict(probes)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._probes)

    def check(self) -> ReadinessReport:
        checks: dict[str, JsonObject] = {}
        for name, probe in self._probes.items():
            started = time.monotonic()
            try:
                probe()
            except Exception as err:  # noqa: BLE001 - every failure is a "not ready" answer, never a 500
                checks[name] = {**_failure(err), "ms": _ms(started)}
            else:
                checks[name] = {"status": "ok", "ms": _ms(started)}
        return ReadinessReport(checks)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _failure(err: BaseException) -> JsonObject:
    # The code and class only: an SDK's text can quote URLs and headers; the function logs hold the rest.
    code = err.code if isinstance(err, ConnectorError) else type(err).__name__
    return {"status": "failed", "error": code}
