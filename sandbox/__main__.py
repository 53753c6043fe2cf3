"""`python -m sandbox`: run the Business Central sandbox on loopback HTTPS until Ctrl+C / SIGTERM.

    python -m sandbox                         # https://127.0.0.1:8443, state in .sandbox/
    python -m sandbox --port 0                # any free port (printed)
    python -m sandbox --fixtures my-world/    # my-world/bc.json and/or my-world/directory.json replace the bundled ones
    python -m sandbox --print-env             # the app settings that point a connector at it, then exit
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from sandbox.server import SandboxServer
from sandbox.tls import ensure_certificates


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Business Central Online API v2.0 / OData V4 and Entra ID sign-in, simulated on loopback HTTPS.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; keep it loopback)")
    parser.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 picks a free one)")
    parser.add_argument("--state-dir", default=".sandbox", help="where the CA and server certificate live (default .sandbox)")
    parser.add_argument(
        "--fixtures", metavar="DIR", help="directory with replacement bc.json and/or directory.json fixtures"
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print BC_API_URL, BC_AUTHORITY_HOST, REQUESTS_CA_BUNDLE and BC_CLIENT_ID for a connector, then exit",
    )
    parser.add_argument(
        "--format", choices=("env", "json"), default="env", help="with --print-env: KEY=value lines or a JSON object"
    )
    return parser


def _fixture_paths(directory: str | None) -> tuple[Path | None, Path | None]:
    if not directory:
        return None, None
    root = Path(directory)
    if not root.is_dir():
        raise SystemExit(f"--fixtures {directory}: not a directory")
    bc, entra = root / "bc.json", root / "directory.json"
    if not bc.exists() and not entra.exists():
        raise SystemExit(f"--fixtures {directory}: contains neither bc.json nor directory.json")
    return (bc if bc.exists() else None), (entra if entra.exists() else None)


def _host_for_url(host: str) -> str:
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"[{host}]" if ":" in host else host


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.print_env:
        from sandbox.constants import DEMO_CLIENT_ID

        files = ensure_certificates(args.state_dir)  # so the CA file exists before anyone points at it
        url = f"https://{_host_for_url(args.host)}:{args.port}"
        settings = {
            "BC_API_URL": url,
            "BC_AUTHORITY_HOST": url,
            "REQUESTS_CA_BUNDLE": str(files.ca_cert.resolve()),
            "BC_CLIENT_ID": DEMO_CLIENT_ID,
        }
        if args.format == "json":
            print(json.dumps(settings, indent=2))
        else:
            for key, value in settings.items():
                print(f"{key}={value}")
        return 0

    bc_fixtures, directory_fixtures = _fixture_paths(args.fixtures)
    server = SandboxServer(
        host=args.host,
        port=args.port,
        state_dir=args.state_dir,
        bc_fixtures=bc_fixtures,
        directory_fixtures=directory_fixtures,
    )
    try:
        server.start()
    except OSError as exc:
        print(f"BC sandbox could not start: {exc}", file=sys.stderr)
        return 1
    ca_shown = Path(args.state_dir) / "ca.pem"
    print(f"BC sandbox ready on {server.url}  (trust it with REQUESTS_CA_BUNDLE={ca_shown})", flush=True)
    print(f"Control API: {server.url}/_sandbox/  (reset, faults, limits, request log; see sandbox/README.md)", flush=True)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    print("BC sandbox stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
