"""App settings (docs/contract.md §7), read from the environment when first needed, never at import time.

Reading settings lazily keeps cold start cheap and lets the Functions host index the app even when a
setting is missing; the error then names the setting at the moment it is needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Mapping

from shared.errors import ConfigurationError

DEFAULT_BC_API_URL = "https://api.businesscentral.dynamics.com"
DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


@dataclass(frozen=True)
class AppSettings:
    """The connector-wide settings; per-connector settings live in the Connectors table."""

    bc_client_id: str | None
    bc_api_url: str
    bc_authority_host: str
    public_base_url: str | None
    key_vault_url: str | None
    functions_environment: str | None
    #: One BC user's budget, shared by every instance (issue 13; BC Online's published limits by default).
    bc_max_concurrent_requests: int = 5
    bc_requests_per_window: int = 6000
    bc_rate_window_seconds: float = 300.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "AppSettings":
        env = os.environ if environ is None else environ
        return cls(
            bc_client_id=_blank_to_none(env.get("BC_CLIENT_ID")),
            bc_api_url=(_blank_to_none(env.get("BC_API_URL")) or DEFAULT_BC_API_URL).rstrip("/"),
            bc_authority_host=(_blank_to_none(env.get("BC_AUTHORITY_HOST")) or DEFAULT_AUTHORITY_HOST).rstrip("/"),
            public_base_url=(_blank_to_none(env.get("PUBLIC_BASE_URL")) or "").rstrip("/") or None,
            key_vault_url=_blank_to_none(env.get("KEY_VAULT_URL")),
            functions_environment=_blank_to_none(env.get("AZURE_FUNCTIONS_ENVIRONMENT")),
            bc_max_concurrent_requests=int(_number(env, "BC_MAX_CONCURRENT_REQUESTS", 5)),
            bc_requests_per_window=int(_number(env, "BC_REQUESTS_PER_WINDOW", 6000)),
            bc_rate_window_seconds=_number(env, "BC_RATE_WINDOW_SECONDS", 300.0),
        )


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive number setting; a bad value is a ConfigurationError naming the setting."""
    raw = _blank_to_none(env.get(name))
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value != value or value == float("inf"):
        raise ConfigurationError(f"App setting {name} must be a positive number, got {raw!r}.", field=name)
    return value
