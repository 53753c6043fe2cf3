"""A host process of the app for the two-process tests: the real function app's queue triggers, driven by the
dev host (`devtools.devhost.DevHost`) on the test session's Azurite, with the BC sandbox of the session and a
secret store in a file both the test and its host processes read. Run by the tests, not by hand:

    python -m tests.integration.scale_out._host --secrets FILE --functions export_invoice

Settings come from the environment (AzureWebJobsStorage, BC_API_URL, BC_AUTHORITY_HOST, BC_CLIENT_ID,
REQUESTS_CA_BUNDLE, BC_MAX_CONCURRENT_REQUESTS, ...). Prints `ready` once its queue listeners run; SIGTERM
stops it after the invocations in flight. Each process builds its own adapters, so it has its own gates, HTTP
session and budget owner id, as a Functions instance has."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading


def _no_azure_credential(**_: object):
    raise AssertionError("a test host must not build an Azure credential (it would probe IMDS)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", required=True, help="the JSON secret file (LocalDevSecretStore)")
    parser.add_argument("--functions", required=True, help="comma-separated function names to run")
    parser.add_argument("--batch", type=int, default=4, help="queues.batchSize")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(message)s", stream=sys.stdout)
    logging.getLogger("azure").setLevel(logging.WARNING)

    from devtools._config import QueueSettings
    from devtools.devhost import DevHost
    from function_app import app as function_app
    from shared import bootstrap
    from shared.adapters.secrets import LocalDevSecretStore

    wanted = set(args.functions.split(","))
    functions = [f for f in function_app.get_functions() if f.get_function_name() in wanted]
    adapters = bootstrap.build_adapters(secrets=LocalDevSecretStore(args.secrets),
                                        credential_factory=_no_azure_credential)
    bootstrap.set_worker_app(bootstrap.bootstrap(adapters=adapters))
    # One batch per poll, fetched again only when it is done; a short polling interval keeps the tests quick.
    queues = QueueSettings(batch_size=args.batch, new_batch_threshold=0, visibility_timeout=1.0,
                           max_polling_interval=0.2, message_encoding="none")
    host = DevHost(functions, port=0, timers=False, queue_settings=queues).start()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print("ready", flush=True)
    stopping.wait()
    host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
