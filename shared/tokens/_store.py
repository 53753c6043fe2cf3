"""A connector's refresh token: the value in Key Vault, its order kept by the guard row.

Rules (the rotation guard):

1. Read the guard row first, then the token. The token read is never older than the row's generation.
2. A rotation (a worker redeemed the token) is kept only if the guard is still at the version read:
   compare-and-swap on the row, then a second look at the row right before the Key Vault write. The
   loser of a race writes nothing; its token is still valid in Entra (rotation revokes nothing) and
   simply unused.
3. A new consent writes Key Vault first, then moves the guard on whatever it holds (it always wins).
   A worker that read the previous grant's token therefore fails its compare-and-swap and cannot write
   over the new grant's token; and a reader never pairs the new generation with the old token.

What is left: a worker paused between its second look at the row and its Key Vault write (the two
calls follow each other directly) while a consent completes in that moment would still write last.
Key Vault offers no conditional write to close that; the guard narrows it to one call's latency.
"""

from __future__ import annotations

import datetime as _dt
import logging
import uuid
from dataclasses import replace
from typing import Callable

from shared.auth import StoredRefreshToken
from shared.clock import utc_now
from shared.adapters.secrets import SecretStore, refresh_token_name

from ._versions import REFRESH_TOKEN_INACTIVITY, TokenVersion, TokenVersionConflict, TokenVersionStore, iso

__all__ = ["ConnectorRefreshTokens"]

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 10


class ConnectorRefreshTokens:
    """`GuardedRefreshTokenStore` for one connector (Key Vault + `TokenVersions` row)."""

    def __init__(self, connector: str, secrets: SecretStore, versions: TokenVersionStore, *,
                 now: Callable[[], _dt.datetime] = utc_now):
        self.connector = connector
        self._secrets = secrets
        self._versions = versions
        self._now = now
        self._name = refresh_token_name(connector)

    def __repr__(self) -> str:
        return f"ConnectorRefreshTokens({self.connector!r})"

    # -- GuardedRefreshTokenStore -----------------------------------------------------------------

    def load_current(self) -> StoredRefreshToken | None:
        version = self._versions.get(self.connector)
        token = self._secrets.get_secret(self._name)
        if not token:
            return None
        return StoredRefreshToken(token, version.etag if version else None)

    def current_version(self) -> str | None:
        version = self._versions.get(self.connector)
        return version.etag if version else None

    def save_rotated(self, refresh_token: str, *, replaces: StoredRefreshToken) -> bool:
        now = self._now()
        current = self._versions.get(self.connector)
        if (current.etag if current else None) != replaces.version:
            return False
        if current is None:  # a token stored without a guard row (older data): start the guard now
            new = TokenVersion(self.connector, 1, uuid.uuid4().hex, None, "", iso(now),
                               iso(now + REFRESH_TOKEN_INACTIVITY))
        else:
            new = replace(current, generation=current.generation + 1, refreshed_at=iso(now),
                          expires_at=iso(now + REFRESH_TOKEN_INACTIVITY), expiring_notice=None)
        try:
            stored = self._versions.put(new)
        except TokenVersionConflict:
            return False
        if self.current_version() != stored.etag:  # moved on right after us: theirs is at least as new
            return False
        self._secrets.set_secret(self._name, refresh_token)
        log.debug("Connector %s: refresh token generation %d stored", self.connector, stored.generation)
        return True

    # -- RefreshTokenStore (unguarded callers) ----------------------------------------------------

    def load(self) -> str | None:
        current = self.load_current()
        return current.token if current else None

    def save(self, refresh_token: str) -> None:
        """Unconditional save, as a new grant (what a consent does)."""
        self.store_new_grant(refresh_token, consented_by=None)

    # -- consent ----------------------------------------------------------------------------------

    def store_new_grant(self, refresh_token: str, *, consented_by: str | None) -> TokenVersion:
        """Keep the first refresh token of a new consent; it replaces whatever was stored."""
        now = self._now()
        self._secrets.set_secret(self._name, refresh_token)  # first: see rule 3
        grant_id = uuid.uuid4().hex
        for _ in range(_MAX_ATTEMPTS):
            current = self._versions.get(self.connector)
            new = TokenVersion(self.connector, (current.generation if current else 0) + 1, grant_id,
                               consented_by, iso(now), iso(now), iso(now + REFRESH_TOKEN_INACTIVITY),
                               None, current.etag if current else None)
            try:
                return self._versions.put(new)
            except TokenVersionConflict:
                continue
        raise TokenVersionConflict(self.connector)

    def version(self) -> TokenVersion | None:
        return self._versions.get(self.connector)

    def note_expiring_notice(self, notice: str) -> bool:
        """Remember that a `token_expiring` notice was sent; False if the row moved meanwhile."""
        current = self._versions.get(self.connector)
        if current is None:
            return False
        try:
            self._versions.put(replace(current, expiring_notice=notice))
        except TokenVersionConflict:
            return False
        return True
