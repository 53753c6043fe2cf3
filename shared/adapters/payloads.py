"""The claim-check blobs (docs/contract.md §4 "Claim check"): a message's `dataRef` names a blob of container
`bc-payloads` in the app's storage account; the export reads it through `PayloadStore.read`.

`BlobPayloadStore` on Azure Blob Storage and `InMemoryPayloadStore` for use-case tests behave alike: the
bytes of the blob, at most `max_bytes + 1` of them (so the caller sees a blob that is too large without
reading all of it), or None when the blob (or the container) does not exist. Storage errors are
translated by `storage_errors` (busy or away: `TransientError`, so the queue redelivers).

The app never writes or deletes these blobs: the host owns them (docs/host-integration.md).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

from ._errors import storage_errors

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.storage.blob import ContainerClient

__all__ = ["BlobPayloadStore", "InMemoryPayloadStore", "ensure_container"]

_created: set[str] = set()
_created_lock = threading.Lock()


def ensure_container(container: "ContainerClient") -> "ContainerClient":
    """Create `container` if needed, once per process."""
    from azure.core.exceptions import ResourceExistsError

    key = container.url.lower()
    if key in _created:
        return container
    with _created_lock:
        if key in _created:
            return container
        with storage_errors(f"container {container.container_name}"):
            try:
                container.create_container()
            except ResourceExistsError:
                pass
        _created.add(key)
    return container


class BlobPayloadStore:
    """Reads blobs of one container (`bc-payloads`), given as a factory so it is built on first use."""

    def __init__(self, container: Callable[[], "ContainerClient"]) -> None:
        self._container = container

    def read(self, blob: str, max_bytes: int) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        client = self._container().get_blob_client(blob)
        with storage_errors(f"blob {blob}"):
            try:
                downloader = client.download_blob()
            except ResourceNotFoundError:  # the blob, or the container itself, is not there
                return None
            if downloader.size > max_bytes:
                return downloader.read(max_bytes + 1)
            return downloader.readall()


class InMemoryPayloadStore:
    """The same answers from a dict of blob name → bytes (`put`, `delete` for tests)."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, blob: str, content: bytes) -> None:
        with self._lock:
            self._blobs[blob] = bytes(content)

    def delete(self, blob: str) -> None:
        with self._lock:
            self._blobs.pop(blob, None)

    def read(self, blob: str, max_bytes: int) -> bytes | None:
        with self._lock:
            content = self._blobs.get(blob)
        return None if content is None else content[:max_bytes + 1]
