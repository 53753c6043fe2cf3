"""Connectors: the settings model, its verification against BC, the store, and the settings API's
use cases (save, get, list, delete, look-ups)."""

from shared.connectors._lookups import LOOKUP_KINDS, UnknownLookup
from shared.connectors._service import (
    BcConnection,
    ConnectorConflict,
    ConnectorDeps,
    ConnectorNotFound,
    SaveOutcome,
    connection_for,
    delete_connector,
    get_connector,
    list_connectors,
    lookup,
    save_connector,
    view_connector,
)
from shared.connectors._settings import (
    ConnectorSettings,
    FieldError,
    PostingGroups,
    SettingsInvalid,
    WebServices,
    parse_connector_name,
    parse_connector_settings,
    parse_put_body,
)
from shared.connectors._status import mark_connected, mark_reconnect_required
from shared.connectors._store import (
    ConcurrentUpdateError,
    ConnectorAlreadyExists,
    ConnectorRecord,
    ConnectorStore,
    InMemoryConnectorStore,
    TableConnectorStore,
)
from shared.connectors._verify import Verification, VerifiedCompany, tax_mode_of, verify_settings

__all__ = [
    "BcConnection",
    "ConcurrentUpdateError",
    "ConnectorAlreadyExists",
    "ConnectorConflict",
    "ConnectorDeps",
    "ConnectorNotFound",
    "ConnectorRecord",
    "ConnectorSettings",
    "ConnectorStore",
    "FieldError",
    "InMemoryConnectorStore",
    "LOOKUP_KINDS",
    "PostingGroups",
    "SaveOutcome",
    "SettingsInvalid",
    "TableConnectorStore",
    "UnknownLookup",
    "Verification",
    "VerifiedCompany",
    "WebServices",
    "connection_for",
    "delete_connector",
    "get_connector",
    "list_connectors",
    "mark_connected",
    "mark_reconnect_required",
    "lookup",
    "parse_connector_name",
    "parse_connector_settings",
    "parse_put_body",
    "save_connector",
    "tax_mode_of",
    "verify_settings",
    "view_connector",
]
