"""QueueSender (Azurite) and InMemoryQueueSender behave alike: one suite runs both, so the twin that
use-case tests rely on sends what the real one sends."""

from __future__ import annotations

import json

import pytest

from shared.adapters import decode_queue_text
from shared.adapters.queues import CONTRACT_QUEUES, InMemoryQueueSender, QueueSender

pytestmark = pytest.mark.integration

MESSAGE = {"connector": "contoso-bc", "event": "export_failed", "data": {"name": "Müller & Söhne"}}


@pytest.fixture(params=["azure", "memory"])
def world(request, unique_suffix):
    """(sender, read(queue) -> texts, queue names the sender accepts)."""
    names = {"outcomes": f"t{unique_suffix}-outcomes".lower(), "invoices": f"t{unique_suffix}-invoices".lower()}
    allowed = frozenset(names.values())
    if request.param == "memory":
        sender = InMemoryQueueSender(queues=allowed)
        yield sender, sender.texts, names
        return
    service = request.getfixturevalue("azurite_queue_service")

    def read(queue: str) -> list[str]:
        client = service.get_queue_client(queue)
        return [decode_queue_text(m.content) for m in client.receive_messages(messages_per_page=32)]

    yield QueueSender(service, queues=allowed), read, names
    from azure.core.exceptions import ResourceNotFoundError

    for queue in names.values():
        try:
            service.delete_queue(queue)
        except ResourceNotFoundError:  # this test never sent to it
            pass


def test_json_is_sent_as_plain_utf8_text_to_a_queue_created_on_first_use(world):
    sender, read, names = world
    sender.send_json(names["outcomes"], MESSAGE)
    [text] = read(names["outcomes"])
    assert text == json.dumps(MESSAGE, ensure_ascii=False) and "Müller" in text


def test_text_is_sent_exactly_as_given(world):
    sender, read, names = world
    original = '{"connector":"acme","type":"invoice" ,  "data":{}}'
    sender.send_text(names["invoices"], original)
    assert read(names["invoices"]) == [original]


def test_a_queue_outside_the_contract_is_refused(world):
    sender, read, names = world
    with pytest.raises(ValueError, match="not a queue of the contract"):
        sender.send_text("someone-elses-queue", "{}")


def test_the_default_queues_are_the_contracts():
    assert {"bc-outcomes", "bc-notifications", "bc-invoices-poison"} <= CONTRACT_QUEUES
    with pytest.raises(ValueError):
        InMemoryQueueSender().send_json("bc-elsewhere", {})
