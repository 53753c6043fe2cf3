"""`make test`: one Azurite on free ports for the whole suite, then pytest, then Azurite stops.

Azurite runs in memory on ports the OS reports free (not 10000-10002, so a developer's own Azurite does
not clash); ``AzureWebJobsStorage`` carries its explicit connection string to the tests. The exit code
is pytest's, except that "no tests collected" (5) counts as a failure.

    python -m devtools.testrun [pytest arguments...]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

from devtools._services import ServiceError, start_azurite_on_free_ports

__all__ = ["main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
PYTEST_NO_TESTS_COLLECTED = 5


class _Stop(Exception):
    pass


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Stop()


def main(argv: Sequence[str] | None = None) -> int:
    pytest_args = list(sys.argv[1:] if argv is None else argv)
    os.chdir(REPO_ROOT)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    azurite = None
    try:
        with tempfile.TemporaryDirectory(prefix="bc-connector-test-") as workdir:
            try:
                azurite, connection_string = start_azurite_on_free_ports(
                    log_path=Path(workdir) / "azurite.log", cwd=Path(workdir))
            except ServiceError as exc:
                print("make test: %s" % exc, file=sys.stderr, flush=True)
                return 1
            env = dict(os.environ, AzureWebJobsStorage=connection_string)
            print("make test: Azurite (in memory) started; running pytest %s" % " ".join(pytest_args), flush=True)
            code = subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env)
            if code == PYTEST_NO_TESTS_COLLECTED:
                print("make test: pytest collected no tests; that is a failure.", file=sys.stderr, flush=True)
                return 1
            return code
    except (KeyboardInterrupt, _Stop):
        return 130
    finally:
        if azurite is not None:
            azurite.stop()


if __name__ == "__main__":
    sys.exit(main())
