"""The guard row of a connector's refresh token: which generation is current, and since when.

Key Vault keeps the token itself (`connector-{name}-refresh-token`) but has no ETags on values, so a
write there cannot be made conditional. The row can: table `TokenVersions`, PartitionKey = the
connector, RowKey `refresh-token`, columns `generation` (counts stored tokens), `grantId` (one per
consent), `consentedBy`, `consentedAt`, `refreshedAt`, `expiresAt` (90 days of inactivity after
`refreshedAt`), `expiringNotice` (the last `token_expiring` notice sent). Every write is ETag-guarded;
`shared.errors.ConflictError` means someone else wrote first: re-read and decide again. No token, hash or
other secret is stored in the row. The stores are `shared.adapters.token_versions`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Protocol

__all__ = ["TokenVersion", "TokenVersionStore", "REFRESH_TOKEN_ROW", "REFRESH_TOKEN_INACTIVITY"]

REFRESH_TOKEN_ROW = "refresh-token"
#: Entra refresh tokens lapse after 90 days without use; every redemption starts the 90 days again
#: (https://learn.microsoft.com/entra/identity-platform/refresh-tokens).
REFRESH_TOKEN_INACTIVITY = _dt.timedelta(days=90)


@dataclass(frozen=True)
class TokenVersion:
    connector: str
    generation: int
    grant_id: str
    consented_by: str | None
    consented_at: str
    refreshed_at: str
    expires_at: str
    expiring_notice: str | None = None
    etag: str | None = None  # None: not stored yet


class TokenVersionStore(Protocol):
    def get(self, connector: str) -> TokenVersion | None: ...

    def put(self, version: TokenVersion) -> TokenVersion:
        """Create (etag None) or replace (etag of the row read); raises `ConflictError` when the row
        appeared, changed or vanished since it was read."""
        ...

    def delete(self, connector: str) -> None: ...
