"""Azure adapters, generic ones: clients from app settings, tables and queues created on first use,
conditional row writes (`write_if_unchanged`, for `shared.guarded.guarded_update`), Azure Storage errors
translated into the error tree (`storage_errors`), the ETag-guarded leases of table `Locks`
(`TableLeaseStore`, `InMemoryLeaseStore`). The queue sender is `shared.adapters.queues`, the HTTP session
`shared.adapters.http`; per-table adapters live in modules of their own and are not imported here."""

from shared.adapters._errors import storage_errors, translate_storage_error
from shared.adapters._lease import InMemoryLeaseStore, Lease, LeaseLost, LeaseStore, TableLeaseStore
from shared.adapters._queues import decode_queue_text, ensure_queue
from shared.adapters._settings import (
    STORAGE_SETTING,
    CredentialFactory,
    blob_service_from_settings,
    default_azure_credential,
    queue_service_from_settings,
    table_service_from_settings,
)
from shared.adapters._tables import (
    MAX_TRANSACTION_OPERATIONS,
    delete_if_unchanged,
    delete_partitions,
    ensure_table,
    from_table_key,
    row_etag,
    table_key,
    write_if_unchanged,
)

__all__ = [
    "STORAGE_SETTING",
    "CredentialFactory",
    "default_azure_credential",
    "table_service_from_settings",
    "queue_service_from_settings",
    "blob_service_from_settings",
    "ensure_table",
    "ensure_queue",
    "delete_partitions",
    "write_if_unchanged",
    "delete_if_unchanged",
    "row_etag",
    "storage_errors",
    "translate_storage_error",
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
