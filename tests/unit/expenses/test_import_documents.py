"""The import use case on posted purchase invoices and credit memos, against a fake BC and in-memory stores."""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from collections import Counter

import pytest
from tests.unit.expenses._fakes import COMPANY_ID, NAME, FakeBcClients, World

from shared.auth import ReconnectRequiredError
from shared.bc import BcThrottledError


def invoice(world, *projects, **kwargs):
    return world.bc.post_document(lines=[{"project": p, "amount": 10 * (n + 1)} for n, p in enumerate(projects)],
                                  **kwargs)


def test_posted_lines_on_known_projects_are_sent_once_with_a_summary_on_the_connector():
    world = World()
    doc = invoice(world, "P-1", "P-2", None)
    world.bc.post_document(lines=[{"project": "P-1"}], status="Draft")
    summary = world.run()
    assert summary.status == "completed"
    assert world.keys == [f"{COMPANY_ID}:{doc['purchaseInvoiceLines'][0]['id']}",
                          f"{COMPANY_ID}:{doc['purchaseInvoiceLines'][1]['id']}"]
    counts = summary.to_dict()
    assert (counts["read"], counts["sent"], counts["skipped"]) == (4, 2, 2)
    assert counts["sources"]["purchaseInvoices"]["skippedBy"] == {"noProject": 1, "notPosted": 1}
    stats = world.stats()
    assert (stats["status"], stats["sent"], stats["failureStreak"]) == ("completed", 2, 0)


def test_a_second_run_re_reads_the_overlap_and_sends_nothing_again():
    world = World()
    invoice(world, "P-1", "P-2")
    world.run()
    world.clock.advance(minutes=15)
    summary = world.run()
    assert len(world.keys) == 2
    assert summary.to_dict()["sources"]["purchaseInvoices"]["skippedBy"] == {"alreadyImported": 2}


def test_a_document_modified_after_import_such_as_paid_is_not_imported_again():
    world = World()
    doc = invoice(world, "P-1")
    world.run()
    world.clock.advance(days=20)
    world.bc.modify_document(doc, status="Paid")
    summary = world.run()
    assert len(world.keys) == 1
    assert summary.counts("purchaseInvoices").skipped["alreadyImported"] == 1


def test_a_document_committed_late_with_an_older_timestamp_is_imported_once():
    world = World()
    invoice(world, "P-1")
    world.run()
    late = invoice(world, "P-2", modified=world.clock.now() - _dt.timedelta(minutes=3))
    world.clock.advance(minutes=1)
    world.run()
    world.clock.advance(minutes=15)
    world.run()
    assert world.keys.count(f"{COMPANY_ID}:{late['purchaseInvoiceLines'][0]['id']}") == 1


def test_timestamps_that_tie_across_a_page_boundary_lose_nothing():
    world = World()
    docs = [invoice(world, "P-1") for _ in range(5)]  # all stamped at the same instant; pages of 2
    world.run()
    docs.append(invoice(world, "P-2"))
    world.run()
    assert sorted(world.keys) == sorted(f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs)


def test_corrective_credit_memo_lines_are_sent_with_negative_amounts():
    world = World()
    world.bc.post_document("purchaseCreditMemos", lines=[{"project": "P-1", "amount": 40, "quantity": 1}])
    world.run()
    message = world.outbox.messages[0]
    assert (message["source"], message["amount"], message["quantity"]) == ("purchaseCreditMemos", -40, -1)


def test_moving_from_date_earlier_imports_the_older_expenses_once_and_re_sends_nothing():
    world = World()
    old = invoice(world, "P-1", posting_date="2026-10-15")
    new = invoice(world, "P-2", posting_date="2026-11-05")
    world.run()
    assert len(world.keys) == 1
    world.set_expenses(fromDate="2026-10-01")
    world.clock.advance(hours=1)
    world.run()
    assert sorted(world.keys) == sorted(f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in (old, new))


def test_moving_from_date_later_stops_importing_older_postings_but_withdraws_nothing():
    world = World()
    invoice(world, "P-1", posting_date="2026-11-02")
    world.run()
    world.set_expenses(fromDate="2026-11-10")
    backdated = invoice(world, "P-2", posting_date="2026-11-05")
    current = invoice(world, "P-3", posting_date="2026-11-12")
    world.clock.advance(minutes=15)
    world.run()
    assert len(world.keys) == 2
    assert f"{COMPANY_ID}:{backdated['purchaseInvoiceLines'][0]['id']}" not in world.keys
    assert f"{COMPANY_ID}:{current['purchaseInvoiceLines'][0]['id']}" in world.keys


def test_a_crash_after_sending_and_before_the_cursor_is_saved_re_sends_at_most_that_page():
    world = World()
    docs = [invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n)) for n in range(5)]
    saves = Counter()
    real_mark = world.cursors.mark_imported

    def crash_on_second_page(connector, source, markers, *, at):
        saves[source] += 1
        if saves[source] == 2:
            raise OSError("worker died")
        real_mark(connector, source, markers, at=at)

    world.cursors.mark_imported = crash_on_second_page
    assert world.run().status == "failed"
    assert len(world.keys) == 4  # pages 1 and 2 were sent; page 2 was not recorded
    world.cursors.mark_imported = real_mark
    world.clock.advance(minutes=15)
    assert world.run().status == "completed"
    repeats = [k for k, n in Counter(world.keys).items() if n > 1]
    assert len(repeats) == 2  # one page of 2 documents, sent twice; the host drops them by key
    assert set(world.keys) == {f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs}


def test_a_run_out_of_time_stops_between_pages_and_the_next_run_continues():
    world = World(tick=1.0)  # every budget check costs a second
    docs = [invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n)) for n in range(6)]
    first = world.run(budget_seconds=2.5)
    assert first.status == "partial"
    assert 0 < len(world.keys) < 6
    world.run(budget_seconds=60)
    assert sorted(set(world.keys)) == sorted(f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs)
    assert len(world.keys) == 6


def test_a_run_while_another_holds_the_lease_is_busy_and_reads_nothing():
    world = World()
    invoice(world, "P-1")
    held = world.leases.acquire(NAME, "other-run", ttl=_dt.timedelta(minutes=6))
    summary = world.run()
    assert summary.status == "busy"
    assert world.bc.requests == []
    held.release()
    assert world.run().status == "completed"


def test_an_expired_lease_of_a_crashed_run_is_taken_over():
    world = World()
    world.leases.acquire(NAME, "crashed-run", ttl=_dt.timedelta(minutes=6))
    world.clock.advance(minutes=7)
    assert world.run().status == "completed"


def test_a_lease_taken_over_mid_run_stops_the_run_before_it_sends_more():
    world = World()
    for n in range(4):
        invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n))

    def steal(messages):
        world.clock.moment += _dt.timedelta(minutes=7)  # our lease expired; another run takes it
        world.leases.acquire(NAME, "other-run", ttl=_dt.timedelta(minutes=6))

    world.outbox.on_send = steal
    summary = world.run()
    assert summary.status == "failed" and summary.error["code"] == "LeaseLost"
    assert len(world.keys) == 2


def test_an_unknown_project_value_is_reported_once_and_its_lines_are_not_sent():
    world = World()
    invoice(world, "P-1", "P-77")
    summary = world.run()
    assert summary.to_dict()["unknownProjectValues"] == ["P-77"]
    assert len(world.keys) == 1
    invoice(world, "P-77")
    world.clock.advance(minutes=1)
    world.run()
    warnings = [n for n in world.notifications if n["details"].get("reason") == "unknown_projects"]
    assert len(warnings) == 1
    assert (warnings[0]["event"], warnings[0]["severity"]) == ("import_failed", "warning")
    assert "P-77" in warnings[0]["message"] and warnings[0]["recipients"] == ["ops@example.com"]
    invoice(world, "P-88")
    world.clock.advance(minutes=1)
    world.run()
    warnings = [n for n in world.notifications if n["details"].get("reason") == "unknown_projects"]
    assert [list(w["details"]["values"]) for w in warnings] == [["P-77"], ["P-88"]]


def test_failures_notify_once_per_streak():
    world = World()
    invoice(world, "P-1")
    for _ in range(3):
        world.bc.fail_next = BcThrottledError("Too many requests.", status=429, code="Application_TooManyRequests")
        assert world.run().status == "failed"
    failures = [n for n in world.notifications if n["event"] == "import_failed"]
    assert len(failures) == 1 and failures[0]["severity"] == "error"
    assert world.stats()["failureStreak"] == 3
    assert world.run().status == "completed"
    assert world.stats()["failureStreak"] == 0
    world.bc.fail_next = BcThrottledError("Too many requests.", status=429, code="Application_TooManyRequests")
    world.run()
    assert len([n for n in world.notifications if n["event"] == "import_failed"]) == 2


def test_a_revoked_grant_marks_the_connector_once_and_later_runs_skip_it():
    world = World()

    revoked = FakeBcClients(world.bc, fail=ReconnectRequiredError("AADSTS50173: the grant was revoked.",
                                                                  error="invalid_grant"))
    summary = world.run(bc_clients=revoked)
    assert summary.status == "reconnect_required"
    assert world.store.get(NAME).status == "reconnect_required"
    assert [n["event"] for n in world.notifications] == ["reconnect_required"]
    again = world.run(bc_clients=revoked)
    assert again.status == "skipped" and "reconnected" in again.message
    assert [n["event"] for n in world.notifications] == ["reconnect_required"]


def test_a_connector_without_a_project_dimension_fails_with_the_field_to_set():
    world = World()
    record = world.store.get(NAME)
    record.settings = replace(record.settings, projects_enabled=False, project_dimension=None)
    world.store.update(record)
    summary = world.run()
    assert summary.status == "failed"
    assert summary.error["field"] == "projects.dimension"
    assert world.bc.requests == []


@pytest.mark.parametrize("status", ["consent_required", "disabled"])
def test_connectors_that_cannot_reach_bc_are_skipped_without_a_request(status):
    world = World()
    record = world.store.get(NAME)
    record.status = status
    world.store.update(record)
    assert world.run().status == "skipped"
    assert world.bc.requests == []


def test_each_page_costs_one_request_plus_one_batch_per_run():
    world = World()
    for n in range(5):
        invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n))
    world.run()
    # the catalog $batch, 3 pages of invoices (2+2+1), one (empty) page of credit memos
    assert [method for method, _ in world.bc.requests] == ["POST", "GET", "GET", "GET", "GET"]


def test_documents_answered_out_of_timestamp_order_stop_the_run_before_anything_is_sent():
    world = World()
    for n in range(2):
        invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n))
    real_list = world.bc.list_entities
    world.bc.list_entities = lambda *args, **kwargs: iter(reversed(list(real_list(*args, **kwargs))))
    summary = world.run()
    assert (summary.status, summary.error["code"]) == ("failed", "OutOfOrder")
    assert world.keys == []


def test_a_page_whose_send_fails_is_sent_by_the_next_run_exactly_once():
    world = World()
    docs = [invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n)) for n in range(5)]
    world.outbox.fail_after = 2
    failed = world.run()
    assert (failed.status, failed.error["retryable"]) == ("failed", True)
    world.outbox.fail_after = None
    world.clock.advance(minutes=15)
    world.run()
    assert sorted(world.keys) == sorted(f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs)


def test_reading_ahead_never_records_a_page_before_the_pages_before_it():
    world = World()
    docs = [invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n)) for n in range(5)]
    recorded: list[tuple[list[str], int]] = []
    saved: list[str] = []
    real_mark, real_save = world.cursors.mark_imported, world.cursors.save

    def mark(connector, source, markers, *, at):
        reads = sum(1 for _, path in world.bc.requests if path.startswith("purchaseInvoices"))
        recorded.append(([m.document_id for m in markers], reads))
        real_mark(connector, source, markers, at=at)

    def save(connector, name, state, **kwargs):
        if name == "purchaseInvoices":
            saved.append(state["modifiedSince"])
        real_save(connector, name, state, **kwargs)

    world.cursors.mark_imported, world.cursors.save = mark, save
    assert world.run().status == "completed"
    pages = [[d["id"] for d in docs[0:2]], [d["id"] for d in docs[2:4]], [d["id"] for d in docs[4:]]]
    assert [ids for ids, _ in recorded] == pages  # each page recorded once, in BC's order
    assert all(reads <= n + 2 for n, (_, reads) in enumerate(recorded))  # at most the next page read meanwhile
    assert saved == [docs[1]["lastModifiedDateTime"], docs[3]["lastModifiedDateTime"], docs[4]["lastModifiedDateTime"]]


def test_a_page_whose_read_fails_leaves_the_pages_before_it_sent_and_recorded_and_nothing_is_sent_twice():
    world = World()
    docs = [invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n)) for n in range(5)]
    real_list = world.bc.list_entities

    def second_page_fails(*args, **kwargs):
        items = real_list(*args, **kwargs)
        for n, item in enumerate(items):
            if n == 2:  # the first item of the second page (pages of 2)
                raise BcThrottledError("BC is busy", retry_after=None)
            yield item

    world.bc.list_entities = second_page_fails
    failed = world.run()
    assert failed.status == "failed"
    assert world.keys == [f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs[:2]]
    assert world.cursors.load(NAME, "purchaseInvoices")["modifiedSince"] == docs[1]["lastModifiedDateTime"]
    world.bc.list_entities = real_list
    world.clock.advance(minutes=15)
    assert world.run().status == "completed"
    assert sorted(world.keys) == sorted(f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs)


def test_a_page_whose_sends_partly_fail_is_not_recorded_and_the_next_run_sends_all_of_it_again():
    world = World()
    docs = [invoice(world, "P-1", modified=world.clock.now() + _dt.timedelta(seconds=n)) for n in range(5)]
    keys = [f"{COMPANY_ID}:{d['purchaseInvoiceLines'][0]['id']}" for d in docs]
    world.outbox.fail_after, world.outbox.partial = 3, True  # page 1 sent; of page 2 one message, then a failure
    failed = world.run()
    assert (failed.status, failed.error["retryable"]) == ("failed", True)
    assert world.keys == keys[:3]
    assert world.cursors.load(NAME, "purchaseInvoices")["modifiedSince"] == docs[1]["lastModifiedDateTime"]
    world.outbox.fail_after = None
    world.clock.advance(minutes=15)
    assert world.run().status == "completed"
    assert sorted(world.keys) == sorted(keys + [keys[2]])  # page 2 sent again whole; the host drops keys[2] by key
