"""Connectors: the settings model, its verification against BC, the stored record and its store port,
status transitions, and the settings API's use cases (`ConnectorService`: save, get, list, delete,
look-ups, view)."""

from shared.connectors._accounts import EXPENSE_CATEGORIES, category_key
from shared.connectors._lookups import LOOKUP_KINDS, UnknownLookup
from shared.connectors._record import CONNECTED_STATUSES, ConnectorRecord, ConnectorStore
from shared.connectors._service import (
    ActivityReader,
    BcClientSource,
    ConnectorDataPurger,
    ConnectorNotFound,
    ConnectorOptions,
    ConnectorService,
    ConsentStart,
    ConsentStarter,
    SaveOutcome,
    Secrets,
)
from shared.connectors._settings import (
    ITEM_TYPES,
    ConnectorSettings,
    FieldError,
    PostingGroups,
    SettingsInvalid,
    WebServices,
    parse_connector_name,
    parse_connector_settings,
    parse_put_body,
)
from shared.connectors._status import ConnectorStatuses
from shared.connectors._verify import Verification, VerifiedCompany, tax_mode_of, verify_settings

__all__ = [
    "ActivityReader",
    "BcClientSource",
    "CONNECTED_STATUSES",
    "ConnectorDataPurger",
    "ConnectorNotFound",
    "ConnectorOptions",
    "ConnectorRecord",
    "ConnectorService",
    "ConnectorSettings",
    "ConnectorStatuses",
    "ConnectorStore",
    "ConsentStart",
    "ConsentStarter",
    "EXPENSE_CATEGORIES",
    "FieldError",
    "ITEM_TYPES",
    "LOOKUP_KINDS",
    "PostingGroups",
    "SaveOutcome",
    "Secrets",
    "SettingsInvalid",
    "UnknownLookup",
    "Verification",
    "VerifiedCompany",
    "WebServices",
    "category_key",
    "parse_connector_name",
    "parse_connector_settings",
    "parse_put_body",
    "tax_mode_of",
    "verify_settings",
]
