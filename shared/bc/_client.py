"""The Business Central client: API v2.0 and OData V4 web services over one pooled requests session.

Built from an endpoint plus an injected credential, session and gate, and keyword-only options (Azure
SDK design guidelines, "Client configuration"); the guideline verbs `list_`, `get_`, `create_`,
`update_`, `delete_`. Every request, whichever method sends it (each page of a `list_*`, each `$batch`
call), goes through `_send`, whose steps are: take a slot of the gate (`shared.bc._gate`), get a bearer
token from the credential (MSAL caches it), send with a timeout and a `client-request-id` that stays the
same across the attempts of one call, log it (DEBUG per request, INFO per retry), retry per the policy.
Failures are `BcError`s (see `shared.bc._errors`); a credential's `TokenError` passes through unchanged,
so the caller can tell "reconnect" from "BC refused".
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any, Iterable, Iterator, Mapping, Protocol, runtime_checkable
from urllib.parse import quote as _percent_encode
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.utils import requote_uri

from shared.logfields import log_scope
from shared.auth import BC_SCOPE, TokenCredential
from shared.jsontypes import JsonValue

from ._errors import (
    NON_IDEMPOTENT_METHODS,
    BcError,
    BcNotFoundError,
    BcOutcomeUnknownError,
    BcPaginationError,
    BcTransientError,
    BcUnavailableError,
    decode_error,
)
from ._gate import Gate
from ._odata import ENVIRONMENT_NAME_RULE, ODataKey, company_segment, is_environment_name, is_guid, key_segment
from ._retry import DEFAULT_RETRY, RetryPolicy, RetryState
from ._subscriptions import SubscriptionMethods

__all__ = ["BcClient", "MAX_BATCH_OPERATIONS", "MAX_PAGE_SIZE"]

log = logging.getLogger("shared.bc")

#: BC Online limits (https://learn.microsoft.com/dynamics365/business-central/dev-itpro/administration/
#: operational-limits-online).
MAX_BATCH_OPERATIONS = 100
MAX_PAGE_SIZE = 20_000

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")  # a GUID or a domain
_SERVICE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,239}$")  # OData V4 service names
_ACTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")  # Microsoft.NAV.post
# Characters left as they are in query values; everything else (space, &, #, +, %, =, non-ASCII) is
# percent-encoded, so a filter literal like 'Müller & Söhne' survives intact.
_QUERY_SAFE = "'(),:/@!*$;"


class _BearerAuth(requests.auth.AuthBase):
    """Sets the Authorization header; passing it as `auth` also stops requests reading ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer " + self._token
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


class BcClient(SubscriptionMethods):
    """One BC environment of one tenant: `{api_url}/v2.0/{tenant}/{environment}/...` (docs/contract.md §8).

    Webhook subscriptions (`api/v2.0/subscriptions`, not company-scoped) are in `SubscriptionMethods`.

    Thread-safe: it keeps no per-call state; the session (`shared.adapters.http.default_session`) and
    the gate (`ConnectorGates.gate(user)`) are the worker's, shared by every client of the same BC user;
    the gate's budget is shared by every instance.
    """

    def __init__(
        self,
        *,
        api_url: str,
        tenant: str,
        environment: str,
        credential: TokenCredential,
        session: requests.Session,
        gate: Gate,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: tuple[float, float] = (5.0, 60.0),
        scope: str = BC_SCOPE,
        delegated: bool = False,
    ) -> None:
        api_url = (api_url or "").rstrip("/")
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"The BC API URL must be like https://api.businesscentral.dynamics.com, got {api_url!r}.")
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise ValueError(f"The tenant must be a tenant id (GUID) or a domain name, got {tenant!r}.")
        if not is_environment_name(environment):
            raise ValueError(f"{ENVIRONMENT_NAME_RULE} Got {environment!r}.")
        if not callable(getattr(credential, "get_token", None)):
            raise TypeError("The credential must have get_token(*scopes) -> AccessToken.")
        self.tenant = tenant
        self.environment = environment
        self._origin = (parts.scheme, parts.netloc.lower())
        root = f"{api_url}/v2.0/{tenant}/{environment}"
        #: `…/api/v2.0`: relative URLs in `$batch` operations start below it (`companies(…)/customers`).
        self.api_base = f"{root}/api/v2.0"
        #: `…/ODataV4`: web services are below `Company('…')`.
        self.odata_base = f"{root}/ODataV4"
        self._credential = credential
        #: Asked of the credential before every request; ".default" also suits delegated tokens.
        self._scope = scope
        self._session = session
        self._gate = gate
        self._retry = retry
        self._timeout = timeout
        #: Whose token it is: says what a 401 that a fresh token did not cure means (`_AUTH_401_HINTS`).
        self._delegated = delegated

    def __repr__(self) -> str:
        return f"BcClient(api_base={self.api_base!r})"

    # -- URLs -------------------------------------------------------------------------------------

    def company_url(self, company_id: str) -> str:
        """`…/api/v2.0/companies({id})`; the id must be a GUID."""
        if not isinstance(company_id, str) or not is_guid(company_id):
            raise ValueError("A BC company id is a GUID like 00000000-0000-0000-0000-000000000000, "
                             f"got {company_id!r}.")
        return f"{self.api_base}/companies({company_id})"

    def odata_url(self, company_name: str, service: str) -> str:
        """`…/ODataV4/Company('{percent-encoded name}')/{service}`."""
        if not isinstance(service, str) or not _SERVICE.fullmatch(service):
            raise ValueError(f"{service!r} is not an OData V4 web service name (letters, digits, _ and -).")
        return f"{self.odata_base}/{company_segment(company_name)}/{service}"

    # -- API v2.0 ---------------------------------------------------------------------------------

    def list_companies(self) -> list[dict]:
        """All companies of the environment (`id`, `name`, `displayName`, …).

        Raises BcNotFoundError for an unknown environment, BcAuthorizationError when BC refuses the app.
        """
        return list(self._pages(f"{self.api_base}/companies", {}, None))

    def list_entities(
        self,
        company_id: str,
        entity_set: str,
        *,
        filter: str | None = None,
        select: str | Iterable[str] | None = None,
        expand: str | Iterable[str] | None = None,
        top: int | None = None,
        orderby: str | Iterable[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict]:
        """Entities of `entity_set` (e.g. "customers", "salesInvoices(<id>)/salesInvoiceLines").

        Lazy: pages are fetched as the iterator advances, following `@odata.nextLink`. `page_size` sends
        `Prefer: odata.maxpagesize=N` (N ≤ 20,000). Raises BcPaginationError if BC repeats a next link.
        """
        url = f"{self.company_url(company_id)}/{_path(entity_set)}"
        params = _query(filter=filter, select=select, expand=expand, top=top, orderby=orderby)
        return self._pages(url, params, page_size)

    def get_entity(self, company_id: str, path: str, *, select: str | Iterable[str] | None = None,
                   expand: str | Iterable[str] | None = None) -> dict:
        """One entity, e.g. `get_entity(cid, f"customers({id})")`. Raises BcNotFoundError if absent."""
        url = f"{self.company_url(company_id)}/{_path(path)}"
        return self._json(self._send("GET", _with_query(url, _query(select=select, expand=expand))))

    def create_entity(self, company_id: str, entity_set: str, body: Mapping[str, Any]) -> dict:
        """POST a new entity (deep insert allowed, e.g. salesInvoices with salesInvoiceLines); BC's 201 body.

        Raises BcOutcomeUnknownError if the answer was lost: look the record up by its key before
        creating it again.
        """
        url = f"{self.company_url(company_id)}/{_path(entity_set)}"
        return self._json(self._send("POST", url, body=dict(body)))

    def update_entity(self, company_id: str, path: str, body: Mapping[str, Any], *, etag: str) -> dict:
        """PATCH an entity guarded by its ETag (`@odata.etag`, or "*"). Raises BcConflictError if it changed."""
        url = f"{self.company_url(company_id)}/{_path(path)}"
        return self._json(self._send("PATCH", url, body=dict(body), headers={"If-Match": _etag(etag)}))

    def delete_entity(self, company_id: str, path: str, *, etag: str = "*") -> None:
        """DELETE an entity; succeeds if it is already gone."""
        url = f"{self.company_url(company_id)}/{_path(path)}"
        try:
            self._send("DELETE", url, headers={"If-Match": _etag(etag)})
        except BcNotFoundError as err:
            if err.code == "Internal_CompanyNotFound":
                raise
            log.debug("BC DELETE %s: already gone (%s)", _log_path(url), err.code)

    def invoke_action(self, company_id: str, path: str, action: str) -> None:
        """Run a bound action, e.g. `invoke_action(cid, f"salesInvoices({id})", "Microsoft.NAV.post")`.

        Not idempotent: a lost answer raises BcOutcomeUnknownError (check the document's status first).
        """
        if not _ACTION.fullmatch(action or ""):
            raise ValueError(f"{action!r} is not a bound action name like Microsoft.NAV.post.")
        url = f"{self.company_url(company_id)}/{_path(path)}/{action}"
        self._send("POST", url)

    def batch(self, operations: Iterable[Mapping[str, Any]], *, isolation_snapshot: bool = False) -> list[dict]:
        """Run operations through JSON `$batch`, at most 100 per call; the inner responses, in order.

        Each operation is `{"method", "url", "headers"?, "body"?, "id"?}` with `url` relative to
        `api_base` (`companies({id})/customers?$filter=…`). Missing ids are numbered. Inner failures are
        returned, not raised: `decode_error(inner)` turns one into a BcError. With `isolation_snapshot`
        the batch runs in one transaction, which only holds within one call, so more than
        100 operations are refused. Raises on the first failing call; earlier calls have run. A batch of
        GETs is resent after a lost answer like any read; one that writes gives BcOutcomeUnknownError.
        """
        ops = [_batch_operation(op, index) for index, op in enumerate(operations, start=1)]
        ids = [op["id"] for op in ops]
        if len(set(ids)) != len(ids):
            raise ValueError("Batch operation ids must be unique.")
        if isolation_snapshot and len(ops) > MAX_BATCH_OPERATIONS:
            raise ValueError(f"Isolation: snapshot only holds within one $batch of at most "
                             f"{MAX_BATCH_OPERATIONS} operations; got {len(ops)}.")
        headers = {"Isolation": "snapshot"} if isolation_snapshot else None
        read_only = all(op["method"] == "GET" for op in ops)
        results: list[dict] = []
        for start in range(0, len(ops), MAX_BATCH_OPERATIONS):
            chunk = ops[start:start + MAX_BATCH_OPERATIONS]
            response = self._send("POST", f"{self.api_base}/$batch", body={"requests": chunk}, headers=headers,
                                  idempotent=read_only)
            answered = {str(r.get("id")): r for r in self._json(response).get("responses", []) if isinstance(r, dict)}
            for op in chunk:
                inner = answered.get(op["id"])
                if inner is None:
                    raise BcOutcomeUnknownError(
                        f"BC's $batch answer has no response for operation {op['id']} ({op['method']} "
                        f"{op['url'].split('?', 1)[0]}); look the record up before sending it again.",
                        method="POST", path=_log_path(response.url))
                results.append(inner)
        return results

    # -- OData V4 web services --------------------------------------------------------------------

    def list_odata(
        self,
        company_name: str,
        service: str,
        *,
        filter: str | None = None,
        select: str | Iterable[str] | None = None,
        top: int | None = None,
        orderby: str | Iterable[str] | None = None,
        page_size: int | None = None,
    ) -> Iterator[dict]:
        """Rows of a published web service (e.g. "Customer_Card"), lazily, following next links.

        Raises BcNotFoundError when the service is not published (or the company name is wrong).
        """
        url = self.odata_url(company_name, service)
        return self._pages(url, _query(filter=filter, select=select, top=top, orderby=orderby), page_size)

    def create_odata(self, company_name: str, service: str, body: Mapping[str, Any]) -> dict:
        """POST a row to a web service; BC's 201 body. A lost answer raises BcOutcomeUnknownError."""
        return self._json(self._send("POST", self.odata_url(company_name, service), body=dict(body)))

    def update_odata(self, company_name: str, service: str, key: ODataKey, body: Mapping[str, Any], *,
                     etag: str) -> dict:
        """PATCH a row guarded by its ETag. Raises BcConflictError if it changed since it was read.

        `key`: `"C00010"` -> `('C00010')`, `{"Dimension_Code": "X", "Code": "Y"}` -> `(…='X',…='Y')`.
        """
        url = self.odata_url(company_name, service) + key_segment(key)
        return self._json(self._send("PATCH", url, body=dict(body), headers={"If-Match": _etag(etag)}))

    # -- transport --------------------------------------------------------------------------------

    def _pages(self, url: str, params: dict[str, str], page_size: int | None) -> Iterator[dict]:
        headers = None
        if page_size is not None:
            if not isinstance(page_size, int) or isinstance(page_size, bool) or not 1 <= page_size <= MAX_PAGE_SIZE:
                raise ValueError(f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}, got {page_size!r}.")
            headers = {"Prefer": f"odata.maxpagesize={page_size}"}
        return self._iterate_pages(_with_query(url, params), headers)

    def _iterate_pages(self, url: str, headers: dict[str, str] | None) -> Iterator[dict]:
        seen = {url}
        pages = 0
        while True:
            page = self._json(self._send("GET", url, headers=headers))
            pages += 1
            yield from page.get("value", [])
            link = page.get("@odata.nextLink")
            if not link:
                return
            link = urljoin(url, link)
            parts = urlsplit(link)
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                # The bearer token must never go to another host.
                raise BcPaginationError(f"BC sent a next link to another host ({parts.netloc}); it was not followed.",
                                        method="GET", path=_log_path(url))
            if link in seen:
                raise BcPaginationError(
                    f"Loop detected in pagination: BC sent the same next link twice after {pages} pages "
                    f"of {_log_path(url)}.", method="GET", path=_log_path(url))
            seen.add(link)
            url = link

    def _json(self, response: requests.Response) -> dict:
        if response.status_code == 204 or not response.content:
            return {}
        try:
            payload = response.json()
        except ValueError:
            method = response.request.method if response.request is not None else "GET"
            cls = BcOutcomeUnknownError if method in NON_IDEMPOTENT_METHODS else BcUnavailableError
            raise cls(f"BC answered {response.status_code} to {method} {_log_path(response.url)} with a body that "
                      "is not JSON.", status=response.status_code, method=method, path=_log_path(response.url),
                      request_id=response.headers.get("request-id")) from None
        return payload if isinstance(payload, dict) else {"value": payload}

    def _send(self, method: str, url: str, *, body: JsonValue = None, headers: Mapping[str, str] | None = None,
              idempotent: bool = False) -> requests.Response:
        """One call in one slot of the gate, retried per the policy. Returns a 2xx response or raises a
        BcError/TokenError (or GateBusy when the gate stays full).

        `idempotent` marks a POST that only reads (a $batch of GETs), so losing its answer is harmless.
        """
        with self._gate.slot():
            return self._attempts(method.upper(), url, body, headers, idempotent)

    def _attempts(self, method: str, url: str, body: JsonValue, headers: Mapping[str, str] | None,
                  idempotent: bool) -> requests.Response:
        # The method the retry rules and the error decoding judge by.
        judged = "GET" if idempotent else method
        policy = self._retry
        client_request_id = str(uuid.uuid4())
        request_headers = {"Accept": "application/json", "client-request-id": client_request_id, **(headers or {})}
        state = RetryState()
        renewed = False
        while True:
            token = self._credential.get_token(self._scope).token
            started = time.monotonic()
            try:
                response = self._session.request(
                    method, url, headers=request_headers, json=body, auth=_BearerAuth(token),
                    timeout=self._timeout, allow_redirects=False)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                    requests.exceptions.ContentDecodingError) as exc:
                error, may_retry = self._connection_failure(exc, method, judged, url, client_request_id)
                delay = policy.delay(state, None)
                if may_retry and policy.can_wait(state, delay):
                    self._log_retry(method, url, type(exc).__name__, state, delay, client_request_id)
                    state = policy.wait(state, delay)
                    continue
                raise error._with(retry_after=delay if isinstance(error, BcTransientError) else None) from exc
            log.debug("BC %s %s -> %s in %.0f ms (client-request-id %s, request-id %s)", method, _log_path(url),
                      response.status_code, (time.monotonic() - started) * 1000, client_request_id,
                      response.headers.get("request-id"))
            if 200 <= response.status_code < 300:
                return response
            if response.status_code == 401 and not renewed and self._forget_token(token, url, client_request_id):
                renewed = True
                continue
            error = decode_error(response, method=method, judge_as=judged, client_request_id=client_request_id)
            if response.status_code == 401:
                error = error._with(hint=_AUTH_401_HINTS[self._delegated])
            if isinstance(error, BcTransientError):
                retry_after = policy.parse_retry_after(response.headers.get("Retry-After"))
                delay = policy.delay(state, retry_after)
                if response.status_code == 429:
                    # Throttled anyway: every instance holds this BC user's requests off as long (budget).
                    self._gate.throttled(delay)
                if policy.is_retryable_status(judged, response.status_code) and policy.can_wait(state, delay):
                    self._log_retry(method, url, str(response.status_code), state, delay, client_request_id)
                    state = policy.wait(state, delay)
                    continue
                error = error._with(retry_after=delay,
                                    hint=error.hint or f"Try again in {max(1, round(delay))} seconds.")
            raise error

    def _forget_token(self, token: str, url: str, client_request_id: str) -> bool:
        """The 401 step: BC refused a token the cache still held (revoked early, or BC's clock is past its
        expiry). Drop it, so the next attempt asks Entra for a fresh one (app-only: client credentials;
        delegated: the stored refresh token through the rotation guard); a refused grant then raises
        `ReconnectRequiredError` from `get_token`. Once per call; False when the credential cannot renew.
        BC rejects an unauthenticated request before acting on it, so resending a POST is safe."""
        if not isinstance(self._credential, RenewableCredential):
            return False
        log.info("BC %s: 401 for a cached token; retrying once with a fresh token (client-request-id %s)",
                 _log_path(url), client_request_id)
        self._credential.forget_token(token)
        return True

    def _connection_failure(self, exc: Exception, method: str, judged: str, url: str,
                            client_request_id: str) -> tuple[BcError, bool]:
        """The error for a failure without an answer, and whether another attempt is allowed."""
        host = urlsplit(url).netloc
        path = _log_path(url)
        common: dict[str, str] = dict(method=method, path=path, client_request_id=client_request_id)
        if isinstance(exc, requests.exceptions.SSLError):
            # A certificate problem does not heal within seconds; the hint names the usual cause.
            return BcUnavailableError(
                f"The TLS connection to {host} failed ({_first_line(exc)}).",
                hint="If BC_API_URL points at a local sandbox, set REQUESTS_CA_BUNDLE to its certificate.",
                **common), False
        if _never_sent(exc):
            return BcUnavailableError(f"Business Central at {host} could not be reached ({_kind(exc)}).",
                                      **common), True
        if judged in NON_IDEMPOTENT_METHODS:
            return BcOutcomeUnknownError(
                f"The {method} to Business Central ({path}) was sent, but {_kind(exc)} before BC answered; "
                "BC may have completed it.",
                hint="Look the record up by its key before sending it again.", **common), \
                self._retry.may_retry_after_sending(judged)
        return BcUnavailableError(f"Business Central did not answer {method} {path} ({_kind(exc)}).",
                                  **common), self._retry.may_retry_after_sending(judged)

    def _log_retry(self, method: str, url: str, cause: str, state: RetryState, delay: float,
                   client_request_id: str) -> None:
        # INFO, not WARNING: a retry that succeeds is normal operation.
        with log_scope(bcStatus=cause, bcAttempt=state.attempt, clientRequestId=client_request_id):
            log.info("BC %s %s: %s; attempt %d of %d, retrying in %.1f s (client-request-id %s)", method,
                     _log_path(url), cause, state.attempt, self._retry.total, delay, client_request_id)


# -- helpers ------------------------------------------------------------------------------------------


@runtime_checkable
class RenewableCredential(Protocol):
    """A credential that can drop a token the resource refused (`shared.auth` credentials can)."""

    def forget_token(self, token: str) -> None: ...


#: What a 401 that a fresh token did not cure means, by whose token it is (delegated or not).
_AUTH_401_HINTS = {
    False: ("Business Central refused a fresh token of the app: in Business Central, open the page 'Microsoft "
            "Entra applications', add the app's client id, set State to Enabled and grant permission sets."),
    True: ("Business Central refused a fresh token of the user who consented: in Business Central, check on "
           "the Users page that this user exists, is enabled, has a Business Central licence and permission "
           "sets for this work; then replay."),
}


def _never_sent(exc: Exception) -> bool:
    """True when the failure proves the request never reached BC (DNS, refused, connect timeout)."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError)):
        return True
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        # NewConnectionError and NameResolutionError are ConnectTimeoutErrors in urllib3 2.
        if isinstance(item, urllib3.exceptions.ConnectTimeoutError):
            return True
        if isinstance(item, urllib3.exceptions.MaxRetryError):
            pending.append(item.reason)
        if isinstance(item, BaseException):
            pending.extend(a for a in item.args if isinstance(a, BaseException))
            pending.extend((item.__cause__, item.__context__))
    return False


def _kind(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "the answer timed out"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "the answer was cut off"
    if _never_sent(exc):
        return "the connection failed"
    return "the connection was dropped"


def _first_line(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


def _path(path: str) -> str:
    """Check a caller's path below the company: no query, fragment, whitespace or dot segments."""
    if not isinstance(path, str) or not path or path.startswith("/") or "://" in path:
        raise ValueError(f"{path!r} is not a path below the company like 'customers({{id}})'.")
    if any(c in path for c in "?#\\") or any(c.isspace() for c in path):
        raise ValueError(f"{path!r} must not hold '?', '#', '\\' or spaces; use the query keywords instead.")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ValueError(f"{path!r} must not hold '.' or '..' segments.")
    return path


def _etag(etag: str) -> str:
    if not isinstance(etag, str) or not etag.strip():
        raise ValueError("An ETag is required (the entity's @odata.etag, or '*').")
    return etag


def _join(value: str | Iterable[str] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return ",".join(value)


def _query(*, filter: str | None = None, select: str | Iterable[str] | None = None,
           expand: str | Iterable[str] | None = None, top: int | None = None,
           orderby: str | Iterable[str] | None = None) -> dict[str, str]:
    params: dict[str, str] = {}
    if filter:
        params["$filter"] = filter
    if (joined := _join(select)):
        params["$select"] = joined
    if (joined := _join(expand)):
        params["$expand"] = joined
    if top is not None:
        if not isinstance(top, int) or isinstance(top, bool) or top < 0:
            raise ValueError(f"top must be a whole number, got {top!r}.")
        params["$top"] = str(top)
    if (joined := _join(orderby)):
        params["$orderby"] = joined
    return params


def _with_query(url: str, params: Mapping[str, str]) -> str:
    if not params:
        return url
    return url + "?" + "&".join(f"{name}={_percent_encode(value, safe=_QUERY_SAFE)}" for name, value in params.items())


def _batch_operation(op: Mapping[str, Any], index: int) -> dict[str, Any]:
    method = str(op.get("method") or "").upper()
    url = op.get("url")
    if method not in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
        raise ValueError(f"Batch operation {index} has no valid method: {op.get('method')!r}.")
    if not isinstance(url, str) or not url or url.startswith("/") or "://" in url:
        raise ValueError(f"Batch operation {index} needs a url relative to api/v2.0, like 'companies(…)/customers'.")
    out: dict[str, Any] = {"id": str(op.get("id") or index), "method": method, "url": requote_uri(url)}
    headers = dict(op.get("headers") or {})
    if op.get("body") is not None:
        out["body"] = op["body"]
        if not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json"
    if headers:
        out["headers"] = headers
    return out


def _log_path(url: str | None) -> str:
    """The path of a URL without its query: filters can hold customer data, and logs should not."""
    return urlsplit(url or "").path
