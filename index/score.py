"""code.gouv.fr's repository score ("awesome-score", weights 1000 / 100 / 10; maximum 5,210).

Criteria as documented in the reference (stars no longer count since Nov 2024). Missing signals count as absent,
so a repository whose files were never read scores as one without them — never higher than it deserves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_SCORE = 5210


def _tiers(value: int | None) -> int:
    value = value or 0
    return 1000 if value > 100 else 100 if value > 10 else 10 if value > 1 else 0


def score(repo: Mapping[str, Any]) -> int:
    """Score from a mapping with the index's repository column names."""
    points = 0
    # only a licence file seen at the root counts, as for code.gouv.fr: a licence the forge detected while the files
    # were not read yet (has_license None) earns nothing until they are
    points += 1000 if repo.get("has_license") else 0
    points += 1000 if repo.get("template") else 0
    points += 1000 if repo.get("has_publiccode") else 0
    points += 100 if repo.get("has_readme") else 0
    points += 100 if repo.get("has_contributing") else 0
    points += 10 if repo.get("has_changelog") else 0
    points -= 100 if not (repo.get("description") or "").strip() else 0
    points -= 1000 if repo.get("archived") else 0
    points -= 1000 if repo.get("fork") else 0
    points += _tiers(repo.get("forks"))
    points += _tiers(repo.get("watchers"))
    return points
