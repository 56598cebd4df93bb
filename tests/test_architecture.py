"""The layout holds: dependencies point one way (crawler → index), the simulated forge stands apart, no module
imports in a circle (not even through an import hidden inside a function), modules stay small, and no path of one
machine is written into the repository."""

from __future__ import annotations

import ast
import re
import subprocess
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("crawler", "index", "simforge")
FORBIDDEN_IN_INDEX = ("crawler", "simforge", "httpx", "github", "gitlab", "requests", "urllib3", "graphql")
MAX_LINES = 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PRODUCT for p in sorted((ROOT / package).rglob("*.py"))}


def imports(path: Path, *, lazy: bool = True) -> set[str]:
    """Every module `path` imports, `from a import b` resolved to a.b when a.b is a module; with `lazy`, the imports
    written inside functions too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = ast.walk(tree) if lazy else iter(tree.body)
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if f"{node.module}.{alias.name}" in modules())
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {m for m in imports(path) if m in known and m != name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_in_a_circle():
    assert cycles(graph()) == []


def test_index_never_imports_the_crawler_the_simulated_forge_or_forge_clients():
    offenders = {
        name: sorted(m for m in imports(path) if m.split(".")[0] in FORBIDDEN_IN_INDEX)
        for name, path in modules().items() if name.startswith("index")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_simulated_forge_is_a_package_of_its_own():
    """simforge answers like a forge: it may read the index's licence vocabulary, nothing of the crawler."""
    offenders = {
        name: sorted(m for m in imports(path) if m.split(".")[0] in ("crawler", "index") and m != "index.licences")
        for name, path in modules().items() if name.startswith("simforge")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_crawler_reaches_the_simulated_forge_only_lazily():
    """Installed with the `demo` extra only: no crawler module may need it to be imported."""
    eager = {name for name, path in modules().items() if name.startswith("crawler")
             if any(m.split(".")[0] == "simforge" for m in imports(path, lazy=False))}
    lazy = {name for name, path in modules().items() if name.startswith("crawler")
            if any(m.split(".")[0] == "simforge" for m in imports(path))}
    assert eager == set()
    assert lazy == {"crawler.cli.demo", "crawler.demo"}


def test_modules_stay_small():
    too_big = {
        name: n for name, path in modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert too_big == {}, "split these modules by responsibility"


MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:work|tmp|root|home|Users|var/folders)/")


def test_no_absolute_path_of_a_machine_in_the_repository():
    """Paths are relative to the repository (../shared for the shared data); a temporary folder comes from
    tempfile or pytest's tmp_path, never a hard-coded /tmp."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    offenders = []
    for name in tracked.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        offenders += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if MACHINE_PATH.search(line)]
    assert offenders == []
