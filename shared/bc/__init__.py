"""Business Central Online: the API v2.0 / OData V4 client, its errors, retry policy, gate and OData helpers.

    client = BcClient(api_url=settings.bc_api_url, tenant=tenant, environment="Production",
                      credential=credential, session=default_session(), gate=gates.gate(connector))
    for invoice in client.list_entities(company_id, "salesInvoices", filter=eq("externalDocumentNumber", key)):
        ...

Errors are `BcError`s in the tree of `shared.errors`, grouped by what to do (`BcPermanentError` ->
failed, `BcTransientError` -> let the queue redeliver, `BcOutcomeUnknownError` -> look the record up by
its key first); token failures from the credential are `shared.auth.TokenError`s; a gate that stays
full raises `GateBusy` (transient).
"""

from shared.adapters.http import default_session, parse_retry_after

from ._client import MAX_BATCH_OPERATIONS, MAX_PAGE_SIZE, BcClient
from ._errors import (
    BcAuthorizationError,
    BcConflictError,
    BcError,
    BcNotFoundError,
    BcOutcomeUnknownError,
    BcPaginationError,
    BcPermanentError,
    BcThrottledError,
    BcTransientError,
    BcUnavailableError,
    BcValidationError,
    decode_error,
)
from ._budget import BudgetExhausted, BudgetLimits, Permit, RequestBudget, UnlimitedBudget, budget_user
from ._gate import BC_CONCURRENCY_PER_USER, ConnectorGates, Gate, GateBusy
from ._odata import (
    ODataKey,
    ODataLiteral,
    and_,
    company_segment,
    decode_company_name,
    eq,
    guid,
    is_guid,
    is_environment_name,
    ENVIRONMENT_NAME_RULE,
    key_segment,
    quote,
)
from ._retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, RetryState
from ._subscriptions import subscription_resource

__all__ = [
    "BcClient",
    "MAX_BATCH_OPERATIONS",
    "MAX_PAGE_SIZE",
    "ConnectorGates",
    "BudgetExhausted",
    "BudgetLimits",
    "Permit",
    "RequestBudget",
    "UnlimitedBudget",
    "budget_user",
    "Gate",
    "GateBusy",
    "BC_CONCURRENCY_PER_USER",
    "BcError",
    "BcPermanentError",
    "BcValidationError",
    "BcNotFoundError",
    "BcConflictError",
    "BcAuthorizationError",
    "BcPaginationError",
    "BcTransientError",
    "BcThrottledError",
    "BcUnavailableError",
    "BcOutcomeUnknownError",
    "decode_error",
    "RetryPolicy",
    "RetryState",
    "DEFAULT_RETRY",
    "NO_RETRY",
    "parse_retry_after",
    "quote",
    "eq",
    "and_",
    "guid",
    "is_guid",
    "is_environment_name",
    "ENVIRONMENT_NAME_RULE",
    "company_segment",
    "key_segment",
    "decode_company_name",
    "ODataKey",
    "ODataLiteral",
    "default_session",
    "subscription_resource",
]
