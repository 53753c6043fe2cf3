"""Projects end to end: one value of `projects.dimension` per project, through the DimensionValues page."""

from __future__ import annotations

import pytest

from tests.integration.exports._helpers import describe

pytestmark = pytest.mark.integration


def project(host_id: str = "prj-1", number: str = "P-2001", name: str = "Harbour bridge survey", **changes):
    return {"id": host_id, "number": number, "name": name, "customerId": "cust-1", "status": "active", **changes}


def test_a_new_project_becomes_a_dimension_value_in_one_request(exp):
    exp.save()
    mark = exp.mark()
    outcome = exp.send("project", project())
    assert outcome["status"] == "created"
    assert outcome["bc"] == {"id": None, "number": "P-2001"}
    assert describe(exp.bc_since(mark)) == ["POST Company('CRONUS%20USA%2C%20Inc.')/DimensionValues"]
    value = exp.dimension_value("PROJECT", "P-2001")
    assert (value["Name"], value["Blocked"], value["Dimension_Value_Type"]) == ("Harbour bridge survey", False,
                                                                                  "Standard")
    # Usable at once through API v2.0 (where invoices look for it).
    codes = [v["code"] for v in exp.client().list_entities(exp.company_id, "dimensionValues",
                                                              filter="code eq 'P-2001'")]
    assert codes == ["P-2001"]


def test_a_long_name_is_shortened_to_fifty_characters_and_the_outcome_says_so(exp):
    exp.save()
    long_name = "Renovation of the north wing, phase two: structural works and facade"
    outcome = exp.send("project", project(name=long_name))
    assert outcome["status"] == "created"
    assert len(exp.dimension_value("PROJECT", "P-2001")["Name"]) <= 50
    assert exp.dimension_value("PROJECT", "P-2001")["Name"] == long_name[:50].rstrip()
    assert any("shortened" in w and "50" in w for w in outcome["warnings"])


def test_closing_a_project_blocks_its_value_and_reopening_unblocks_it(exp):
    exp.save()
    exp.send("project", project(), version=1)
    mark = exp.mark()
    closed = exp.send("project", project(status="closed"), version=2)
    assert closed["status"] == "updated"
    assert [r["method"] for r in exp.bc_since(mark)] == ["PATCH"]
    assert exp.dimension_value("PROJECT", "P-2001")["Blocked"] is True
    reopened = exp.send("project", project(status="active"), version=3)
    assert reopened["status"] == "updated"
    assert exp.dimension_value("PROJECT", "P-2001")["Blocked"] is False


def test_a_project_whose_value_exists_in_bc_is_adopted(exp):
    exp.save()
    outcome = exp.send("project", project(number="p-1001", name="Website relaunch 2027"))
    assert outcome["status"] == "updated"
    assert exp.dimension_value("PROJECT", "P-1001")["Name"] == "Website relaunch 2027"


def test_an_unchanged_project_costs_nothing(exp):
    exp.save()
    exp.send("project", project(), version=1)
    mark = exp.mark()
    assert exp.send("project", project(), version=2)["status"] == "unchanged"
    assert exp.bc_since(mark) == []


def test_projects_go_to_the_configured_dimension_in_the_vat_company(exp):
    exp.save("vat", projects__dimension="AREA")
    outcome = exp.send("project", project(number="40", name="Nordic"))
    assert outcome["status"] == "created", outcome
    assert exp.dimension_value("AREA", "40")["Name"] == "Nordic"


def test_a_project_number_longer_than_a_bc_code_fails_on_that_field(exp):
    exp.save()
    outcome = exp.send("project", project(number="P-" + "9" * 30))
    assert outcome["status"] == "failed"
    assert outcome["error"]["field"] == "data.number"
    assert "20" in outcome["error"]["message"]
