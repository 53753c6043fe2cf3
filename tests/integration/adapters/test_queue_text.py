"""Queue message text: plain UTF-8 JSON is produced; plain and base64 JSON are both read."""

from __future__ import annotations

import base64
import json

import pytest

from shared.adapters import decode_queue_text, ensure_queue, queue_service_from_settings

MESSAGE = {"connector": "contoso-bc", "type": "invoice", "version": "2026-11-20T10:15:00Z", "data": {"id": "Ü-1"}}
TEXT = json.dumps(MESSAGE, ensure_ascii=False)


def test_plain_json_text_is_returned_unchanged():
    assert decode_queue_text(TEXT) == TEXT


def test_utf8_bytes_are_decoded_and_a_bom_dropped():
    assert decode_queue_text(b"\xef\xbb\xbf" + TEXT.encode("utf-8")) == TEXT


def test_base64_json_is_decoded():
    assert decode_queue_text(base64.b64encode(TEXT.encode("utf-8")).decode("ascii")) == TEXT


def test_text_that_is_neither_is_returned_for_the_parser_to_reject():
    assert decode_queue_text("not json") == "not json"
    assert decode_queue_text("aGVsbG8=") == "aGVsbG8="  # base64 of "hello": not JSON, so left alone


@pytest.mark.integration
def test_messages_are_produced_as_plain_text_and_read_back(azurite, unique_suffix):
    service = queue_service_from_settings({"AzureWebJobsStorage": azurite})
    queue = ensure_queue(service.get_queue_client("q%s" % unique_suffix))
    ensure_queue(queue)
    try:
        queue.send_message(TEXT)
        queue.send_message(base64.b64encode(TEXT.encode("utf-8")).decode("ascii"))

        received = list(queue.receive_messages(max_messages=2))

        assert received[0].content == TEXT  # stored as-is: host.json uses messageEncoding "none"
        assert [json.loads(decode_queue_text(m.content)) for m in received] == [MESSAGE, MESSAGE]
    finally:
        queue.delete_queue()
