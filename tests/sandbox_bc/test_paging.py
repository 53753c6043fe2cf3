"""Server-driven paging: Prefer odata.maxpagesize, @odata.nextLink with an opaque key-based $skiptoken."""

from __future__ import annotations

import time

from ._client import company_path

CUSTOMERS = company_path() + "/customers"


def add_customers(bc, count: int, prefix: str = "N") -> None:
    for n in range(count):
        assert bc.post(CUSTOMERS, {"number": "%s%04d" % (prefix, n), "displayName": "Paging %d" % n}).status == 201


def test_max_page_size_pages_with_next_links_until_the_last_page(bc):
    add_customers(bc, 45)
    seen, links, answer = [], 0, bc.get(CUSTOMERS + "?$select=number", headers={"Prefer": "odata.maxpagesize=10"})
    while True:
        assert answer.status == 200
        assert answer.headers["Preference-Applied"] == "odata.maxpagesize=10"
        seen += [c["number"] for c in answer.value]
        link = answer.body.get("@odata.nextLink")
        if not link:
            break
        links += 1
        assert "$skiptoken=" in link and "$select=number" in link
        answer = bc.follow(link, headers={"Prefer": "odata.maxpagesize=10"})
    assert len(seen) == 51 and len(set(seen)) == 51
    assert seen == sorted(seen)
    assert links == 5


def test_without_prefer_there_is_no_next_link_below_20000(bc):
    answer = bc.get(CUSTOMERS)
    assert "@odata.nextLink" not in answer.body
    assert "Preference-Applied" not in answer.headers


def test_the_skiptoken_resumes_after_the_last_key_even_when_rows_are_inserted(bc):
    add_customers(bc, 20, prefix="M")
    first = bc.get(CUSTOMERS + "?$select=number", headers={"Prefer": "odata.maxpagesize=10"})
    first_numbers = [c["number"] for c in first.value]
    last = first_numbers[-1]
    # one row sorts before the cursor, one after: only the later one may appear on the next pages
    bc.post(CUSTOMERS, {"number": "A0001", "displayName": "Before the cursor"})
    bc.post(CUSTOMERS, {"number": "ZZ001", "displayName": "After the cursor"})
    rest, answer = [], first
    while answer.body.get("@odata.nextLink"):
        answer = bc.follow(answer.body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=10"})
        rest += [c["number"] for c in answer.value]
    assert "A0001" not in rest and "ZZ001" in rest
    assert all(n > last for n in rest)
    assert not set(first_numbers) & set(rest)


def test_top_limits_the_total_across_pages(bc):
    add_customers(bc, 30)
    answer = bc.get(CUSTOMERS + "?$top=25&$select=number", headers={"Prefer": "odata.maxpagesize=10"})
    sizes = [len(answer.value)]
    while answer.body.get("@odata.nextLink"):
        answer = bc.follow(answer.body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=10"})
        sizes.append(len(answer.value))
    assert sizes == [10, 10, 5]


def test_paging_follows_orderby_descending(bc):
    add_customers(bc, 12)
    answer = bc.get(CUSTOMERS + "?$orderby=number desc&$select=number", headers={"Prefer": "odata.maxpagesize=5"})
    seen = [c["number"] for c in answer.value]
    while answer.body.get("@odata.nextLink"):
        answer = bc.follow(answer.body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=5"})
        seen += [c["number"] for c in answer.value]
    assert seen == sorted(seen, reverse=True) and len(seen) == 18


def test_a_tampered_skiptoken_is_rejected(bc):
    answer = bc.get(CUSTOMERS + "?$skiptoken=not-a-token")
    assert answer.status == 400
    assert "skip token" in answer.message


def test_paging_a_large_ledger_by_entry_number_stays_fast(bc, world):
    from sandbox.bc._documents import post_gl_entry

    env = world._env(bc.tenant, bc.environment)  # noqa: SLF001 - seeding bulk rows like a benchmark generator would
    company = next(c for c in env.companies.values() if c.tax_mode == "salesTax")
    for n in range(10_000):
        post_gl_entry(company, posting_date="2026-11-01", doc_type="Invoice", doc_no="BULK%05d" % n,
                      account_no="60100", description="Bulk", amount=1, dims={})
    started = time.perf_counter()
    answer = bc.get(company_path() + "/generalLedgerEntries?$filter=entryNumber gt 100&$select=entryNumber",
                    headers={"Prefer": "odata.maxpagesize=1000"})
    count = len(answer.value)
    while answer.body.get("@odata.nextLink"):
        answer = bc.follow(answer.body["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=1000"})
        count += len(answer.value)
    elapsed = time.perf_counter() - started
    assert count == company.gl_entry_no - 100
    assert elapsed < 3, elapsed
