"""Webhook subscriptions (`api/v2.0/subscriptions`): the one API v2.0 resource that is not below a company.

Microsoft: "Working with webhooks in Dynamics 365 Business Central"
(https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions).
BC validates the `notificationUrl` before it answers a create or a renewal (it calls
`notificationUrl?validationToken=…` and expects 200 with the token), and a subscription lives 3 days unless
renewed with `PATCH subscriptions({id})` and `If-Match`.

A mixin of `BcClient`: every call goes through the client's `_send` (gate, token, retry, log, error
decoding), so webhook calls count against the same budget as every other BC request.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Mapping

from ._errors import BcNotFoundError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import requests

    from shared.jsontypes import JsonValue

__all__ = ["SubscriptionMethods", "subscription_resource"]

_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


def subscription_resource(company_id: str, entity_set: str) -> str:
    """The `resource` of a subscription to a company's entity set, as Microsoft's examples write it."""
    return f"/api/v2.0/companies({company_id})/{entity_set}"


def _key(subscription_id: str) -> str:
    if not isinstance(subscription_id, str) or not _ID.match(subscription_id):
        raise ValueError(f"{subscription_id!r} is not a subscription id.")
    return f"subscriptions('{subscription_id}')"


class SubscriptionMethods:
    """`list_/get_/create_/renew_/delete_subscription` on the client's `api_base`."""

    api_base: str

    def _send(self, method: str, url: str, *, body: "JsonValue" = None, headers: Mapping[str, str] | None = None,
              idempotent: bool = False) -> "requests.Response":  # pragma: no cover - BcClient's
        raise NotImplementedError

    def _json(self, response: "requests.Response") -> dict:  # pragma: no cover - BcClient's
        raise NotImplementedError

    def list_subscriptions(self) -> list[dict]:
        """This environment's subscriptions of the calling principal (BC answers only those)."""
        return list(self._json(self._send("GET", f"{self.api_base}/subscriptions")).get("value", []))

    def get_subscription(self, subscription_id: str) -> dict | None:
        """One subscription, or None when BC no longer has it (expired, deleted after a bad answer)."""
        try:
            return self._json(self._send("GET", f"{self.api_base}/{_key(subscription_id)}"))
        except BcNotFoundError:
            return None

    def create_subscription(self, *, notification_url: str, resource: str, client_state: str) -> dict:
        """POST a subscription; BC runs the handshake before it answers 201 with the subscription.

        Not idempotent: a lost answer raises BcOutcomeUnknownError (list the subscriptions to find it).
        """
        body = {"notificationUrl": notification_url, "resource": resource, "clientState": client_state}
        return self._json(self._send("POST", f"{self.api_base}/subscriptions", body=body))

    def renew_subscription(self, subscription_id: str, *, etag: str, notification_url: str, resource: str,
                           client_state: str) -> dict:
        """PATCH with the subscription's ETag: BC repeats the handshake and moves the expiry 3 days ahead.
        Raises BcNotFoundError when BC deleted it, BcConflictError when the ETag is stale."""
        body = {"notificationUrl": notification_url, "resource": resource, "clientState": client_state}
        return self._json(self._send("PATCH", f"{self.api_base}/{_key(subscription_id)}", body=body,
                                     headers={"If-Match": etag or "*"}))

    def delete_subscription(self, subscription_id: str, *, etag: str = "*") -> bool:
        """DELETE; False when it was already gone."""
        try:
            self._send("DELETE", f"{self.api_base}/{_key(subscription_id)}", headers={"If-Match": etag or "*"})
        except BcNotFoundError:
            return False
        return True
