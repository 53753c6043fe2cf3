"""Every message on an export queue or a -poison queue ends in exactly one outcome, whatever its content.

The registered queue functions (as the Functions host calls them) run on a worker built by the composition
root over in-memory adapters; the connector `acme` exists and exports everything, and its Business
Central is a fake that answers like BC's happy path, so a message that is well formed goes all the way to
a `created`/`updated`/`unchanged` outcome. Hypothesis feeds arbitrary text, arbitrary JSON, and JSON shaped
like the envelope with wild values (calendar edges with offsets, names with line breaks, integers of
hundreds of digits, unpaired surrogate escapes, negative totals). Each function sees
`ARBITRARY_EXAMPLES` texts, `ARBITRARY_EXAMPLES` JSON documents and `SHAPED_EXAMPLES` envelope-shaped
messages (docs/contract.md §4).
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from typing import Any, Iterator

from azure.functions.queue import QueueMessage
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared import bootstrap as root
from shared.adapters.connector_store import InMemoryConnectorStore
from shared.adapters.queues import InMemoryQueueSender
from shared.exports import ExportOptions
from tests._app import FUNCTIONS
from tests._worker import memory_adapters
from tests.unit.exports._fakes import FakeBc, FixedBc, record

ARBITRARY_EXAMPLES = 50
SHAPED_EXAMPLES = 120

EXPORTS = {"export_customer": "customer", "export_project": "project", "export_product": "product",
           "export_invoice": "invoice"}
POISONS = {"customers_poison": "customer", "projects_poison": "project", "products_poison": "product",
           "invoices_poison": "invoice"}
ALL = {**EXPORTS, **POISONS}

ENVIRON = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "BC_CLIENT_ID": str(uuid.UUID(int=1)),
           "PUBLIC_BASE_URL": "http://127.0.0.1:7071"}

_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                           HealthCheck.too_slow])


class World:
    """One worker: the app built by `bootstrap` on in-memory adapters, installed as the worker's app."""

    def __init__(self) -> None:
        self.queues = InMemoryQueueSender()
        self.adapters = memory_adapters(ENVIRON, queues=self.queues, connector_store=InMemoryConnectorStore(
            [record("acme")]), bc_clients=FixedBc(FakeBc()))
        root.set_worker_app(root.bootstrap(adapters=self.adapters,
                                           export_options=ExportOptions(claim_wait_seconds=0.05)))

    def outcomes(self) -> int:
        return len(self.queues.texts("bc-outcomes"))

    def deliver(self, function: str, text: str, dequeue_count: int = 1) -> list[Any]:
        """Call the registered function with a queue message; the outcomes it sent."""
        before = self.outcomes()
        message = QueueMessage(id=uuid.uuid4().hex, body=text.encode("utf-8"), dequeue_count=dequeue_count)
        FUNCTIONS[function].get_user_function()(message)
        return self.queues.payloads("bc-outcomes")[before:]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = World()
    yield w
    root.set_worker_app(None)


# -- strategies -----------------------------------------------------------------------------------

HUGE = st.integers(min_value=-10**400, max_value=10**400)
WILD_TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "\n", "acme\n", "\ud800", "x\udfff",
                                                             "0001-01-01T00:00:00+01:00", "-1", "1e400"]))
SCALAR = st.one_of(st.none(), st.booleans(), HUGE, st.integers(), st.floats(), WILD_TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                    st.dictionaries(st.text(max_size=10), inner, max_size=4)),
                    max_leaves=12)
CALENDAR_EDGES = st.sampled_from(["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
                                  "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999+00:00",
                                  "2026-02-30T10:00:00Z", "2026-11-20T10:15:00", "1" * 31])
AWARE = st.datetimes(min_value=_dt.datetime(1, 1, 2), max_value=_dt.datetime(9999, 12, 30),
                     timezones=st.sampled_from([_dt.timezone.utc, _dt.timezone(_dt.timedelta(hours=14)),
                                                _dt.timezone(_dt.timedelta(hours=-12))]))
VERSION = st.one_of(HUGE, st.floats(), CALENDAR_EDGES, AWARE.map(lambda d: d.isoformat()), SCALAR)
NUMBER = st.one_of(HUGE, st.floats(), st.integers(min_value=-10**16, max_value=10**16),
                   st.decimals(allow_nan=False, allow_infinity=False, places=2).map(float), SCALAR)
CUSTOMER = st.fixed_dictionaries({"id": st.one_of(st.just("c-1"), SCALAR), "name": st.one_of(st.just("N"), SCALAR)},
                                 optional={"number": SCALAR, "type": SCALAR, "email": SCALAR, "blocked": SCALAR,
                                           "invoiceAddress": JSON, "currencyCode": SCALAR})
LINE = st.fixed_dictionaries({"quantity": NUMBER, "unitPrice": NUMBER},
                             optional={"description": SCALAR, "discountPercent": NUMBER,
                                       "product": st.one_of(JSON, st.fixed_dictionaries(
                                           {"id": SCALAR, "number": SCALAR, "name": SCALAR},
                                           optional={"unitPrice": NUMBER, "unitOfMeasure": SCALAR})),
                                       "unitOfMeasure": SCALAR})
DATA = {
    "customer": CUSTOMER,
    "project": st.fixed_dictionaries({"id": st.one_of(st.just("p-1"), SCALAR),
                                      "number": st.one_of(st.just("P1"), SCALAR)},
                                     optional={"name": SCALAR, "status": SCALAR, "customerId": SCALAR}),
    "product": st.fixed_dictionaries({"id": st.one_of(st.just("prod-1"), SCALAR),
                                      "number": st.one_of(st.just("ITEM-1"), SCALAR),
                                      "name": st.one_of(st.just("Widget"), SCALAR)},
                                     optional={"unitPrice": NUMBER, "unitOfMeasure": SCALAR, "type": SCALAR,
                                               "blocked": SCALAR, "description": SCALAR}),
    "invoice": st.fixed_dictionaries({"id": st.one_of(st.just("i-1"), SCALAR), "customer": st.one_of(CUSTOMER, JSON),
                                      "lines": st.one_of(st.lists(LINE, max_size=4), JSON)},
                                     optional={"invoiceDate": SCALAR, "dueDate": SCALAR, "project": JSON,
                                               "department": JSON, "projectTags": JSON, "yourReference": SCALAR}),
}


def shaped(kind: str) -> st.SearchStrategy[str]:
    envelope = st.fixed_dictionaries(
        {"connector": st.one_of(st.sampled_from(["acme", "acme\n", "Acme", "nobody-here", "a"]), SCALAR),
         "type": st.one_of(st.just(kind), SCALAR), "version": VERSION, "data": st.one_of(DATA[kind], JSON)})
    return envelope.map(json.dumps)


# -- the property -----------------------------------------------------------------------------------

def _exactly_one_outcome(world: World, function: str, text: str) -> None:
    sent = world.deliver(function, text)  # raising fails the test: nothing may raise on content
    assert len(sent) == 1, sent
    [outcome] = sent
    assert outcome["type"] == ALL[function]
    assert outcome["status"] in ("created", "updated", "unchanged", "failed")
    if outcome["status"] == "failed":
        assert outcome["error"]["code"] != "RetriesExhausted" or function in POISONS


@pytest.mark.parametrize("function", sorted(ALL))
@settings(_SETTINGS, max_examples=ARBITRARY_EXAMPLES)
@given(text=st.text(max_size=200))
def test_arbitrary_text_ends_in_exactly_one_outcome_and_no_exception(world, function, text):
    _exactly_one_outcome(world, function, text)


@pytest.mark.parametrize("function", sorted(ALL))
@settings(_SETTINGS, max_examples=ARBITRARY_EXAMPLES)
@given(document=JSON)
def test_arbitrary_json_ends_in_exactly_one_outcome_and_no_exception(world, function, document):
    _exactly_one_outcome(world, function, json.dumps(document))


@pytest.mark.parametrize("function", sorted(ALL))
@settings(_SETTINGS, max_examples=SHAPED_EXAMPLES)
@given(data=st.data())
def test_envelopes_with_wild_values_end_in_exactly_one_outcome_and_no_exception(world, function, data):
    _exactly_one_outcome(world, function, data.draw(shaped(ALL[function])))


def test_the_poison_path_falls_back_to_an_outcome_holding_only_the_texts_hash():
    import hashlib

    from shared.exports import Delivery
    from tests.unit.exports._fakes import deps_for

    ports, sent = deps_for(record("acme"))

    def broken(*_args: Any) -> None:
        raise ValueError("a row this text leads to cannot be read")

    ports.ledger.get = broken  # type: ignore[method-assign]
    text = json.dumps({"connector": "acme", "type": "invoice", "version": 1, "data": {"id": "i-1"}})

    outcome = ports.service.process_poison(Delivery("bc-invoices-poison", text, "m-1", 1))

    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert sent.outcomes == [outcome]
    assert (outcome["connector"], outcome["id"], outcome["status"]) == (None, None, "failed")
    assert digest in outcome["error"]["message"]
    assert [n["details"]["messageSha256"] for n in sent.notifications] == [digest]
    assert ports.ledger.rows() == []
