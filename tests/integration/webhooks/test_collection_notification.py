"""A `collection` notification as BC sends it: more than 1,000 changes within the notification delay become one
notification whose resource carries a `$filter` instead of record ids. The app does not read the filter: the
notification asks for one import run, and the incremental import picks up every change.

The sandbox's `collectionThreshold` (BC's 1,000 by default) is lowered through its control API, so that the
import behind the notification takes milliseconds rather than seconds (tests/sandbox_bc proves the 1,000 itself)."""

from __future__ import annotations

import json
import time

import pytest

from sandbox import constants
from tests.integration.expenses._helpers import run_now, sent_messages

pytestmark = pytest.mark.integration

US = (constants.TENANT_ID, constants.ENVIRONMENT, constants.US_COMPANY)
THRESHOLD = 5
ENTRIES = THRESHOLD + 1  # one more than the sandbox lists one by one


def _requests(worker) -> list[dict]:
    return [json.loads(m.content) for m in worker.queue("import-requests").peek_messages(max_messages=32)]


def _delivered(bc) -> list[dict]:
    return [e for e in bc.webhook_log() if e["kind"] == "notification" and e["outcome"] == "delivered"]


def test_a_collection_notification_from_bc_brings_every_change_in_with_one_import_run(push, realtime_connector,
                                                                                     connector_name, bc):
    bc.set_webhook_settings(collectionThreshold=THRESHOLD)
    worker, host, _ = push
    realtime_connector(source="generalLedger")
    run_now(connector_name)  # the fixture company's history, as the first timer run would
    sent_messages(worker, connector_name)

    bc.bulk_insert(*US, generalLedgerEntries=ENTRIES, postingDate="2026-11-02", projects=["P-1001", "P-1002"])
    bc.flush_webhooks()
    deadline = time.monotonic() + 20
    while not (_delivered(bc) and _requests(worker)) and time.monotonic() < deadline:
        time.sleep(0.05)

    [notification] = _delivered(bc)
    assert (notification["count"], notification["changeTypes"]) == (1, ["collection"])
    assert "$filter=" in notification["body"]["value"][0]["resource"]
    assert _requests(worker) == [{"connector": connector_name}]
    ran = [o.function for o in host.poll_queues_once() if "import" in o.function]
    assert ran == ["run_requested_import"]
    keys = [m["key"] for m in sent_messages(worker, connector_name)]
    assert len(keys) == len(set(keys)) == ENTRIES
