"""Azure Storage adapters: clients from app settings, tables and queues created on first use, and the
ETag-guarded leases of table `Locks` (`TableLeaseStore`, `InMemoryLeaseStore`)."""

from shared.adapters._lease import InMemoryLeaseStore, Lease, LeaseLost, LeaseStore, TableLeaseStore
from shared.adapters._queues import decode_queue_text, ensure_queue
from shared.adapters._settings import (
    STORAGE_SETTING,
    CredentialFactory,
    default_azure_credential,
    queue_service_from_settings,
    table_service_from_settings,
)
from shared.adapters._tables import (
    MAX_TRANSACTION_OPERATIONS,
    delete_partitions,
    ensure_table,
    from_table_key,
    table_key,
)

__all__ = [
    "STORAGE_SETTING",
    "CredentialFactory",
    "default_azure_credential",
    "table_service_from_settings",
    "queue_service_from_settings",
    "ensure_table",
    "ensure_queue",
    "delete_partitions",
    "table_key",
    "from_table_key",
    "decode_queue_text",
    "MAX_TRANSACTION_OPERATIONS",
    "Lease",
    "LeaseLost",
    "LeaseStore",
    "TableLeaseStore",
    "InMemoryLeaseStore",
]
