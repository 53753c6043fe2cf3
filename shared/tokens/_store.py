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

import logging
import uuid
from dataclasses import replace
from typing import Protocol

from shared.adapters.secrets import APP_CLIENT_SECRET_NAME, refresh_token_name
from shared.auth import StoredRefreshToken
from shared.clock import Clock, iso
from shared.connectors import ConnectorRecord
from shared.errors import ConflictError
from shared.guarded import guarded_update

from ._versions import REFRESH_TOKEN_INACTIVITY, TokenVersion, TokenVersionStore

__all__ = ["ConnectorRefreshTokens", "Secrets", "client_secret_of"]

log = logging.getLogger(__name__)


class Secrets(Protocol):
    """Where refresh tokens and client secrets live (Key Vault; `shared.adapters.secrets`)."""

    def get_secret(self, name: str) -> str | None: ...

    def set_secret(self, name: str, value: str) -> None: ...


def _now_and_lapse(clock: Clock) -> tuple[str, str]:
    """Now, and when a token redeemed now lapses unused (one clock reading for both)."""
    moment = clock.now()
    return iso(moment, timespec="seconds"), iso(moment + REFRESH_TOKEN_INACTIVITY, timespec="seconds")


def client_secret_of(secrets: Secrets, record: ConnectorRecord) -> str | None:
    """The client secret a connector's app signs in with: the one its row names, else the app-wide
    `bc-client-secret` (never a secret the row does not name: see shared.adapters.secrets._names)."""
    if record.client_secret_name:
        return secrets.get_secret(record.client_secret_name)
    return secrets.get_secret(APP_CLIENT_SECRET_NAME)


class ConnectorRefreshTokens:
    """`GuardedRefreshTokenStore` for one connector (Key Vault + `TokenVersions` row)."""

    def __init__(self, connector: str, secrets: Secrets, versions: TokenVersionStore, *, clock: Clock):
        self.connector = connector
        self._secrets = secrets
        self._versions = versions
        self._clock = clock
        self._name = refresh_token_name(connector)

    def __repr__(self) -> str:
        return f"ConnectorRefreshTokens({self.connector!r})"

    # -- GuardedRefreshTokenStore -----------------------------------------------------------------

    def load_current(self) -> StoredRefreshToken | None:
        version = self._versions.get(self.connector)  # first: see rule 1
        token = self._secrets.get_secret(self._name)
        if not token:
            return None
        return StoredRefreshToken(token, version.etag if version else None)

    def current_version(self) -> str | None:
        version = self._versions.get(self.connector)
        return version.etag if version else None

    def save_rotated(self, refresh_token: str, *, replaces: StoredRefreshToken) -> bool:
        """One compare-and-swap, no retry: losing it means another worker's rotation is kept (rule 2)."""
        now, lapses = _now_and_lapse(self._clock)
        current = self._versions.get(self.connector)
        if (current.etag if current else None) != replaces.version:
            return False
        if current is None:  # a token stored without a guard row (older data): start the guard now
            new = TokenVersion(self.connector, 1, uuid.uuid4().hex, None, "", now, lapses)
        else:
            new = replace(current, generation=current.generation + 1, refreshed_at=now, expires_at=lapses,
                          expiring_notice=None)
        try:
            stored = self._versions.put(new)
        except ConflictError:
            return False
        if self.current_version() != stored.etag:  # moved on right after us: theirs is at least as new
            return False
        self._secrets.set_secret(self._name, refresh_token)
        log.debug("Connector %s: refresh token generation %d stored", self.connector, stored.generation)
        return True

    # -- consent ----------------------------------------------------------------------------------

    def store_new_grant(self, refresh_token: str, *, consented_by: str | None) -> TokenVersion:
        """Keep the first refresh token of a new consent; it replaces whatever was stored (rule 3)."""
        now, lapses = _now_and_lapse(self._clock)
        self._secrets.set_secret(self._name, refresh_token)  # first: see rule 3
        grant_id = uuid.uuid4().hex

        def next_generation(current: TokenVersion | None) -> TokenVersion:
            return TokenVersion(self.connector, (current.generation if current else 0) + 1, grant_id,
                                consented_by, now, now, lapses, None, current.etag if current else None)

        stored = guarded_update(lambda: self._versions.get(self.connector), next_generation, self._versions.put,
                                what=f"refresh-token guard of connector '{self.connector}'")
        assert stored is not None  # next_generation always has something to write
        return stored

    def version(self) -> TokenVersion | None:
        return self._versions.get(self.connector)

    def note_expiring_notice(self, notice: str) -> bool:
        """Remember that a `token_expiring` notice was sent; False if the row moved meanwhile (one attempt:
        the loser's notice was sent by the winner)."""
        current = self._versions.get(self.connector)
        if current is None:
            return False
        try:
            self._versions.put(replace(current, expiring_notice=notice))
        except ConflictError:
            return False
        return True
