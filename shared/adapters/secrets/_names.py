"""Secret names (docs/contract.md §6) and Key Vault's naming rule.

Key Vault object names are 1-127 characters of `0-9 a-z A-Z -` (Learn, "About keys, secrets and
certificates": object identifiers). Names are compared case-insensitively by the vault.

A connector's own client secret is written under a new name on every save that sends one
(`connector-{name}-client-secret-{generation}`), and the connector's row names the one it uses: the row,
written under its ETag, decides which secret is current, so a save that loses a race never changes the
secret of the one that won, and a delete removes exactly the secrets of the row it deleted. The
generation starts with the hexadecimal Unix time of the write, so a clean-up pass can tell a secret that
a save is still writing from one a crashed save left behind without asking the store for dates.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets as _random

__all__ = ["APP_CLIENT_SECRET_NAME", "client_secret_name", "new_client_secret_name", "refresh_token_name",
           "validate_secret_name", "ConnectorSecretName", "parse_connector_secret_name", "CONNECTOR_SECRET_PREFIX",
           "webhook_state_name"]

#: The app-wide client secret of the BC_CLIENT_ID app registration.
APP_CLIENT_SECRET_NAME = "bc-client-secret"

#: Every per-connector secret's name starts with this.
CONNECTOR_SECRET_PREFIX = "connector-"

_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")
_CONNECTOR_SECRET = re.compile(
    r"connector-(?P<connector>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])-(?:"
    r"client-secret(?:-(?P<time>[0-9a-f]{8})[0-9a-f]{8})?|(?P<refresh>refresh-token))")


def validate_secret_name(name: str) -> str:
    """Return `name` if Key Vault accepts it, else raise ValueError saying why."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "%r is not a valid secret name: Key Vault allows 1-127 characters of 0-9, a-z, A-Z and '-'" % (name,)
        )
    return name


def client_secret_name(connector: str) -> str:
    """The name of a connector's own client secret as written before generations (rows that name none)."""
    return validate_secret_name("connector-%s-client-secret" % connector)


def new_client_secret_name(connector: str, now: _dt.datetime) -> str:
    """A name no other save uses: `connector-{name}-client-secret-{unix time, 8 hex}{8 random hex}`."""
    stamp = "%08x" % (int(now.timestamp()) & 0xFFFFFFFF)
    return validate_secret_name("connector-%s-client-secret-%s%s" % (connector, stamp, _random.token_hex(4)))


def refresh_token_name(connector: str) -> str:
    """Name of a delegated connector's refresh token."""
    return validate_secret_name("connector-%s-refresh-token" % connector)


class ConnectorSecretName:
    """A per-connector secret's name taken apart: whose it is, what it is, when it was written (if known)."""

    def __init__(self, name: str, connector: str, kind: str, written_at: _dt.datetime | None) -> None:
        self.name, self.connector, self.kind, self.written_at = name, connector, kind, written_at

    def __repr__(self) -> str:
        return "ConnectorSecretName(%r)" % self.name


def parse_connector_secret_name(name: str) -> ConnectorSecretName | None:
    """The parts of a per-connector secret's name, or None for any other name."""
    match = _CONNECTOR_SECRET.fullmatch(name.lower())
    if match is None:
        return None
    if match["refresh"]:
        return ConnectorSecretName(name, match["connector"], "refresh-token", None)
    stamp = match["time"]
    written = _dt.datetime.fromtimestamp(int(stamp, 16), _dt.timezone.utc) if stamp else None
    return ConnectorSecretName(name, match["connector"], "client-secret", written)


def webhook_state_name(connector: str) -> str:
    """Name of a connector's webhook `clientState` (the shared secret BC repeats in every notification)."""
    return validate_secret_name("connector-%s-webhook-state" % connector)
