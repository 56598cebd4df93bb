"""Dependencies point one way: crawler → index. The index imports no forge client, no HTTP, nothing of crawler."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_INDEX = ("crawler", "httpx", "github", "gitlab", "requests", "urllib3", "graphql")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_index_never_imports_the_crawler_or_forge_clients():
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & set(FORBIDDEN_IN_INDEX))
        for path in (ROOT / "index").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_modules_stay_small():
    too_big = {
        str(p.relative_to(ROOT)): n
        for p in [*(ROOT / "crawler").rglob("*.py"), *(ROOT / "index").rglob("*.py")]
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert too_big == {}, "split these modules by responsibility"
