"""The JSON Schemas of docs/schemas/ and the parsers agree (issue 11): every document generated from a schema
is accepted by the parser, or refused only for a reason the schema cannot express (listed below and in
docs/host-integration.md "Schemas"). What the app sends is checked against the output schemas wherever the
suite sends it (tests/conftest.py installs `check_sent`)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings

from shared.connectors import SettingsInvalid, parse_put_body
from shared.messages import MessageInvalid, parse_data, parse_envelope
from tests._schemas import SCHEMAS, documents, schema, validator

#: Refusals the schemas cannot express, as (field pattern, message pattern). Empty means none was needed:
#: the generated documents are all accepted.
MESSAGE_REASONS_THE_SCHEMA_CANNOT_EXPRESS: list[tuple[str, str]] = [
    # The whole text is at most 64 KiB: a queue message's size, not a property of any one field.
    (r"^\(message\)$", r"queue messages hold at most"),
    # An invoice's lines must not add up to less than zero (BC posts that only as a credit memo), and a line's
    # quantity × unitPrice and the total must fit BC's amounts: sums and products of fields.
    (r"^data\.lines$", r"negative total|too large"),
    (r"^data\.lines\[\d+\]$", r"too large"),
]
#: None at parse time. What only Business Central can say (a code that does not exist in the company, a tax
#: group for a VAT company, an unpublished web service, Manual Nos.) is checked on save, after parsing.
SETTINGS_REASONS_THE_SCHEMA_CANNOT_EXPRESS: list[tuple[str, str]] = []

EXAMPLES = 40  # per message schema; bounded so the suite stays quick
SETTINGS_EXAMPLES = 30


def _explained(field: str, message: str, reasons: list[tuple[str, str]]) -> bool:
    return any(re.search(f, field) and re.search(m, message) for f, m in reasons)


def test_every_published_schema_is_a_2020_12_schema_with_an_id_and_a_version():
    names = sorted(p.name for p in SCHEMAS.glob("*.schema.json"))
    assert names == ["connector-settings.schema.json", "customer-message.schema.json", "expense-message.schema.json",
                     "invoice-message.schema.json", "notification-message.schema.json",
                     "outcome-message.schema.json", "product-message.schema.json", "project-message.schema.json"]
    for name in names:
        document = schema(name.removesuffix(".schema.json"))
        validator(name.removesuffix(".schema.json")).check_schema(document)
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["$id"].startswith("urn:bc-connector:schema:") and document["$id"].endswith(":1")
        assert re.fullmatch(r"\d+\.\d+\.\d+", document["x-schemaVersion"])


@pytest.mark.parametrize("kind", ["customer", "project", "product", "invoice"])
def test_every_input_message_the_schema_allows_is_accepted_by_the_parser(kind):
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(documents(f"{kind}-message"))
    def check(message):
        text = json.dumps(message)
        try:
            envelope = parse_envelope(text, queue_type=kind)
            if envelope.data is not None:
                parse_data(kind, envelope.data)
        except MessageInvalid as err:
            assert _explained(err.field, str(err), MESSAGE_REASONS_THE_SCHEMA_CANNOT_EXPRESS), \
                f"the schema allows it, the parser refuses {err.field}: {err}: {text[:2000]}"

    check()


def test_every_settings_document_the_schema_allows_is_accepted_by_the_parser():
    @settings(max_examples=SETTINGS_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(documents("connector-settings", drop_read_only=True))
    def check(document):
        try:
            parse_put_body(document)
        except SettingsInvalid as err:
            unexplained = [e for e in err.errors
                           if not _explained(e.field, e.message, SETTINGS_REASONS_THE_SCHEMA_CANNOT_EXPRESS)]
            assert not unexplained, f"the schema allows it, the parser refuses {unexplained}: {document}"

    check()


@pytest.mark.parametrize("kind, example", [
    ("invoice", {"connector": "contoso-bc", "type": "invoice", "version": "2026-11-20T10:15:00Z",
                 "data": {"id": "INV-1001", "customer": {"id": "C-1", "name": "Northwind"},
                          "lines": [{"description": "Consulting", "quantity": 8, "unitPrice": 150}]}}),
    ("invoice", {"connector": "contoso-bc", "type": "invoice", "version": 7,
                 "dataRef": {"blob": "invoice/INV-1001/7.json", "sha256": "0" * 64, "id": "INV-1001"}}),
    ("project", {"connector": "contoso-bc", "type": "project", "version": 3,
                 "data": {"id": "PRJ-7", "number": "P-1001", "name": "Website relaunch"}}),
])
def test_the_contract_examples_follow_the_schemas(kind, example):
    assert validator(f"{kind}-message").is_valid(example)


@pytest.mark.parametrize("kind, broken", [
    ("invoice", {"connector": "contoso-bc", "type": "invoice", "version": 1}),
    ("invoice", {"connector": "contoso-bc", "type": "invoice", "version": 1, "data": {"id": "x"},
                 "dataRef": {"blob": "a", "sha256": "0" * 64}}),
    ("customer", {"connector": "Contoso", "type": "customer", "version": 1, "data": {"id": 1, "name": "A"}}),
])
def test_messages_the_parser_refuses_for_their_envelope_are_refused_by_the_schema_too(kind, broken):
    assert not validator(f"{kind}-message").is_valid(broken)
    with pytest.raises(MessageInvalid):
        parse_envelope(json.dumps(broken), queue_type=kind)
