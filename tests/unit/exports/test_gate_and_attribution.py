"""BC's error texts are traced to host fields. (The per-connector gate's tests moved to tests/unit/bc/test_bc_gate.py.)"""

from __future__ import annotations


import pytest

from shared.exports import attribute_field


CANDIDATES = [
    ("data.number", ("enter numbers manually",), "NW-1"),
    ("customers.domestic.customerPostingGroup", ("Customer Posting Group",), "GONE"),
    ("data.currencyCode", ('"currencyCode"',), "XYZ"),
    ("data.lines[0].unitOfMeasure", (), "BOX"),
    ("data.lines[1].product.number", (), "1999-B"),
    ("data.project.number", (), "P-0999"),
]


@pytest.mark.parametrize("message, field", [
    ("You may not enter numbers manually. If you want to enter numbers manually, please activate Manual Nos. in "
     "No. Series CUST.", "data.number"),
    ("The field Customer Posting Group of table Customer contains a value (GONE) that cannot be found in the "
     "related table (Customer Posting Group).", "customers.domestic.customerPostingGroup"),
    ('The "currencyCode" does not match to a Currency.', "data.currencyCode"),
    ("The field Unit of Measure Code of table Sales Line contains a value (BOX) that cannot be found in the "
     "related table (Item Unit of Measure).", "data.lines[0].unitOfMeasure"),
    ("Blocked must be equal to 'No'  in Item: No.=1999-B. Current value is 'Yes'.", "data.lines[1].product.number"),
    ("Dimension Value PROJECT - P-0999 is blocked.", "data.project.number"),
    ("Something BC says about nothing we sent.", "data"),
])
def test_bcs_messages_are_traced_to_the_host_field_they_are_about(message, field):
    assert attribute_field(message, CANDIDATES, "data") == field
