"""The fields reach Application Insights as customDimensions through the pipeline production runs.

In Azure the worker's OpenTelemetry logging handler (PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY=true) turns
each LogRecord into an OpenTelemetry log record, and the Azure Monitor exporter turns that into the `traces`
row. This test runs the same two steps in process: the LoggingHandler the distro installs, then the exporter's envelope
conversion (`_convert_log_to_envelope`, the exporter's own function, private: pinned with requirements.txt).
"""

from __future__ import annotations

import logging

import pytest

from shared.logfields import log_scope

pytest.importorskip("azure.monitor.opentelemetry.exporter")

from azure.monitor.opentelemetry.exporter.export.logs._exporter import _convert_log_to_envelope  # noqa: E402
from opentelemetry.instrumentation.logging.handler import LoggingHandler  # noqa: E402  # the distro's handler
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor  # noqa: E402


@pytest.fixture
def exported():
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = LoggingHandler(logger_provider=provider)
    logger = logging.getLogger("tests.appinsights")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, lambda: [_convert_log_to_envelope(r) for r in exporter.get_finished_logs()]
    finally:
        logger.removeHandler(handler)
        provider.shutdown()


def test_scoped_fields_become_custom_dimensions_and_the_message_text_is_unchanged(exported):
    logger, envelopes = exported
    with log_scope(connector="acme", queue="bc-invoices-poison", attempt=5, outcome="failed"):
        logger.error("Export %s %s/%s: moved to %s after %s attempts", "invoice", "acme", "INV-1",
                     "bc-invoices-poison", 5)
    (item,) = envelopes()
    data = item.data.base_data
    assert data.message == "Export invoice acme/INV-1: moved to bc-invoices-poison after 5 attempts"
    # customDimensions values are strings: KQL reads numbers with toint().
    assert {k: data.properties[k] for k in ("connector", "queue", "attempt", "outcome")} == {
        "connector": "acme", "queue": "bc-invoices-poison", "attempt": "5", "outcome": "failed"}


def test_a_line_outside_any_scope_has_no_connector_dimension(exported):
    logger, envelopes = exported
    logger.info("Keep-alive: 0 refreshed")
    (item,) = envelopes()
    assert "connector" not in item.data.base_data.properties


def test_a_yes_no_field_reaches_custom_dimensions_as_the_string_true_or_false_capitalised(exported):
    logger, envelopes = exported
    with log_scope(returning=True):
        logger.info("Export customer acme/c-1 created")
    (item,) = envelopes()
    assert item.data.base_data.properties["returning"] == "True"  # KQL: tobool(customDimensions.returning)
