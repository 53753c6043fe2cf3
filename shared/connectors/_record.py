"""A stored connector and the port of the store that keeps it.

The store parses the settings document once, when it reads a row, so every use case gets a typed
`ConnectorSettings`; the adapters (`shared.adapters.connector_store`) are the only code that knows the
row layout of table `Connectors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shared.jsontypes import JsonObject

from ._settings import ConnectorSettings

__all__ = ["ConnectorRecord", "ConnectorStore", "CONNECTED_STATUSES"]

#: Statuses in which a connector's BC client may be used (delegated ones have a grant).
CONNECTED_STATUSES = ("connected", "disabled")


@dataclass
class ConnectorRecord:
    """One connector as stored: settings without secrets, status and resolved BC ids."""

    name: str
    settings: ConnectorSettings
    status: str  # consent_required | connected | reconnect_required | disabled
    company_id: str | None
    company_name: str | None
    tax_mode: str | None  # salesTax | vat
    refresh_token_expires_at: str | None
    stats: JsonObject = field(default_factory=dict)
    company_country: str | None = None  # the company's country code: domestic vs abroad customers
    client_secret_source: str | None = None  # "connector" (own Key Vault secret) | "app" (bc-client-secret)
    #: The Key Vault secret this row uses when the source is "connector" (the row decides which is current).
    client_secret_name: str | None = None
    created_at: str = ""  # ISO-8601 UTC; the caller's clock, or the store's when left empty
    updated_at: str = ""  # the caller sets it on each write; the store fills it only when empty
    etag: str | None = None


class ConnectorStore(Protocol):
    """Where connectors live (`shared.adapters.connector_store`: Table Storage and an in-memory twin).

    `get` raises SettingsInvalid (field `connector`) when a stored document no longer parses; `list`
    leaves such rows out (and logs them). `create` raises ConflictError when the name exists, `update`
    when the row changed or was deleted since it was read (its ETag moved); both raise InvalidInput when
    the record would not fit in a table entity (TooLarge: HTTP 413).
    """

    def get(self, name: str) -> ConnectorRecord | None: ...

    def list(self) -> list[ConnectorRecord]: ...

    def create(self, record: ConnectorRecord) -> ConnectorRecord: ...

    def update(self, record: ConnectorRecord) -> ConnectorRecord: ...

    def delete(self, name: str, etag: str | None = None) -> bool:
        """Delete the row (only if its ETag is still `etag`, when given: else ConflictError)."""
        ...

    def check_fits(self, record: ConnectorRecord) -> None:
        """Raise TooLarge (naming the biggest fields) when the record would not fit in a row."""
        ...
