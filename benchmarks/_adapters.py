"""The benchmarks' adapters: the composition root's real ones (`build_adapters`), with secrets in memory,
notifications dropped and no Azure credential (storage is a local Azurite, by connection string)."""

from __future__ import annotations

from typing import Any, Mapping

from shared.adapters.secrets import SecretStore
from shared.bootstrap import Adapters, build_adapters


class DroppedNotifications:
    """The benchmarks' notifier: notifications are not what is measured, so they go nowhere."""

    def notify(self, message: Mapping[str, Any]) -> None:
        pass


def _no_azure_credential(**_: object) -> Any:
    raise RuntimeError("the benchmarks use Azurite's connection string, never an Azure credential")


def bench_adapters(environ: Mapping[str, str], *, secrets: SecretStore, **overrides: Any) -> Adapters:
    """`build_adapters(environ)` with `secrets` in memory and notifications dropped; keyword arguments go to
    `build_adapters` (e.g. `gates=`)."""
    return build_adapters(environ, secrets=secrets, notifier=DroppedNotifications(),
                          credential_factory=_no_azure_credential, **overrides)
