"""The webhook use cases' rows: `WebhookSubscriptions` (`SubscriptionStore`) and `ImportRequests`
(`ImportRequestRows`) in Table Storage, the `bc-import-requests` queue (`RequestQueue`), and their in-memory
twins (one contract suite runs both: tests/integration/webhooks/test_webhook_adapters.py).

Never a clientState here: it lives in Key Vault (`connector-{name}-webhook-state`).
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

from shared.errors import ConflictError
from shared.webhooks import ImportRequest, Subscription

from ._errors import storage_errors

if TYPE_CHECKING:  # pragma: no cover - typing only
    from azure.data.tables import TableClient
    from azure.storage.queue import QueueClient

__all__ = ["TableSubscriptionStore", "InMemorySubscriptionStore", "TableImportRequestRows",
           "InMemoryImportRequestRows", "QueueRequestQueue", "InMemoryRequestQueue"]

_REQUEST_ROW = "request"
_SUB_FIELDS = ("state", "subscription_id", "resource", "notification_url", "expires_at", "bc_etag", "error",
               "updated_at")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _sub_entity(s: Subscription) -> dict[str, Any]:
    return {"PartitionKey": s.connector, "RowKey": s.entity_set, **{_camel(f): getattr(s, f) for f in _SUB_FIELDS}}


def _sub_from(entity: Any) -> Subscription:
    return Subscription(connector=entity["PartitionKey"], entity_set=entity["RowKey"],
                        **{f: str(entity.get(_camel(f)) or "") for f in _SUB_FIELDS})


class TableSubscriptionStore:
    def __init__(self, table: "TableClient") -> None:
        self._table = table

    def list(self, connector: str) -> list[Subscription]:
        with storage_errors(f"webhook subscriptions of {connector}"):
            rows = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": connector})
            return [_sub_from(r) for r in rows]

    def list_all(self) -> list[Subscription]:
        with storage_errors("webhook subscriptions"):
            return [_sub_from(r) for r in self._table.list_entities()]

    def put(self, subscription: Subscription) -> Subscription:
        from azure.data.tables import UpdateMode

        with storage_errors(f"webhook subscription of {subscription.connector}"):
            self._table.upsert_entity(_sub_entity(subscription), mode=UpdateMode.REPLACE)
        return subscription

    def delete(self, connector: str, entity_set: str) -> None:
        with storage_errors(f"webhook subscription of {connector}"):
            self._table.delete_entity(partition_key=connector, row_key=entity_set)


class InMemorySubscriptionStore:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Subscription] = {}
        self._lock = threading.Lock()

    def list(self, connector: str) -> list[Subscription]:
        with self._lock:
            return [s for (c, _), s in sorted(self.rows.items()) if c == connector]

    def list_all(self) -> list[Subscription]:
        with self._lock:
            return [s for _, s in sorted(self.rows.items())]

    def put(self, subscription: Subscription) -> Subscription:
        with self._lock:
            self.rows[(subscription.connector, subscription.entity_set)] = subscription
        return subscription

    def delete(self, connector: str, entity_set: str) -> None:
        with self._lock:
            self.rows.pop((connector, entity_set), None)


def _request_entity(r: ImportRequest) -> dict[str, Any]:
    return {"PartitionKey": r.connector, "RowKey": _REQUEST_ROW, "queued": r.queued, "queuedAt": r.queued_at,
            "runs": r.runs, "coalesced": r.coalesced}


class TableImportRequestRows:
    def __init__(self, table: "TableClient") -> None:
        self._table = table

    def get(self, connector: str) -> ImportRequest | None:
        from azure.core.exceptions import ResourceNotFoundError

        with storage_errors(f"import request of {connector}"):
            try:
                e = self._table.get_entity(connector, _REQUEST_ROW)
            except ResourceNotFoundError:
                return None
        return ImportRequest(connector=connector, queued=bool(e.get("queued")), queued_at=str(e.get("queuedAt") or ""),
                             runs=int(e.get("runs") or 0), coalesced=int(e.get("coalesced") or 0),
                             etag=e.metadata.get("etag"))

    def put(self, request: ImportRequest) -> ImportRequest:
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        with storage_errors(f"import request of {request.connector}"):
            try:
                if request.etag is None:
                    meta = self._table.create_entity(_request_entity(request))
                else:
                    meta = self._table.update_entity(_request_entity(request), mode=UpdateMode.REPLACE,
                                                     etag=request.etag, match_condition=MatchConditions.IfNotModified)
            except ResourceNotFoundError as err:  # deleted meanwhile
                raise ConflictError(f"import request of {request.connector} was deleted meanwhile.") from err
        return replace(request, etag=meta.get("etag"))


class InMemoryImportRequestRows:
    def __init__(self) -> None:
        self.rows: dict[str, ImportRequest] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def get(self, connector: str) -> ImportRequest | None:
        with self._lock:
            return self.rows.get(connector)

    def put(self, request: ImportRequest) -> ImportRequest:
        with self._lock:
            current = self.rows.get(request.connector)
            if (current.etag if current else None) != request.etag:
                raise ConflictError(f"import request of {request.connector} changed meanwhile.")
            stored = replace(request, etag=f'W/"{next(self._counter)}"')
            self.rows[request.connector] = stored
            return stored


class QueueRequestQueue:
    """`{"connector": name}` on `bc-import-requests`; a delay is the message's initial invisibility."""

    def __init__(self, queue_client: "Callable[[], QueueClient]") -> None:
        self._queue_client = queue_client

    def send(self, connector: str, *, delay_seconds: int = 0) -> None:
        with storage_errors("queue bc-import-requests"):
            self._queue_client().send_message(json.dumps({"connector": connector}),
                                              visibility_timeout=delay_seconds or None)


class InMemoryRequestQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def send(self, connector: str, *, delay_seconds: int = 0) -> None:
        with self._lock:
            self.sent.append((connector, delay_seconds))

    def texts(self) -> list[str]:
        with self._lock:
            return [json.dumps({"connector": c}) for c, _ in self.sent]


