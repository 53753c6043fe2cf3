"""Fakes for the ports of ConnectorService, and a builder that wires them (every port given)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from shared.adapters.connector_store import InMemoryConnectorStore
from shared.adapters.secrets import InMemorySecretStore
from shared.bc import BcClient
from shared.clock import SYSTEM_CLOCK
from shared.connectors import ConnectorOptions, ConnectorRecord, ConnectorService, ConnectorSettings
from shared.jsontypes import JsonObject
from tests._schemas import check_sent


class NoBc:
    """BC clients that must not be asked for (a delegated save calls BC only after the consent)."""

    def for_record(self, record: ConnectorRecord) -> BcClient:
        raise AssertionError("no BC client was expected")

    def for_settings(self, settings: ConnectorSettings, client_secret: str | None = None) -> BcClient:
        raise AssertionError("a delegated save does not call BC before the consent")


@dataclass(frozen=True)
class Started:
    url: str


class FakeConsent:
    """Starts a consent by answering `link(record)` (which may raise)."""

    def __init__(self, link: Callable[[ConnectorRecord], str]) -> None:
        self._link = link

    def start(self, name: str, record: ConnectorRecord | None = None) -> Started:
        assert record is not None and record.name == name
        return Started(self._link(record))


@dataclass
class Recorded:
    purged: list[str] = field(default_factory=list)
    notifications: list[JsonObject] = field(default_factory=list)

    def purge(self, name: str) -> None:
        self.purged.append(name)

    def notify(self, message: JsonObject) -> None:
        check_sent("notification-message", message)
        self.notifications.append(message)

    def read(self, connector: str) -> JsonObject:
        return {}


class NoRealtime:
    """Real-time expenses switched off: nothing to subscribe, nothing to show."""

    def sync(self, record: ConnectorRecord) -> list[str]:
        return []

    def remove(self, record: ConnectorRecord) -> None:
        pass

    def view(self, record: ConnectorRecord) -> JsonObject:
        return {}


def connector_service(*, link: Callable[[ConnectorRecord], str] = lambda record: "https://login.test/",
                      app_client_id: str | None = None, recorded: Recorded | None = None) -> ConnectorService:
    recorded = recorded or Recorded()
    return ConnectorService(store=InMemoryConnectorStore(), secrets=InMemorySecretStore(), bc_clients=NoBc(),
                            consent=FakeConsent(link), purger=recorded, activity=recorded,
                            notifier=recorded, realtime=NoRealtime(), clock=SYSTEM_CLOCK,
                            options=ConnectorOptions(app_client_id=app_client_id))
