"""`list_` methods follow @odata.nextLink lazily and refuse to loop (meltano singer_sdk pagination.py)."""

from __future__ import annotations

import pytest
from tests.unit.bc._fakes import COMPANY, COMPANY_ID, ODATA
from responses import matchers

from shared.bc import BcPaginationError, BcPermanentError


def _page(values, next_link=None):
    body = {"@odata.context": "…/$metadata#customers", "value": values}
    if next_link:
        body["@odata.nextLink"] = next_link
    return body


def test_list_entities_follows_next_links_over_three_pages_with_the_prefer_header(client, fake_bc):
    prefer = matchers.header_matcher({"Prefer": "odata.maxpagesize=2"})
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 1}, {"n": 2}], f"{COMPANY}/customers?$skiptoken=2"),
           match=[prefer, matchers.query_param_matcher({})])
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 3}, {"n": 4}], f"{COMPANY}/customers?$skiptoken=4"),
           match=[prefer, matchers.query_param_matcher({"$skiptoken": "2"})])
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 5}]),
           match=[prefer, matchers.query_param_matcher({"$skiptoken": "4"})])

    rows = list(client.list_entities(COMPANY_ID, "customers", page_size=2))

    assert [r["n"] for r in rows] == [1, 2, 3, 4, 5]
    assert len(fake_bc.calls) == 3


def test_list_entities_fetches_the_next_page_only_when_the_caller_gets_there(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 1}], f"{COMPANY}/customers?$skiptoken=1"),
           match=[matchers.query_param_matcher({})])
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 2}]), match=[matchers.query_param_matcher({"$skiptoken": "1"})])

    rows = client.list_entities(COMPANY_ID, "customers")
    assert len(fake_bc.calls) == 0
    assert next(rows) == {"n": 1}
    assert len(fake_bc.calls) == 1
    assert next(rows) == {"n": 2}
    assert len(fake_bc.calls) == 2


def test_a_relative_next_link_is_resolved_against_the_page_url(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 1}], "customers?$skiptoken=1"),
           match=[matchers.query_param_matcher({})])
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 2}]), match=[matchers.query_param_matcher({"$skiptoken": "1"})])
    assert [r["n"] for r in client.list_entities(COMPANY_ID, "customers")] == [1, 2]


def test_a_repeated_next_link_raises_loop_detected_in_pagination(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 1}], f"{COMPANY}/customers?$skiptoken=1"),
           match=[matchers.query_param_matcher({})])
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 2}], f"{COMPANY}/customers?$skiptoken=1"),
           match=[matchers.query_param_matcher({"$skiptoken": "1"})])

    rows = client.list_entities(COMPANY_ID, "customers")
    with pytest.raises(BcPaginationError, match="Loop detected in pagination") as caught:
        list(rows)
    assert isinstance(caught.value, BcPermanentError)
    assert "after 2 pages" in str(caught.value)
    assert len(fake_bc.calls) == 2


def test_a_next_link_pointing_back_at_the_first_page_is_a_loop_too(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 1}], f"{COMPANY}/customers"))
    with pytest.raises(BcPaginationError, match="Loop detected"):
        list(client.list_entities(COMPANY_ID, "customers"))


def test_a_next_link_to_another_host_is_not_followed_with_the_token(client, fake_bc):
    fake_bc.get(f"{COMPANY}/customers", json=_page([{"n": 1}], "https://evil.test/steal?$skiptoken=1"))
    with pytest.raises(BcPaginationError, match="another host"):
        list(client.list_entities(COMPANY_ID, "customers"))
    assert [c.request.url.split("/")[2] for c in fake_bc.calls] == ["bc.test"]


def test_list_odata_pages_with_the_prefer_header_too(client, fake_bc):
    url = f"{ODATA}/Company('CRONUS%20USA%2C%20Inc.')/GenBusinessPostingGroups"
    prefer = matchers.header_matcher({"Prefer": "odata.maxpagesize=1"})
    fake_bc.get(url, json=_page([{"Code": "DOMESTIC"}], f"{url}?$skiptoken='DOMESTIC'"),
           match=[prefer, matchers.query_param_matcher({"$select": "Code"})])
    fake_bc.get(url, json=_page([{"Code": "FOREIGN"}]),
           match=[prefer, matchers.query_param_matcher({"$skiptoken": "'DOMESTIC'"})])
    rows = client.list_odata("CRONUS USA, Inc.", "GenBusinessPostingGroups", select=["Code"], page_size=1)
    assert [r["Code"] for r in rows] == ["DOMESTIC", "FOREIGN"]


def test_list_companies_follows_next_links_and_returns_a_list(client, fake_bc):
    companies = f"{client.api_base}/companies"
    fake_bc.get(companies, json=_page([{"name": "A"}], f"{companies}?$skiptoken=1"),
           match=[matchers.query_param_matcher({})])
    fake_bc.get(companies, json=_page([{"name": "B"}]), match=[matchers.query_param_matcher({"$skiptoken": "1"})])
    assert client.list_companies() == [{"name": "A"}, {"name": "B"}]


@pytest.mark.parametrize("size", [0, 20_001, 2.5, True])
def test_a_page_size_outside_bcs_limit_is_rejected_before_any_request(client, fake_bc, size):
    with pytest.raises(ValueError, match="page_size"):
        client.list_entities(COMPANY_ID, "customers", page_size=size)
    assert len(fake_bc.calls) == 0
