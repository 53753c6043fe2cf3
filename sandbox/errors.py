"""BC's error envelope, shared by every part of the sandbox.

BC answers errors as {"error": {"code": ..., "message": "...  CorrelationId:  <guid>."}}
(docs/business-central.md §5, from use-odata-batch.md and Simple.OData.Client#667).
"""

from __future__ import annotations

import json
import uuid

from werkzeug.wrappers import Response


class BcApiError(Exception):
    """Raised anywhere inside a BC request handler; turned into BC's error body once, at the edge."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, correlation_id: str) -> dict:
        return {"error": {"code": self.code, "message": f"{self.message}  CorrelationId:  {correlation_id}."}}

    def to_response(self, correlation_id: str | None = None) -> Response:
        correlation_id = correlation_id or str(uuid.uuid4())
        headers = {"request-id": correlation_id, "ms-correlation-x": correlation_id, **self.headers}
        return Response(
            json.dumps(self.body(correlation_id)),
            status=self.status,
            headers=headers,
            content_type="application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8",
        )
