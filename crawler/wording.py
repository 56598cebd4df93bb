"""Counts as people write them: "1 account", "2 accounts", "1,234 repositories"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`count` and `word`, in the plural unless count is 1 (give `many` when adding an s is wrong)."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
