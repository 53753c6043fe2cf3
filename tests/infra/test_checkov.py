"""checkov (static analysis of the Bicep, offline) passes, and every check it skips says why.

checkov lives in its own venv, `.venv-iac` (`make install`), because it pins packaging<24, which pytest
cannot share. Without it the test skips, except under CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.infra._templates import ROOT

CONFIG = ROOT / ".checkov.yaml"


def _checkov() -> str:
    candidates = [os.environ.get("CHECKOV"), str(ROOT / ".venv-iac" / "bin" / "checkov"), shutil.which("checkov")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            return candidate
    message = "checkov is not installed: run `make install` (it creates .venv-iac with requirements-iac.txt)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _skipped_checks() -> dict[str, str]:
    """CKV id -> the reason written after it in .checkov.yaml."""
    text = CONFIG.read_text(encoding="utf-8")
    block = text.split("skip-check:", 1)[1]
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\s*-\s*(CKV\w+)\s*(?:#\s*(.*))?$", block, re.M)
            if m.group(1)} | {m.group(1): "" for m in re.finditer(r"^\s*-\s*(CKV\w+)\s*$", block, re.M)}


def test_every_skipped_check_gives_a_reason() -> None:
    skipped = _skipped_checks()
    assert skipped, ".checkov.yaml lists no skipped checks"
    assert [check for check, reason in skipped.items() if len(reason) < 20] == []


def test_checkov_finds_no_failed_check_in_the_bicep() -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(
        [_checkov(), "--config-file", str(CONFIG), "--output", "json"],
        cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    failed = [f"{c['check_id']} {c['resource']} ({c['file_path']})"
              for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    summary = {key: sum(r["summary"][key] for r in reports) for key in ("passed", "failed", "parsing_errors")}
    print(json.dumps(summary), file=sys.stderr)
    assert failed == []
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0, result.stderr[-2000:]
    assert result.returncode == 0, result.stderr[-2000:]
