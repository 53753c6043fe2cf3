"""The shape of the code: dependencies point one way, and the repository stands on its own.

- No import cycle between the components of `shared/` (a component is a package or public module; its
  private `_modules` belong to it), counting imports inside functions too.
- Nothing under `shared/` imports the composition root (`shared.bootstrap`).
- The blueprints in `functions/` import only the root and their own plumbing.
- Importing `function_app` (a cold start) loads no Azure SDK, `requests`, MSAL or `cryptography`.
- Fewer than 40 bare `Any` annotations in `shared/` (JSON documents use `JsonObject`/`JsonValue`).
- No tracked file refers to a path outside the repository or to documents that are not part of it.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / "shared"
FUNCTIONS = ROOT / "functions"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of its code, resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = _module_name(path)
    package = name if _is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from pkg import submodule` imports the submodule too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in SHARED.rglob("*.py")}


def _component(module: str) -> str:
    """`shared.connectors._verify` -> `shared.connectors`; `shared.adapters.ledger` stays itself."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and index > 0:
            return ".".join(parts[:index])
    return module


def _component_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        source = _component(module)
        for target in _imports(path):
            if target in modules and _component(target) != source:
                graph[source].add(_component(target))
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                out.append(sorted(members))

    for node in sorted(set(graph) | {n for targets in graph.values() for n in targets}):
        if node not in index:
            visit(node)
    return out


def test_components_of_shared_import_each_other_in_one_direction_only():
    assert _cycles(_component_graph()) == []


def test_nothing_under_shared_imports_the_composition_root():
    offenders = sorted(module for module, path in _modules().items()
                       if module != "shared.bootstrap" and "shared.bootstrap" in _imports(path))
    assert offenders == []


#: What the HTTP and queue plumbing (`functions/_*.py`) may use besides the root: the error tree (to answer
#: errors), and the queue text decoding and the `Delivery` a queue trigger hands over.
_PLUMBING_MAY_IMPORT = ("shared.errors", "shared.adapters", "shared.exports")


def test_blueprints_import_only_the_root_and_their_plumbing():
    offenders = {}
    for path in FUNCTIONS.rglob("*.py"):
        allowed = ("shared.bootstrap",) + (_PLUMBING_MAY_IMPORT if path.name.startswith("_") else ())
        bad = sorted(name for name in _imports(path)
                     if (name == "shared" or name.startswith("shared."))
                     and not any(name == a or name.startswith(a + ".") for a in allowed))
        if bad:
            offenders[path.name] = bad
    assert offenders == {}


def test_a_cold_start_imports_no_sdk_the_functions_load_on_first_use():
    """The host imports `function_app` before the first invocation of every new instance: the SDKs are
    imported by the code that uses them, on first use (benchmarks/cold_start.py measures the time)."""
    import json
    import sys

    heavy = ["requests", "urllib3", "msal", "cryptography", "azure.identity", "azure.data.tables",
             "azure.storage.queue", "azure.storage.blob", "azure.keyvault.secrets"]
    probe = f"import json, sys; import function_app; print(json.dumps([m for m in {heavy!r} if m in sys.modules]))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)

    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == []


_BARE_ANY = re.compile(r"(:\s*Any\b(?!\])|->\s*Any\b)")


def test_shared_has_fewer_than_forty_bare_any_annotations():
    count = sum(len(_BARE_ANY.findall(p.read_text(encoding="utf-8"))) for p in SHARED.rglob("*.py"))
    assert count < 40


_OUTSIDE = re.compile(r"\.\./shared|TEAM-BRIEF|bc_api\.md|STYLE\.md")


def test_no_tracked_file_refers_to_documents_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    this_file = Path(__file__).resolve().relative_to(ROOT).as_posix()
    offenders = []
    for name in files:
        path = ROOT / name
        if name == this_file or not path.is_file() or path.suffix in {".json", ".lock"}:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if _OUTSIDE.search(line)]
    assert offenders == []
