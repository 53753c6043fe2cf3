"""Secret names (docs/contract.md §6) and Key Vault's naming rule.

Key Vault object names are 1-127 characters of `0-9 a-z A-Z -` (Learn, "About keys, secrets and
certificates": object identifiers). Names are compared case-insensitively by the vault.
"""

from __future__ import annotations

import re

__all__ = ["APP_CLIENT_SECRET_NAME", "client_secret_name", "refresh_token_name", "validate_secret_name"]

#: The app-wide client secret of the BC_CLIENT_ID app registration.
APP_CLIENT_SECRET_NAME = "bc-client-secret"

_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")


def validate_secret_name(name: str) -> str:
    """Return `name` if Key Vault accepts it, else raise ValueError saying why."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "%r is not a valid secret name: Key Vault allows 1-127 characters of 0-9, a-z, A-Z and '-'" % (name,)
        )
    return name


def client_secret_name(connector: str) -> str:
    """Name of a connector's own client secret (`auth.clientSecret`)."""
    return validate_secret_name("connector-%s-client-secret" % connector)


def refresh_token_name(connector: str) -> str:
    """Name of a delegated connector's refresh token."""
    return validate_secret_name("connector-%s-refresh-token" % connector)
