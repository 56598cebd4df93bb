"""Mapping helpers every forge adapter shares: forge timestamps, and root file names → has_* signals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from index.records import RepositorySignals

# root file names (lower case) that count for the code.gouv.fr score, matched as prefixes ("README.md", "LICENSE").
# The licence file as code.gouv.fr finds it, `^LICENSE|^COPYING|^MIT-LICENSE`: no LICENCE, no UNLICENSE (see
# docs/export.md, "Score inputs")
README = ("readme",)
LICENSE = ("license", "copying", "mit-license")
CONTRIBUTING = ("contributing",)
CHANGELOG = ("changelog", "changes", "history", "news")
PUBLICCODE = ("publiccode.yml", "publiccode.yaml")

# What an empty repository has: no commit, contributor, release or file (it costs no request to know).
EMPTY_SIGNALS = RepositorySignals(commits_365d=0, contributors_365d=0, releases_count=0, has_readme=False,
                                  has_license=False, has_contributing=False, has_changelog=False,
                                  has_publiccode=False)


def parse_time(value: Any) -> dt.datetime | None:
    """A forge timestamp ("2020-04-27T06:13:22.642Z", "2024-06-28T03:44:20-07:00") → UTC-aware datetime.

    None for anything unusable: missing, malformed, or Go's zero time "0001-01-01T00:00:00Z" (Gitea, Gogs)."""
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def tree_flags(names: list[str]) -> dict[str, bool]:
    """Root file names → the has_* signals (case-insensitive prefixes, as forges display them)."""
    lower = [n.lower() for n in names]

    def has(prefixes: tuple[str, ...]) -> bool:
        return any(n.startswith(prefixes) for n in lower)

    return {"has_readme": has(README), "has_license": has(LICENSE), "has_contributing": has(CONTRIBUTING),
            "has_changelog": has(CHANGELOG), "has_publiccode": any(n in PUBLICCODE for n in lower)}
