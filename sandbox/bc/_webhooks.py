"""Webhook subscriptions (`api/v2.0/subscriptions`) and the notifications BC sends to their subscribers.

Facts from Microsoft's "Working with webhooks in Dynamics 365 Business Central"
(https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/dynamics-subscriptions)
and the subscriptions resource pages
(https://learn.microsoft.com/dynamics365/business-central/dev-itpro/api-reference/v2.0/resources/dynamics_subscriptions):

- `POST api/v2.0/subscriptions {notificationUrl, resource, clientState?}` (clientState up to 2,048
  characters); BC calls `notificationUrl?validationToken=...` and creates the subscription (201) only when the
  subscriber answers 200 with the token as the body. `PATCH subscriptions('{id}')` with If-Match renews it,
  with the same handshake. DELETE with If-Match. Subscriptions expire after 3 days. Not company-scoped.
- Notifications are POSTed about 30 s after the first change, several per request:
  `{"value": [{subscriptionId, clientState, expirationDateTime, resource, changeType, lastModifiedDateTime}]}`;
  more than 1,000 changes within that delay become one `collection` notification whose resource carries a
  `$filter`; a change to a document line notifies its header. 408, 429 and 5xx answers are retried over 36
  hours; any other error deletes the subscription.
- At most 200 subscriptions per environment (operational limits).

Everything the documentation leaves open is a choice listed under "Inferred" in sandbox/README.md: the
handshake's HTTP method (POST, token in the query, empty body; `handshakeMethod` switches to GET), the error
codes and texts, the retry schedule, how several changes of one record merge, and what happens after 36 hours.

The sandbox calls subscribers on loopback only (127.0.0.0/8, ::1, localhost), over HTTP or HTTPS (the
subscriber's certificate is not verified), never following redirects. Delivery runs on one background thread,
started with the first subscription and stopped by `stop()` (the server calls it when it stops). Delays, expiry
and retries follow the sandbox clock, so advancing it makes due work happen at the next tick (0.1 s).
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import re
import socket
import threading
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import requests

from sandbox.errors import BcApiError

from ._bcerrors import record_not_found, resource_not_found
from ._http import Call, Result, check_if_match, json_body
from ._values import GUID_RE, Clock, format_datetime, make_etag

__all__ = ["Webhooks", "WebhookSettings", "SUPPORTED_RESOURCES", "LINE_PARENTS"]

log = logging.getLogger(__name__)

#: Entity sets Microsoft lists as webhook-supported for API v2.0 (dynamics-subscriptions, "Supported
#: entities"). projects and purchaseCreditMemos are not on the list.
SUPPORTED_RESOURCES = frozenset({
    "accounts", "companyInformation", "countriesRegions", "currencies", "customerPaymentJournals", "customers",
    "dimensions", "employees", "generalLedgerEntries", "itemCategories", "items", "journals", "paymentMethods",
    "paymentTerms", "purchaseInvoices", "salesCreditMemos", "salesInvoices", "salesOrders", "salesQuotes",
    "shipmentMethods", "unitsOfMeasure", "vendors",
})

#: A change to a line notifies its document ("a change to a line notifies the header").
LINE_PARENTS = {
    "salesInvoiceLines": "salesInvoices",
    "purchaseInvoiceLines": "purchaseInvoices",
    "purchaseCreditMemoLines": "purchaseCreditMemos",
}

LIFETIME_SECONDS = 3 * 24 * 3600
MAX_SUBSCRIPTIONS = 200
CLIENT_STATE_MAX = 2048
_TICK_SECONDS = 0.1
_WRITABLE = ("notificationUrl", "resource", "clientState")
_READ_ONLY = ("subscriptionId", "timestamp", "userId", "lastModifiedDateTime", "expirationDateTime",
              "systemCreatedAt", "systemCreatedBy", "systemModifiedAt", "systemModifiedBy")
_RESOURCE_RE = re.compile(r"^companies\(([^()]*)\)/([A-Za-z][A-Za-z0-9]*)$")
_KEY_RE = re.compile(r"^subscriptions(?:\((.*)\))?$", re.S)
_MERGE = {  # (earlier, later) -> merged change type (inferred: one notification per record per batch)
    ("created", "updated"): "created",
    ("created", "deleted"): "deleted",
    ("updated", "created"): "updated",
    ("updated", "deleted"): "deleted",
    ("deleted", "created"): "updated",
    ("deleted", "updated"): "updated",
}


@dataclass
class WebhookSettings:
    """What the control API can change (`PUT /_sandbox/webhooks`). Defaults are BC's or inferred."""

    notificationDelaySeconds: float = 30.0  # BC: about 30 s after the first change
    retryInitialSeconds: float = 60.0  # inferred: first retry after a minute, then doubling
    retryMaxIntervalSeconds: float = 3600.0  # inferred: at most an hour between attempts
    retryWindowSeconds: float = 36 * 3600.0  # BC: retries over 36 hours
    handshakeMethod: str = "POST"  # inferred (undocumented): POST ?validationToken=..., empty body
    requestTimeoutSeconds: float = 10.0  # inferred: how long BC waits for a subscriber's answer
    collectionThreshold: int = 1000  # BC: more than 1,000 records changed within the delay -> one `collection`

    def update(self, values: dict) -> None:
        """Checks every value first, then applies them all (a refused body changes nothing)."""
        checked = {name: _checked_setting(name, value, self.__dataclass_fields__) for name, value in values.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def to_json(self) -> dict:
        return asdict(self)


def _checked_setting(name: str, value: Any, fields: dict) -> float | int | str:
    """One setting's value as stored, or a ValueError naming the setting (the control API answers 400)."""
    if name not in fields:
        raise ValueError("unknown webhook setting %r (settings: %s)" % (name, ", ".join(fields)))
    if name == "handshakeMethod":
        if not isinstance(value, str) or value.upper() not in ("POST", "GET"):
            raise ValueError('"handshakeMethod" must be "POST" or "GET"')
        return value.upper()
    number = not isinstance(value, bool) and isinstance(value, (int, float))
    if name == "collectionThreshold":
        if not number or value < 0 or not float(value).is_integer():
            raise ValueError('"collectionThreshold" must be a whole number >= 0 (records changed within the delay '
                             'above which one collection notification is sent)')
        return int(value)
    if not number or value < 0:
        raise ValueError('"%s" must be a number >= 0' % name)
    return float(value)


@dataclass
class _Delivery:
    """One notification request (frozen payload) and its attempts."""

    payload: dict
    next_at: float
    first_attempt: float | None = None
    attempts: int = 0


@dataclass
class _Subscription:
    id: str
    tenant_id: str
    environment: str  # lower-case
    notification_url: str
    resource: str  # as the client wrote it
    company_id: str
    set_name: str
    client_state: str
    user_id: str
    created: str
    modified: str
    expires: float  # epoch seconds, sandbox clock
    version: int
    timestamp: int
    pending: dict[str, list] = field(default_factory=dict)  # record id -> [changeType, lastModifiedDateTime]
    pending_due: float | None = None
    pending_since: str = ""  # earliest lastModifiedDateTime in `pending` (collection filter)
    outbox: collections.deque = field(default_factory=collections.deque)
    sending: bool = False

    def to_json(self) -> dict:
        return {
            "@odata.etag": make_etag(self.version),
            "subscriptionId": self.id,
            "notificationUrl": self.notification_url,
            "resource": self.resource,
            "timestamp": self.timestamp,
            "userId": self.user_id,
            "lastModifiedDateTime": self.modified,
            "clientState": self.client_state,
            "expirationDateTime": format_datetime(datetime.fromtimestamp(self.expires, tz=timezone.utc)),
            "systemCreatedAt": self.created,
            "systemCreatedBy": self.user_id,
            "systemModifiedAt": self.modified,
            "systemModifiedBy": self.user_id,
        }


def _check_loopback_url(url: str, name: str = "notificationUrl") -> None:
    """Only http(s) URLs on loopback: the sandbox never calls anything else."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        host, parts = "", None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise BcApiError(400, "BadRequest", "The %s '%s' is not a valid absolute http or https URL." % (name, url))
    if not _is_loopback_host(host):
        raise BcApiError(400, "BadRequest", "The BC sandbox only sends webhooks to loopback addresses "
                                            "(127.0.0.1, ::1, localhost); '%s' is not one." % host)


def _is_loopback_host(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        pass
    if host.lower() != "localhost":
        return False
    try:
        infos = socket.getaddrinfo("localhost", None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%", 1)[0]).is_loopback for i in infos)


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


class Webhooks:
    """Subscriptions of every environment, pending changes and the delivery thread."""

    def __init__(self, clock: Clock, *, company_exists: Callable[[str, str, str], bool] | None = None,
                 known_sets: frozenset[str] = frozenset()) -> None:
        self._clock = clock
        self._company_exists = company_exists or (lambda tenant, env, company: True)
        self._known_sets = known_sets
        self.settings = WebhookSettings()
        self._cond = threading.Condition(threading.RLock())
        self._subs: dict[str, _Subscription] = {}
        self._versions = 0
        self._log: collections.deque = collections.deque(maxlen=10_000)
        self._log_seq = 0
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._session = requests.Session()
        self._session.trust_env = False  # never through a proxy: loopback only
        #: set by the server: appends an entry to its request log (kind "webhook")
        self.request_log: Callable[..., Any] | None = None

    # -- time ----------------------------------------------------------------------------------------------
    def _now(self) -> float:
        return self._clock.utcnow().timestamp()

    def _stamp(self) -> str:
        return self._clock.stamp()

    def _next_version(self) -> int:
        self._versions += 1
        return self._versions

    # -- lifecycle -----------------------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="bc-sandbox-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stops the delivery thread (pending notifications are dropped with it)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def reset(self) -> None:
        """No subscriptions, nothing pending, an empty log and default settings (the thread keeps running)."""
        with self._cond:
            self._subs.clear()
            self._log.clear()
            self.settings = WebhookSettings()
            self._cond.notify_all()

    # -- the subscriptions resource ------------------------------------------------------------------------
    def handle(self, call: Call, *, tenant_id: str, environment: str, principal: Any) -> Result:
        """`call.path` is what follows `api/v2.0/`: `subscriptions` or `subscriptions('{id}')`."""
        segments = [unquote(s) for s in call.path.split("/") if s]
        m = _KEY_RE.match(segments[0]) if len(segments) == 1 else None
        if m is None:
            raise resource_not_found(segments[-1] if segments else "")
        env = environment.lower()
        context = call.base_url + "/api/v2.0/$metadata#subscriptions"
        key = m.group(1)
        with self._cond:
            self._purge_expired()
        if key is None:
            if call.method == "GET":
                with self._cond:
                    rows = [s.to_json() for s in self._subs.values() if s.tenant_id == tenant_id and s.environment == env]
                return Result(200, {"@odata.context": context, "value": rows})
            if call.method == "POST":
                return self._create(call, tenant_id, env, principal, context)
            raise _method_not_allowed(call.method)
        sub_id = key.strip()
        if len(sub_id) >= 2 and sub_id[0] == sub_id[-1] == "'":
            sub_id = sub_id[1:-1].replace("''", "'")
        with self._cond:
            sub = self._subs.get(sub_id)
            if sub is None or sub.tenant_id != tenant_id or sub.environment != env:
                # Inferred: the platform table "API Webhook Subscription", key "Subscription Id".
                raise record_not_found("API Webhook Subscription", [("Subscription Id", sub_id)])
            etag = make_etag(sub.version)
            if call.method == "GET":
                return Result(200, {"@odata.context": context + "/$entity", **sub.to_json()}, {"ETag": etag})
            if call.method == "DELETE":
                check_if_match(call, etag)
                self._delete(sub, "deleted by the client")
                return Result(204)
        if call.method == "PATCH":
            check_if_match(call, etag)
            return self._renew(call, sub, context)
        raise _method_not_allowed(call.method)

    def _values(self, call: Call, *, patch: bool) -> dict[str, str]:
        body = json_body(call)
        values: dict[str, str] = {}
        for name, raw in body.items():
            if name.startswith("@"):
                continue
            if name in _READ_ONLY:
                raise BcApiError(400, "BadRequest_InvalidOperation", "Control '%s' is read-only." % name)
            if name not in _WRITABLE:
                raise BcApiError(400, "BadRequest", "The property '%s' does not exist on type "
                                                    "'Microsoft.NAV.subscription'. Make sure to only use property "
                                                    "names that are defined by the type." % name)
            if not isinstance(raw, str):
                raise BcApiError(400, "BadRequest", "Cannot convert the literal '%s' to the expected type "
                                                    "'Edm.String'." % json.dumps(raw))
            values[name] = raw
        if not patch:
            for name in ("notificationUrl", "resource"):
                if not values.get(name):
                    # Inferred text: BC's platform answers a missing property with a validation error.
                    raise BcApiError(400, "BadRequest", 'The "%s" must be provided.' % name)
        if len(values.get("clientState", "")) > CLIENT_STATE_MAX:
            value = values["clientState"]
            raise BcApiError(400, "Application_StringExceededLength",
                             "The length of the string is %d, but it must be less than or equal to %d characters. "
                             "Value: %s" % (len(value), CLIENT_STATE_MAX, value))
        if "notificationUrl" in values:
            _check_loopback_url(values["notificationUrl"])
        return values

    def _parse_resource(self, tenant_id: str, environment: str, resource: str) -> tuple[str, str]:
        """'/api/v2.0/companies({id})/purchaseInvoices' (relative or absolute) -> (company id, entity set)."""
        path = urlsplit(resource).path if "://" in resource else resource.split("?", 1)[0]
        lowered = path.lower()
        at = lowered.find("api/v2.0/")
        rest = unquote(path[at + len("api/v2.0/"):]) if at >= 0 else ""
        if "?" in resource or at < 0:
            raise BcApiError(400, "BadRequest", "The resource '%s' is not a valid API v2.0 resource URL for a "
                                                "subscription." % resource)  # inferred
        m = _RESOURCE_RE.match(rest.rstrip("/"))
        if m is None:
            raise BcApiError(400, "BadRequest", "The resource '%s' is not a valid API v2.0 resource URL for a "
                                                "subscription." % resource)  # inferred
        company_id, set_name = m.group(1).strip(), m.group(2)
        if not GUID_RE.match(company_id):
            raise BcApiError(400, "BadRequest", "The key value '(%s)' of the segment 'companies' is not a valid "
                                                "Guid." % company_id)
        company_id = company_id.lower()
        if set_name not in SUPPORTED_RESOURCES:
            if set_name not in self._known_sets:
                raise resource_not_found(set_name)
            # Inferred code and text: Microsoft lists the supported entities but not the refusal.
            raise BcApiError(400, "BadRequest", "The resource '%s' does not support webhook subscriptions." % set_name)
        if not self._company_exists(tenant_id, environment, company_id):
            raise BcApiError(404, "Internal_CompanyNotFound", "The company '%s' does not exist." % company_id)
        return company_id, set_name

    def _create(self, call: Call, tenant_id: str, env: str, principal: Any, context: str) -> Result:
        values = self._values(call, patch=False)
        company_id, set_name = self._parse_resource(tenant_id, env, values["resource"])
        with self._cond:
            count = sum(1 for s in self._subs.values() if s.tenant_id == tenant_id and s.environment == env)
            if count >= MAX_SUBSCRIPTIONS:
                # Limit from the operational limits page; code and text inferred.
                raise BcApiError(400, "BadRequest", "The maximum number of webhook subscriptions (%d) for this "
                                                    "environment has been reached." % MAX_SUBSCRIPTIONS)
        self._handshake(values["notificationUrl"], None)
        stamp = self._stamp()
        limit_key = getattr(principal, "limit_key", "") or "anonymous"
        sub = _Subscription(
            id=uuid.uuid4().hex, tenant_id=tenant_id, environment=env,
            notification_url=values["notificationUrl"], resource=values["resource"], company_id=company_id,
            set_name=set_name, client_state=values.get("clientState", ""),
            user_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "bc-sandbox-user:" + limit_key)),
            created=stamp, modified=stamp, expires=self._now() + LIFETIME_SECONDS,
            version=0, timestamp=0,
        )
        with self._cond:
            sub.version = sub.timestamp = self._next_version()
            self._subs[sub.id] = sub
            self._ensure_thread()
        location = "%s/api/v2.0/subscriptions('%s')" % (call.base_url, sub.id)
        return Result(201, {"@odata.context": context + "/$entity", **sub.to_json()},
                      {"ETag": make_etag(sub.version), "Location": location})

    def _renew(self, call: Call, sub: _Subscription, context: str) -> Result:
        values = self._values(call, patch=True)
        target = (sub.company_id, sub.set_name)
        if "resource" in values:
            target = self._parse_resource(sub.tenant_id, sub.environment, values["resource"])
        url = values.get("notificationUrl", sub.notification_url)
        self._handshake(url, sub.id)
        with self._cond:
            if self._subs.get(sub.id) is not sub:  # deleted meanwhile
                raise record_not_found("API Webhook Subscription", [("Subscription Id", sub.id)])
            sub.notification_url = url
            if "resource" in values:
                sub.resource = values["resource"]
                sub.company_id, sub.set_name = target
            if "clientState" in values:
                sub.client_state = values["clientState"]
            sub.expires = self._now() + LIFETIME_SECONDS
            sub.modified = self._stamp()
            sub.version = sub.timestamp = self._next_version()
            return Result(200, {"@odata.context": context + "/$entity", **sub.to_json()},
                          {"ETag": make_etag(sub.version)})

    def _handshake(self, url: str, subscription_id: str | None) -> None:
        """BC calls notificationUrl?validationToken=...; the answer must be 200 with the token as the body."""
        token = str(uuid.uuid4())
        method = self.settings.handshakeMethod
        status: int | None = None
        error = None
        try:
            response = self._send(method, _with_query(url, validationToken=token), None)
            status = response.status_code
            text = response.content.decode("utf-8-sig", "replace").strip()
            if len(text) >= 2 and text[0] == text[-1] == '"':
                text = text[1:-1]  # a JSON string is the token too (inferred leniency)
            ok = status == 200 and text == token
            if not ok:
                error = "answered %d%s" % (status, "" if status != 200 else " without the validation token")
        except requests.RequestException as exc:
            ok, error = False, "no answer: %s" % type(exc).__name__
        self._record(kind="handshake", subscriptionId=subscription_id, notificationUrl=url, method=method,
                     status=status, outcome="validated" if ok else "failed", error=error)
        if not ok:
            # Inferred code and text: the documentation only says the subscription is not registered.
            raise BcApiError(400, "BadRequest", "The subscription could not be validated: the notification URL "
                                                "'%s' did not answer 200 with the validation token (%s)." % (url, error))

    def _send(self, method: str, url: str, payload: dict | None) -> requests.Response:
        _check_loopback_url(url)  # never anything but loopback, whatever happened to the URL since
        data = json.dumps(payload, separators=(",", ":")).encode("utf-8") if payload is not None else b""
        headers = {"Content-Type": "application/json; charset=utf-8"} if payload is not None else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # InsecureRequestWarning: loopback HTTPS is not verified
            return self._session.request(method, url, data=data, headers=headers, allow_redirects=False,
                                         verify=False, timeout=self.settings.requestTimeoutSeconds)

    def _delete(self, sub: _Subscription, reason: str) -> None:
        if self._subs.pop(sub.id, None) is not None:
            sub.pending.clear()
            sub.outbox.clear()
            self._record(kind="subscription", subscriptionId=sub.id, notificationUrl=sub.notification_url,
                         outcome="deleted", error=reason)

    def _purge_expired(self) -> None:
        now = self._now()
        for sub in [s for s in self._subs.values() if s.expires <= now]:
            self._delete(sub, "expired")

    # -- changes -> notifications --------------------------------------------------------------------------
    def on_changes(self, tenant_id: str, environment: str, changes: list[tuple]) -> None:
        """Changes noted by an environment's database (`Db.drain()`), after the request committed them."""
        if not changes:
            return
        env = environment.lower()
        with self._cond:
            subs = [s for s in self._subs.values() if s.tenant_id == tenant_id and s.environment == env]
            if not subs:
                return
            wanted = {(s.company_id, s.set_name) for s in subs}
            now, stamp = self._now(), self._stamp()
            merged: dict[tuple[str, str], dict[str, list]] = {}
            for company_id, table, kind, row_id, modified, document_id in changes:
                parent = LINE_PARENTS.get(table)
                if parent is not None:
                    table, row_id, kind, modified = parent, document_id, "updated", stamp
                if (company_id, table) not in wanted or not row_id:
                    continue
                bucket = merged.setdefault((company_id, table), {})
                when = stamp if kind == "deleted" else (modified or stamp)
                _merge(bucket, row_id, kind, when)
            for sub in subs:
                bucket = merged.get((sub.company_id, sub.set_name))
                if not bucket:
                    continue
                if not sub.pending:
                    sub.pending_due = now + self.settings.notificationDelaySeconds
                    sub.pending_since = min(v[1] for v in bucket.values())
                for row_id, (kind, when) in bucket.items():
                    _merge(sub.pending, row_id, kind, when)
            self._cond.notify_all()

    def _freeze(self, sub: _Subscription, now: float) -> None:
        """Pending changes -> one notification request (a `collection` one above `collectionThreshold` records,
        1,000 by default as in BC)."""
        expiration = format_datetime(datetime.fromtimestamp(sub.expires, tz=timezone.utc))
        base = "api/v2.0/companies(%s)/%s" % (sub.company_id, sub.set_name)
        pending, sub.pending, sub.pending_due = sub.pending, {}, None
        if len(pending) > self.settings.collectionThreshold:
            since = _filter_time(sub.pending_since)
            items = [{"subscriptionId": sub.id, "clientState": sub.client_state,
                      "expirationDateTime": expiration,
                      "resource": base + "?$filter=" + quote("lastModifiedDateTime gt %s" % since, safe=""),
                      "changeType": "collection",
                      "lastModifiedDateTime": max(when for _, when in pending.values())}]
        else:
            items = [{"subscriptionId": sub.id, "clientState": sub.client_state, "expirationDateTime": expiration,
                      "resource": "%s(%s)" % (base, row_id), "changeType": kind, "lastModifiedDateTime": when}
                     for row_id, (kind, when) in pending.items()]
        sub.outbox.append(_Delivery({"value": items}, next_at=now))

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                work = self._due_work()
                if not work:
                    self._cond.wait(_TICK_SECONDS)
                    continue
            for sub, delivery in work:
                self._deliver(sub, delivery)

    def _due_work(self) -> list[tuple[_Subscription, _Delivery]]:
        self._purge_expired()
        now = self._now()
        work = []
        for sub in list(self._subs.values()):
            if sub.pending and sub.pending_due is not None and sub.pending_due <= now:
                self._freeze(sub, now)
            if sub.outbox and not sub.sending and sub.outbox[0].next_at <= now:
                sub.sending = True
                work.append((sub, sub.outbox[0]))
        return work

    def _deliver(self, sub: _Subscription, delivery: _Delivery) -> None:
        settings = self.settings
        status: int | None = None
        error = None
        try:
            response = self._send("POST", sub.notification_url, delivery.payload)
            status = response.status_code
        except (requests.RequestException, BcApiError) as exc:
            error = "no answer: %s" % type(exc).__name__
        with self._cond:
            sub.sending = False
            now = self._now()
            delivery.attempts += 1
            if delivery.first_attempt is None:
                delivery.first_attempt = now
            if self._subs.get(sub.id) is not sub or not sub.outbox or sub.outbox[0] is not delivery:
                outcome = "discarded"  # deleted or reset meanwhile
            elif status is not None and 200 <= status < 300:
                sub.outbox.popleft()
                outcome = "delivered"
            elif status is None or status in (408, 429) or status >= 500:
                wait = min(settings.retryInitialSeconds * 2 ** (delivery.attempts - 1), settings.retryMaxIntervalSeconds)
                if now + wait - delivery.first_attempt > settings.retryWindowSeconds:
                    sub.outbox.popleft()
                    outcome = "gaveUp"  # inferred: the notification is dropped, the subscription stays
                else:
                    delivery.next_at = now + wait
                    outcome = "retry"
            else:
                outcome = "subscriptionDeleted"
            values = delivery.payload["value"]
            self._record(kind="notification", subscriptionId=sub.id, notificationUrl=sub.notification_url,
                         method="POST", status=status, outcome=outcome, error=error, attempt=delivery.attempts,
                         count=len(values), changeTypes=sorted({v["changeType"] for v in values}),
                         body=delivery.payload)
            if outcome == "subscriptionDeleted":
                self._delete(sub, "the subscriber answered %s" % status)

    def flush(self) -> int:
        """Sends what is pending or waiting for a retry now (skips the rest of the delay). Returns how many
        subscriptions had something to send."""
        with self._cond:
            now = self._now()
            touched = 0
            for sub in self._subs.values():
                if sub.pending:
                    sub.pending_due = now
                if sub.outbox:
                    sub.outbox[0].next_at = now
                touched += bool(sub.pending or sub.outbox)
            self._cond.notify_all()
            return touched

    # -- admin ---------------------------------------------------------------------------------------------
    def drop(self, subscription_id: str) -> dict:
        """Deletes a subscription the way BC does after a bad answer (no handshake, no notification)."""
        with self._cond:
            sub = self._subs.get(subscription_id)
            if sub is None:
                raise KeyError("no webhook subscription %r" % subscription_id)
            self._delete(sub, "dropped through the control API")
            return {"subscriptionId": subscription_id, "deleted": True}

    def update_settings(self, values: dict) -> dict:
        with self._cond:
            self.settings.update(values)
            self._cond.notify_all()
            return self.settings.to_json()

    def summary(self) -> dict:
        with self._cond:
            now = self._now()
            subs = []
            for s in self._subs.values():
                row = s.to_json()
                row.pop("@odata.etag")
                row.update({"tenantId": s.tenant_id, "environment": s.environment, "companyId": s.company_id,
                            "entitySet": s.set_name, "pendingChanges": len(s.pending),
                            "pendingDueInSeconds": round(s.pending_due - now, 3) if s.pending_due else None,
                            "waitingRequests": len(s.outbox),
                            "nextAttemptInSeconds": round(s.outbox[0].next_at - now, 3) if s.outbox else None})
                subs.append(row)
            return {"settings": self.settings.to_json(), "subscriptions": subs, "lastSeq": self._log_seq}

    def log(self, since: int = 0) -> dict:
        with self._cond:
            return {"notifications": [dict(e) for e in self._log if e["seq"] > since], "lastSeq": self._log_seq}

    def _record(self, **entry: Any) -> None:
        with self._cond:
            self._log_seq += 1
            entry = {"seq": self._log_seq, "time": self._stamp(), **{k: v for k, v in entry.items()}}
            self._log.append(entry)
        sink = self.request_log
        if sink is not None and entry["kind"] in ("handshake", "notification"):
            try:
                sink(entry)
            except Exception:  # noqa: BLE001 - the log must never break delivery
                log.exception("could not log a webhook call")


def _merge(bucket: dict[str, list], row_id: str, kind: str, when: str) -> None:
    current = bucket.get(row_id)
    if current is None:
        bucket[row_id] = [kind, when]
        return
    current[0] = _MERGE.get((current[0], kind), kind)
    if when and when > current[1]:
        current[1] = when


def _filter_time(stamp: str) -> str:
    """A whole second before the earliest change, so `gt` includes it: 2018-04-25T13:08:39Z."""
    try:
        value = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        value = datetime.now(timezone.utc)
    value = value.replace(microsecond=0) - timedelta(seconds=1)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _method_not_allowed(method: str) -> BcApiError:
    return BcApiError(405, "BadRequest_MethodNotAllowed",
                      "'%s' requests for 'subscriptions' of EdmEntityType are not allowed within Dynamics 365 "
                      "Business Central OData web services." % method)
