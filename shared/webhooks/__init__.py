"""Real-time expenses: Business Central webhook subscriptions and the notifications they bring (issue 14).

    subscriptions = WebhookSubscriptions(connectors=..., store=..., secrets=..., bc_clients=..., clock=...,
                                         options=WebhookOptions(public_base_url, bc_api_url))
    subscriptions.sync(record)          # on save / consent: create, delete as the settings ask
    subscriptions.keep_alive()          # the timer: re-create what BC deleted, renew before expiry
    notifications = ExpenseNotifications(connectors=..., secrets=..., rows=..., queue=..., importer=..., clock=...)
    notifications.receive(name, body)   # BC's POST: verify clientState, ask for one (coalesced) import run
    notifications.run_requested(text)   # the bc-import-requests trigger: run ExpenseImport.import_one

Polling stays the safety net: the expense timer imports whatever a lost notification did not ask for.
"""

from shared.webhooks._notifications import (
    MAX_BODY_BYTES,
    MAX_TOKEN_LENGTH,
    ExpenseNotifications,
    NotificationOptions,
    Receipt,
)
from shared.webhooks._ports import (
    ImportRequest,
    ImportRequestRows,
    Importer,
    RequestQueue,
    Subscription,
    SubscriptionClient,
    SubscriptionClients,
    SubscriptionStore,
)
from shared.webhooks._subscriptions import ENTITY_SETS, KeepAliveReport, WebhookOptions, WebhookSubscriptions
from shared.webhooks._urls import NOTIFICATION_ROUTE, notification_base, notification_url

__all__ = [
    "ENTITY_SETS",
    "ExpenseNotifications",
    "ImportRequest",
    "ImportRequestRows",
    "Importer",
    "KeepAliveReport",
    "MAX_BODY_BYTES",
    "MAX_TOKEN_LENGTH",
    "NOTIFICATION_ROUTE",
    "NotificationOptions",
    "Receipt",
    "RequestQueue",
    "Subscription",
    "SubscriptionClient",
    "SubscriptionClients",
    "SubscriptionStore",
    "WebhookOptions",
    "WebhookSubscriptions",
    "notification_base",
    "notification_url",
]
