"""Run every benchmark, print the figures, and keep them in benchmarks/results/latest.json."""

from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path

from benchmarks import cold_start, expense_import, export_requests, export_throughput, save_requests

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def main() -> None:
    results = {
        "at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "cold_start": cold_start.run(),
        "connector_save": save_requests.run(),
    }
    print("Expense import (sandbox bulk data; storage in Azurite; messages counted):")
    results["expense_import"] = expense_import.run()
    results["export_requests"] = export_requests.run()
    results["export_throughput"] = export_throughput.run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    cold = results["cold_start"]
    print(f"Cold start: import function_app {cold['import_function_app_ms_median']} ms median "
          f"({cold['import_function_app_ms_min']} ms min, {cold['samples']} fresh interpreters); "
          f"heavy SDKs loaded at import: {cold['heavy_modules_loaded_at_import'] or 'none'}")
    print("Verified connector save, requests per save:")
    for row in results["connector_save"]["saves"]:
        print(f"  {row['bc_requests']:>2} BC ({row['bc_batch_operations']} operations), "
              f"{row['entra_requests']} Entra ID, {row['wall_ms']:>6} ms  {row['scenario']}")
    export_requests.summary(results["export_requests"])
    export_throughput.summary(results["export_throughput"])
    print(f"Written to {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")


if __name__ == "__main__":
    main()
