"""pyproject.toml tells the truth: every runtime dependency is imported by the product, every package the product
imports is declared, and what only tests, the demo, PostgreSQL or the benchmark need lives in an extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"crawler", "index", "simforge", "bench", "tests"}
# Loaded by name, never imported: SQLAlchemy opens psycopg for a postgresql+psycopg:// URL.
LOADED_BY_NAME = {"psycopg": "SQLAlchemy loads it for postgresql+psycopg:// URLs"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def declared() -> tuple[set[str], dict[str, set[str]]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = {extra: {_name(r) for r in reqs} for extra, reqs in project["optional-dependencies"].items()}
    return {_name(r) for r in project["dependencies"]}, extras


@cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


def distributions_of(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in _distributions().get(module, [])}


@cache
def third_party_imports(folder: str, *, lazy: bool) -> dict[str, set[str]]:
    """Distribution name → the files importing it (top-level imports only, or those inside functions too)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = ast.walk(tree) if lazy else iter(tree.body)
        for node in nodes:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                     else [])
            for name in names:
                top = name.split(".")[0]
                if top in FIRST_PARTY or top in sys.stdlib_module_names or top == "__future__":
                    continue
                dists = distributions_of(top)
                assert dists, f"{path.relative_to(ROOT)} imports {top}, which no installed distribution provides"
                for dist in dists:
                    found.setdefault(dist, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_runtime_dependency_is_imported_by_the_product():
    runtime, _ = declared()
    product = {**third_party_imports("crawler", lazy=True), **third_party_imports("index", lazy=True)}
    assert runtime - set(product) == set(), "declared but never imported: move it to an extra or remove it"


def test_the_product_imports_only_what_it_declares():
    runtime, extras = declared()
    for folder in ("crawler", "index"):
        eager = third_party_imports(folder, lazy=False)
        assert set(eager) - runtime == set(), f"{folder} needs these at import time: declare them"
        lazy = third_party_imports(folder, lazy=True)
        optional = set(lazy) - runtime
        # imported only when used: a simulated forge, the task queue, metrics, a GitHub App
        allowed = extras["demo"] | extras["distributed"] | extras["metrics"] | extras["github-app"]
        assert optional <= allowed, f"{folder} imports {optional - allowed} undeclared"


def test_the_simulated_forge_needs_only_the_runtime_and_the_demo_extra():
    runtime, extras = declared()
    used = set(third_party_imports("simforge", lazy=True))
    assert used - runtime - extras["demo"] == set()
    assert extras["demo"] <= used


def test_test_demo_postgres_and_benchmark_packages_stay_out_of_the_runtime_set():
    runtime, extras = declared()
    for package in ("graphql-core", "jsonschema", "pygithub", "psycopg", "matplotlib", "pytest"):
        assert package not in runtime
    assert "graphql-core" in extras["demo"] and "psycopg" in extras["postgres"]
    bench = set(third_party_imports("bench", lazy=True))
    assert extras["bench"] <= bench and bench - runtime - extras["bench"] - extras["demo"] == set()
    tests = set(third_party_imports("tests", lazy=True))
    assert tests - runtime - extras["dev"] - extras["demo"] - extras["bench"] == set()
    imported = set().union(*(third_party_imports(f, lazy=True) for f in ("crawler", "index", "simforge", "bench",
                                                                         "tests")))
    tools = {"ruff", "mypy", "pytest-timeout"}  # commands, and the type stubs mypy reads
    for extra, packages in extras.items():
        unused = {p for p in packages - imported - tools - set(LOADED_BY_NAME) if not p.startswith("types-")}
        assert unused == set(), f"extra {extra}: imported nowhere"
