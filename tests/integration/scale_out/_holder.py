"""A worker process that takes BC request permits and then hangs on to them, for the dead-worker test: it
leases `--slots` in-flight slots of one BC user's budget in table `--table` (the storage connection string
comes from AzureWebJobsStorage), prints `held <slots> <first> <last>` (epoch seconds: when it began asking,
when it had them all; its lease was renewed in between) and blocks until it is killed. It never
releases a permit and never refills, as a worker that died mid-request would. Run by the tests:

    python -m tests.integration.scale_out._holder --table T --user U --slots 2 --lease 3
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--slots", type=int, required=True)
    parser.add_argument("--lease", type=float, required=True, help="lease_seconds of the budget")
    args = parser.parse_args(argv)

    from azure.data.tables import TableServiceClient

    from shared.adapters import ensure_table
    from shared.adapters.bc_budget import TableRequestBudget
    from shared.bc import BudgetLimits

    service = TableServiceClient.from_connection_string(os.environ["AzureWebJobsStorage"])
    table = ensure_table(service.get_table_client(args.table))
    budget = TableRequestBudget(table, limits=BudgetLimits(max_in_flight=args.slots), lease_seconds=args.lease,
                                max_wait=10.0)
    first = time.time()
    permits = [budget.acquire(args.user) for _ in range(args.slots)]
    print(f"held {len(permits)} {first:.3f} {time.time():.3f}", flush=True)
    threading.Event().wait()  # until SIGKILL
    return 0


if __name__ == "__main__":
    sys.exit(main())
