"""`ExpenseNotifications`: BC's webhook calls, and the import runs they ask for (issue 14).

The endpoint `POST /api/bc/notifications?connector={name}` is anonymous: BC Online cannot send a function
key header, and a key in the URL would sit in BC's subscription list and in logs. What proves a call is
BC's is the `clientState`, a per-connector secret from Key Vault that BC repeats in every notification;
it is compared in constant time (`hmac.compare_digest`). A call whose items do not all carry it (or for a
connector without one) is refused with 404 and nothing is done; BC drops a subscription it gets a 404 for,
which is right for one that is not ours any more.

A notification only **asks for an import run**: `request_run` sets the connector's `ImportRequests` row
to `queued` (ETag-guarded) and puts one message on `bc-import-requests`; while a run is queued, more
notifications are coalesced into it. The queue trigger (`run_requested`) clears the flag first, then runs
`ExpenseImport.import_one`, so notifications arriving during a run queue at most one further run. The
import itself (cursors, overlap, markers) decides what is new: a notification cannot cause a duplicate or
a loss, and a lost one is caught by the timer. A queued flag older than `stale_after` (its message lost)
no longer coalesces.

Answers to BC: 200 once the request is recorded (or coalesced), 503 when storage could not record it (BC
retries over 36 hours), 404 as above, 400 for a body that is not BC's shape. The handshake
(`?validationToken=`) echoes a token of at most 1,024 URL-safe characters as text/plain, whatever the
method (Microsoft does not document it; the BC sandbox sends POST, or GET when told).
"""

from __future__ import annotations

import datetime as _dt
import hmac
import json
import logging
import re
import threading
from dataclasses import dataclass, replace
from typing import Protocol

from shared.adapters.secrets import webhook_state_name
from shared.clock import Clock, iso, parse_iso
from shared.connectors import ConnectorRecord, ConnectorNotFound, SettingsInvalid, parse_connector_name
from shared.errors import ConflictError, InvalidInput, NotFound, TransientError
from shared.guarded import guarded_update
from shared.jsontypes import JsonObject

from ._ports import ImportRequest, ImportRequestRows, Importer, RequestQueue, RunSummary, Secrets

__all__ = ["ExpenseNotifications", "NotificationOptions", "Receipt", "MAX_TOKEN_LENGTH", "MAX_BODY_BYTES"]

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 1024
#: BC sends at most 1,000 items (then one `collection` item); about 400 bytes each.
MAX_BODY_BYTES = 1_048_576
_TOKEN = re.compile(r"^[A-Za-z0-9._~:+/=-]{1,%d}$" % MAX_TOKEN_LENGTH)


@dataclass(frozen=True)
class NotificationOptions:
    #: A queued flag this old is taken for a lost message: the next notification queues a run again.
    stale_after: _dt.timedelta = _dt.timedelta(minutes=10)
    #: When a run finds the import busy (the timer's run holds the lease), the next one waits this long.
    busy_delay_seconds: int = 15
    #: How long a worker keeps a connector's clientState, and how soon it asks Key Vault again after a miss.
    state_ttl_seconds: float = 600.0
    recheck_after_seconds: float = 30.0


@dataclass(frozen=True)
class Receipt:
    connector: str
    items: int
    queued: bool  # False: coalesced into a run already queued
    change_types: tuple[str, ...] = ()


class Connectors(Protocol):
    def get(self, name: str) -> ConnectorRecord | None: ...


class ExpenseNotifications:
    def __init__(self, *, connectors: Connectors, secrets: Secrets, rows: ImportRequestRows, queue: RequestQueue,
                 importer: Importer, clock: Clock, options: NotificationOptions = NotificationOptions()) -> None:
        self._connectors = connectors
        self._secrets = secrets
        self._rows = rows
        self._queue = queue
        self._importer = importer
        self._clock = clock
        self._options = options
        self._states: dict[str, tuple[str | None, float]] = {}
        self._lock = threading.Lock()

    # -- BC's calls ----------------------------------------------------------------------------------

    @staticmethod
    def handshake(token: str) -> str:
        """The validation token to echo; InvalidInput for one that is too long or has odd characters."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise InvalidInput(f"validationToken must be 1 to {MAX_TOKEN_LENGTH} URL-safe characters.",
                               field="validationToken")
        return token

    def receive(self, connector: str | None, body: bytes) -> Receipt:
        """Check BC's notification and ask for one import run of the connector. Raises NotFound (refused:
        unknown connector or clientState), InvalidInput (not BC's shape), TransientError (not recorded)."""
        items = _items(body)
        try:
            name = parse_connector_name(connector if isinstance(connector, str) else None)
        except SettingsInvalid:
            raise _refused() from None
        expected = self._client_state(name)
        if expected and not all(_same(item.get("clientState"), expected) for item in items):
            expected = self._client_state(name, mismatch=True)
        if not expected or not all(_same(item.get("clientState"), expected) for item in items):
            log.warning("Webhook notification for connector %s refused: unknown or wrong clientState", name)
            raise _refused()
        queued = self.request_run(name)
        kinds = tuple(sorted({str(i.get("changeType") or "") for i in items}))
        log.info("Webhook notification for connector %s: %d items (%s); import run %s", name, len(items),
                 ",".join(kinds), "queued" if queued else "already queued")
        return Receipt(name, len(items), queued, kinds)

    def _client_state(self, name: str, *, mismatch: bool = False) -> str | None:
        """The connector's clientState, cached per worker so an anonymous caller cannot turn every request
        into a Key Vault read: a value for `state_ttl`, an absence for `recheck_after`; after a mismatch the
        vault is asked again at most once per `recheck_after` (the secret is replaced only when real time is
        switched off and on again)."""
        now = self._clock.monotonic()
        with self._lock:
            cached = self._states.get(name)
        if cached is not None:
            value, read_at = cached
            age = now - read_at
            fresh = age < (self._options.state_ttl_seconds if value else self._options.recheck_after_seconds)
            if fresh and not (mismatch and age >= self._options.recheck_after_seconds):
                return value
        value = self._secrets.get_secret(webhook_state_name(name))
        with self._lock:
            if len(self._states) >= 10_000:
                self._states.clear()
            self._states[name] = (value, now)
        return value

    # -- coalescing --------------------------------------------------------------------------------------

    def request_run(self, name: str, *, delay_seconds: int = 0) -> bool:
        """Queue one import run of `name` unless one is queued already; True when this call queued it."""
        now = self._clock.now()
        stale_before = now - self._options.stale_after

        def decide(row: ImportRequest | None) -> ImportRequest | None:
            if row is not None and row.queued and (parse_iso(row.queued_at) or now) > stale_before:
                coalesced.append(row)
                return None
            base = row or ImportRequest(connector=name, queued=False)
            return replace(base, queued=True, queued_at=iso(now))

        coalesced: list[ImportRequest] = []
        try:
            written = guarded_update(lambda: self._rows.get(name), decide, self._rows.put,
                                     what=f"import request of connector '{name}'")
        except ConflictError as err:  # a hot row: let BC retry rather than drop (409 would delete it)
            raise TransientError(str(err), code="ImportRequestBusy", retry_after=5) from err
        if written is None:
            self._count_coalesced(name)
            return False
        try:
            self._queue.send(name, delay_seconds=delay_seconds)
        except Exception:
            self._unqueue(name)
            raise
        return True

    def run_requested(self, text: str) -> RunSummary | None:
        """The queue trigger of `bc-import-requests`: clear the flag, run the import. None when there is
        nothing to run (connector gone, expenses off, a message that is not ours)."""
        try:
            payload = json.loads(text)
            named = payload.get("connector") if isinstance(payload, dict) else None
            name = parse_connector_name(named if isinstance(named, str) else None)
        except (ValueError, SettingsInvalid):
            log.warning("bc-import-requests: a message that names no connector was dropped")
            return None
        self._start(name)
        try:
            summary = self._importer.import_one(name)
        except (ConnectorNotFound, SettingsInvalid) as err:
            log.info("Requested import of connector %s not run: %s", name, err)
            return None
        if summary.status == "partial":
            self.request_run(name)  # the budget ran out: carry on now rather than at the next timer run
        elif summary.status == "busy":
            # Another run holds the lease and may have read past the change already or not: one more run.
            self.request_run(name, delay_seconds=self._options.busy_delay_seconds)
        return summary

    def _start(self, name: str) -> None:
        def decide(row: ImportRequest | None) -> ImportRequest | None:
            if row is None:
                return ImportRequest(connector=name, queued=False, runs=1)
            return replace(row, queued=False, runs=row.runs + 1)

        guarded_update(lambda: self._rows.get(name), decide, self._rows.put,
                       what=f"import request of connector '{name}'")

    def _unqueue(self, name: str) -> None:
        def decide(row: ImportRequest | None) -> ImportRequest | None:
            return replace(row, queued=False) if row is not None and row.queued else None

        try:
            guarded_update(lambda: self._rows.get(name), decide, self._rows.put, what="import request")
        except Exception:  # noqa: BLE001 - the flag goes stale after stale_after and stops coalescing
            log.warning("Connector %s: import request flag left queued without a message", name, exc_info=True)

    def _count_coalesced(self, name: str) -> None:
        def decide(row: ImportRequest | None) -> ImportRequest | None:
            return replace(row, coalesced=row.coalesced + 1) if row is not None and row.queued else None

        try:
            guarded_update(lambda: self._rows.get(name), decide, self._rows.put, what="import request", attempts=2)
        except Exception:  # noqa: BLE001 - a counter only
            pass

    def view(self, name: str) -> JsonObject:
        row = self._rows.get(name)
        if row is None:
            return {}
        return {"queued": row.queued, "queuedAt": row.queued_at or None, "runs": row.runs,
                "coalesced": row.coalesced}


def _refused() -> NotFound:
    return NotFound("Unknown subscription.", code="UnknownSubscription", field="clientState")


def _same(given: object, expected: str) -> bool:
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _items(body: bytes) -> list[JsonObject]:
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"The notification is larger than {MAX_BODY_BYTES} bytes.", field="(body)")
    try:
        payload = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("The notification is not JSON.", field="(body)") from None
    value = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(value, list) or not value or not all(isinstance(i, dict) for i in value):
        raise InvalidInput('A notification is {"value": [ {subscriptionId, clientState, ...}, ... ]}.',
                           field="value")
    return value
