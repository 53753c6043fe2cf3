"""`python -m sandbox`: the banner, --print-env, and a clean exit on SIGINT/SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from sandbox.constants import DEMO_CLIENT_ID

REPO_ROOT = Path(__file__).resolve().parents[2]

# Runs the real CLI; swaps in the stand-in BC world only when the real one can't be imported yet.
_LAUNCHER = """
import sys
try:
    from sandbox.bc import BcWorld
    BcWorld.load(fixtures_path=None)
except Exception:
    import sandbox.server
    from tests.sandbox_platform.fake_world import FakeWorld
    sandbox.server.load_world = lambda *args, **kwargs: FakeWorld()
from sandbox.__main__ import main
sys.exit(main(sys.argv[1:]))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_print_env_gives_the_four_settings_a_connector_needs(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--print-env", "--port", "9443", "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=30,
    )

    assert result.returncode == 0, result.stderr
    settings = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert settings == {
        "BC_API_URL": "https://127.0.0.1:9443",
        "BC_AUTHORITY_HOST": "https://127.0.0.1:9443",
        "REQUESTS_CA_BUNDLE": str((tmp_path / "ca.pem").resolve()),
        "BC_CLIENT_ID": DEMO_CLIENT_ID,
    }
    assert (tmp_path / "ca.pem").exists()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_the_cli_says_where_it_listens_serves_and_exits_cleanly_on_a_signal(tmp_path, stop_signal):
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCHER, "--port", "0", "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = process.stdout.readline()
        control = process.stdout.readline()
        match = re.match(
            r"BC sandbox ready on (https://127\.0\.0\.1:\d+)  \(trust it with REQUESTS_CA_BUNDLE=(.+ca\.pem)\)$",
            banner.rstrip("\n"),
        )
        assert match, banner + process.stderr.read() if process.poll() is not None else banner
        url = match.group(1)
        assert control.startswith(f"Control API: {url}/_sandbox/")
        assert requests.get(url + "/", verify=str(tmp_path / "ca.pem"), timeout=10).status_code == 200

        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, err
    assert "BC sandbox stopped." in out
    assert "Traceback" not in err


def test_fixtures_dir_without_fixture_files_is_refused(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--fixtures", str(tmp_path), "--state-dir", str(tmp_path)],
        cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=30,
    )

    assert result.returncode != 0
    assert "contains neither bc.json nor directory.json" in result.stderr
