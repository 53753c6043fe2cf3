"""Who is calling the sandbox's BC endpoints, as established from the bearer token."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: an app alone (client credentials) or an app acting for a user (delegated).

    BC Online applies its limits "per user"; a service principal counts as one user (docs/business-central.md §4).
    """

    tenant_id: str
    client_id: str
    user: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def limit_key(self) -> str:
        """The identity BC's per-user limits are counted against."""
        return f"{self.tenant_id}/{self.user or 'app:' + self.client_id}"

    @property
    def is_app_only(self) -> bool:
        return self.user is None
