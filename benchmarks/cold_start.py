"""Cold start: what the Functions worker pays to import `function_app` and index its functions.

Each sample is a fresh interpreter (the worker starts one per instance), so module caches do not help.
The figure is the import of `function_app` (the interpreter's own start-up, ~20 ms, is excluded: no app
can avoid it), and which heavy SDKs that import pulled in.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Modules a cold start must not pay for: they are imported on first use by the code that needs them.
HEAVY = ("requests", "msal", "azure.identity", "azure.data.tables", "azure.storage.queue",
         "azure.keyvault.secrets", "cryptography", "urllib3")

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import function_app
t1 = time.perf_counter()
functions = function_app.app.get_functions()
t2 = time.perf_counter()
heavy = [m for m in %r if m in sys.modules]
print(json.dumps({"import_ms": (t1 - t0) * 1000, "index_ms": (t2 - t1) * 1000,
                  "functions": len(functions), "heavy_loaded": heavy}))
""" % (HEAVY,)


def _sample() -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=REPO, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(samples: int = 7) -> dict:
    _sample()  # warm the OS page cache once, as a second instance on the same host would find it
    results = [_sample() for _ in range(samples)]
    imports = [r["import_ms"] for r in results]
    return {
        "samples": samples,
        "import_function_app_ms_min": round(min(imports), 1),
        "import_function_app_ms_median": round(statistics.median(imports), 1),
        "index_functions_ms_median": round(statistics.median(r["index_ms"] for r in results), 2),
        "functions": results[0]["functions"],
        "heavy_modules_loaded_at_import": results[0]["heavy_loaded"],
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
