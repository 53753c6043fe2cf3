"""What the application code reads, collected from the source (never a hand-kept list).

The collector walks every module under shared/ and functions/ and function_app.py, wherever a module
lives after a refactor, and finds:

- app settings read from the environment: `env.get("X")`, `environ.get(X)`, `os.environ["X"]`,
  `os.getenv("X")`, and calls of helpers that look a parameter up in the environment, such as
  `_setting(environ, "%s__clientId" % STORAGE_SETTING)`. Names are resolved through module-level string
  constants (`KEY_VAULT_URL_SETTING = "KEY_VAULT_URL"`) and `%` formatting; a name built from a
  variable (`"%s__%sServiceUri" % (STORAGE_SETTING, service)`) is an optional override and is skipped;
- `%SETTING%` expressions (timer schedules and other binding values of the registrations);
- module-level dicts and constants such as QUEUES, TABLES, DEFAULT_BC_API_URL.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parents[2]
_ENV_NAMES = {"env", "environ", "environment", "environ_"}
_BINDING_EXPRESSION = re.compile(r"^%([A-Za-z_][A-Za-z0-9_]*)%$")


def source_files() -> list[Path]:
    files = [ROOT / "function_app.py"]
    for folder in ("shared", "functions"):
        files.extend(sorted((ROOT / folder).rglob("*.py")))
    return [f for f in files if f.is_file()]


@lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@lru_cache(maxsize=None)
def string_constants() -> dict[str, str]:
    """Module-level `NAME = "text"` of every source file (names are unique enough across the app)."""
    found: dict[str, str] = {}
    for path in source_files():
        for node in _tree(path).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.value
    return found


def module_level_literal(name: str) -> Any:
    """The value of a module-level `NAME = <literal>` (dict, list, str, ...) anywhere in the code."""
    values = []
    for path in source_files():
        for node in _tree(path).body:
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                values.append(ast.literal_eval(node.value))
    assert len(values) == 1, f"expected one module-level {name} in shared/ or functions/, found {len(values)}"
    return values[0]


def _resolve(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return string_constants().get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        template = _resolve(node.left)
        parts = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        values = [_resolve(p) for p in parts]
        if template is None or any(v is None for v in values):
            return None
        try:
            return template % tuple(values)
        except (TypeError, ValueError):
            return None
    return None


def _is_environment(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in _ENV_NAMES
    if isinstance(node, ast.Attribute):
        return node.attr in ("environ",) or (node.attr in _ENV_NAMES and isinstance(node.value, ast.Name)
                                             and node.value.id == "self")
    return False


def _env_key(node: ast.AST) -> ast.AST | None:
    """The key expression of `env.get(key)`, `os.environ[key]` or `os.getenv(key)`; None for anything else."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        if node.func.attr == "get" and _is_environment(node.func.value):
            return node.args[0]
        if node.func.attr == "getenv":
            return node.args[0]
    if isinstance(node, ast.Subscript) and _is_environment(node.value):
        return node.slice
    return None


@lru_cache(maxsize=None)
def _lookup_helpers() -> dict[str, int]:
    """Functions that read the environment with one of their parameters as the key, e.g.
    `def _setting(environ, name): value = environ.get(name)` -> {"_setting": 1}."""
    helpers: dict[str, int] = {}
    for path in source_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                params = [a.arg for a in node.args.posonlyargs + node.args.args]
                for inner in ast.walk(node):
                    key = _env_key(inner)
                    if isinstance(key, ast.Name) and key.id in params:
                        helpers[node.name] = params.index(key.id)
    return helpers


def _settings_in(tree: ast.AST) -> Iterable[str]:
    helpers = _lookup_helpers()
    for node in ast.walk(tree):
        key = _env_key(node)
        if key is not None:
            name = _resolve(key)
            if name:
                yield name
        elif isinstance(node, ast.Call):
            called = node.func.id if isinstance(node.func, ast.Name) else \
                node.func.attr if isinstance(node.func, ast.Attribute) else None
            index = helpers.get(called) if called else None
            if index is not None and index < len(node.args):
                name = _resolve(node.args[index])
                if name:
                    yield name


def settings_read() -> set[str]:
    """Every app setting the application code reads from its environment."""
    found: set[str] = set()
    for path in source_files():
        found.update(_settings_in(_tree(path)))
    return found


def binding_expressions() -> set[str]:
    """Every `%SETTING%` used as a binding value (e.g. schedule="%EXPENSE_IMPORT_SCHEDULE%")."""
    found: set[str] = set()
    for path in source_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = _BINDING_EXPRESSION.match(node.value)
                if match:
                    found.add(match.group(1))
    return found


def queue_names_in_registrations() -> set[str]:
    """queue_name="..." of every queue trigger and binding."""
    found: set[str] = set()
    for path in source_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "queue_name":
                        name = _resolve(keyword.value)
                        if name:
                            found.add(name)
    return found


def log_format_strings() -> list[str]:
    """The first (format) argument of every log.<level>(...) call: the messages the app writes today."""
    found: list[str] = []
    for path in source_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("debug", "info", "warning", "error", "exception", "critical") \
                    and node.args:
                text = _resolve(node.args[0])
                if text is None and isinstance(node.args[0], ast.JoinedStr):
                    text = "".join(v.value for v in node.args[0].values
                                   if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if text:
                    found.append(text)
    return found
