"""The test suite itself: a helper is written once (tests/support.py, or a fixture in tests/conftest.py), never
copied from one test file to another."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def copied_definitions(files: list[Path], root: Path) -> dict[str, list[str]]:
    """Top-level functions and classes defined with the same name and an identical body (decorators and signature
    included, line numbers not) in two or more of `files`: name → the files, relative to `root`."""
    where: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                where[(node.name, ast.dump(node, include_attributes=False))].add(str(path.relative_to(root)))
    return {name: sorted(paths) for (name, _), paths in sorted(where.items()) if len(paths) > 1}


def test_no_function_or_class_is_copied_between_test_files():
    copies = copied_definitions(sorted(TESTS.rglob("*.py")), TESTS.parent)
    assert copies == {}, f"copied between test files, share them from tests/support.py or tests/conftest.py: {copies}"


def test_the_copy_check_sees_a_copy_and_lets_a_same_name_with_another_body_be(tmp_path):
    helper = "def helper(x):\n    return x + 1\n"
    (tmp_path / "a.py").write_text(f"import os\n\n\n{helper}\n\ndef test_one():\n    assert helper(1) == 2\n")
    (tmp_path / "b.py").write_text(f"\n\n\n\n{helper}\n\ndef test_one():\n    assert helper(2) == 3\n")  # other lines
    (tmp_path / "c.py").write_text("def helper(x):\n    return x + 2\n")
    assert copied_definitions(sorted(tmp_path.glob("*.py")), tmp_path) == {"helper": ["a.py", "b.py"]}
