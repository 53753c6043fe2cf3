"""The log field scopes: fields on every record inside a scope, gone after it, never an unknown name."""

from __future__ import annotations

import logging
import threading

import pytest

from shared.logfields import FIELDS, current, log_scope, note

log = logging.getLogger("tests.logfields")


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in FIELDS if hasattr(record, name)}


def test_a_record_inside_a_scope_carries_its_fields_and_one_outside_carries_none(caplog):
    caplog.set_level(logging.INFO, logger="tests.logfields")
    with log_scope(connector="acme", attempt=2):
        log.info("inside")
    log.info("outside")
    inside, outside = caplog.records
    assert _fields(inside) == {"connector": "acme", "attempt": 2}
    assert _fields(outside) == {}


def test_an_inner_scope_adds_to_the_outer_one_and_ends_with_its_block(caplog):
    caplog.set_level(logging.INFO, logger="tests.logfields")
    with log_scope(connector="acme", queue="bc-invoices"):
        with log_scope(outcome="failed"):
            log.info("line")
        log.info("after")
    assert _fields(caplog.records[0]) == {"connector": "acme", "queue": "bc-invoices", "outcome": "failed"}
    assert _fields(caplog.records[1]) == {"connector": "acme", "queue": "bc-invoices"}


def test_note_adds_to_the_innermost_scope_only_and_does_nothing_outside_a_scope():
    note(connector="leaks")
    assert current() == {}
    with log_scope(connector="acme"):
        with log_scope(queue="bc-invoices"):
            note(hostId="INV-1")
            assert current() == {"connector": "acme", "queue": "bc-invoices", "hostId": "INV-1"}
        assert current() == {"connector": "acme"}
    assert current() == {}


def test_empty_values_are_left_out_and_other_types_become_text():
    with log_scope(connector=None, hostId="", queue=("bc", "x")):
        assert current() == {"queue": "('bc', 'x')"}


def test_a_name_that_is_not_a_documented_field_is_refused():
    with pytest.raises(ValueError, match="unknown log field 'Connector'"):
        with log_scope(Connector="acme"):
            pass


def test_a_scope_in_one_thread_is_not_seen_by_another():
    seen: list[dict] = []
    with log_scope(connector="acme"):
        worker = threading.Thread(target=lambda: seen.append(dict(current())))
        worker.start()
        worker.join()
    assert seen == [{}]


def test_every_field_is_documented_in_the_operations_guide():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    assert [name for name in FIELDS if f"| `{name}` |" not in guide] == []


def test_no_log_call_passes_extra_because_a_scoped_field_would_make_it_raise():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for folder in ("shared", "functions") for p in (root / folder).rglob("*.py")
                 if "extra=" in p.read_text(encoding="utf-8") and p.name != "logfields.py"
                 and "log" in p.read_text(encoding="utf-8")]
    calls = [o for o in offenders if any(f"{lvl}(" in line and "extra=" in line
                                         for line in (root / o).read_text(encoding="utf-8").splitlines()
                                         for lvl in (".debug", ".info", ".warning", ".error", ".exception", ".log"))]
    assert calls == []
