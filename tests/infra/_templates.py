"""Read infra/*.bicep with pycep-parser (the parser checkov uses) and answer what the templates set.

pycep gives literals and identifiers alike as strings ("Production" and `expenseImportSchedule` both come
back as text), so values are resolved the way the templates are wired: a setting's value in
infra/app/api.bicep that names one of its parameters is looked up in main.bicep's `module api` call,
then in main.bicep's parameter defaults and variables.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pycep import BicepParser

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MAIN = INFRA / "main.bicep"


def bicep_files() -> list[Path]:
    return sorted(INFRA.rglob("*.bicep"))


@lru_cache(maxsize=None)
def parse(path: Path) -> dict[str, Any]:
    return BicepParser().parse(file_path=path)


def main() -> dict[str, Any]:
    return parse(MAIN)


def module_calls(module_path: str) -> list[dict[str, Any]]:
    """The bodies of main.bicep's `module`s that deploy infra/<module_path>, e.g. "app/api.bicep"."""
    calls = [resource_body(m) for m in main()["modules"].values() if m["detail"]["path"] == module_path]
    assert calls, f"main.bicep deploys no module {module_path}"
    return calls


def module_call(module_path: str) -> dict[str, Any]:
    """The body of the one `module` of main.bicep that deploys infra/<module_path>."""
    calls = module_calls(module_path)
    assert len(calls) == 1, f"main.bicep deploys {module_path} {len(calls)} times"
    return calls[0]


def resources(path: Path, resource_type: str) -> list[dict[str, Any]]:
    return [r for r in parse(path)["resources"].values() if r["type"] == resource_type]


def resource_body(resource: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource, also of a `[for ...]` loop or an `if (...)` resource."""
    config = resource["config"]
    while "loop_type" in config or ("condition" in config and "config" in config):
        config = config["config"]
    return config


def main_value(expression: Any) -> Any:
    """An expression of main.bicep resolved to a parameter default or a variable's value when it names one."""
    tree = main()
    if isinstance(expression, str):
        if expression in tree["parameters"]:
            return tree["parameters"][expression].get("default")
        if expression in tree["variables"]:
            return tree["variables"][expression]["value"]
    return expression


def module_value(module_path: str, expression: Any) -> Any:
    """An expression of infra/<module_path> resolved through main.bicep when it names a module parameter."""
    module = parse(INFRA / module_path)
    if isinstance(expression, str) and expression in module["parameters"]:
        passed = module_call(module_path)["params"].get(expression)
        return main_value(passed)
    return expression


def app_settings() -> dict[str, Any]:
    """name -> value (as written in infra/app/api.bicep) of the Function App's siteConfig.appSettings."""
    sites = resources(INFRA / "app" / "api.bicep", "Microsoft.Web/sites")
    assert len(sites) == 1, "infra/app/api.bicep declares exactly one Microsoft.Web/sites"
    entries = resource_body(sites[0])["properties"]["siteConfig"]["appSettings"]
    return {entry["name"]: entry["value"] for entry in entries}


def resolved_app_settings() -> dict[str, Any]:
    return {name: module_value("app/api.bicep", value) for name, value in app_settings().items()}


def strings(tree: Any) -> Iterator[str]:
    """Every string anywhere in a parsed template or JSON document."""
    if isinstance(tree, str):
        yield tree
    elif isinstance(tree, dict):
        for key, value in tree.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(tree, list):
        for item in tree:
            yield from strings(item)
