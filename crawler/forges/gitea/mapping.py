"""Gitea, Forgejo and Gogs JSON → index records: pure functions, tested from the servers' answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawler.forges.common import EMPTY_SIGNALS, parse_time
from crawler.forges.licences import normalise
from index.records import AccountKind, AccountRecord, RepositoryRecord, RepositorySignals, Visibility


def licence_of(data: Mapping[str, Any]) -> str | None:
    """`licenses` (SPDX ids) → the current SPDX id, "Other" when unidentified (LicenseRef-...), None when absent or
    empty. Several detected licences: the first one Gitea lists is kept (one id per repository)."""
    licences = data.get("licenses")
    if not isinstance(licences, list) or not licences:
        return None
    return normalise(str(licences[0]))


def main_language(languages: Mapping[str, Any]) -> str | None:
    """`/languages` ({name: bytes}) → the biggest share (ties: alphabetical)."""
    shares = [(float(v), k) for k, v in languages.items() if isinstance(v, int | float)]
    return min(shares, key=lambda item: (-item[0], item[1]))[1] if shares else None


def owner_login(owner: Any) -> str:
    if not isinstance(owner, Mapping):
        return ""
    return str(owner.get("login") or owner.get("username") or owner.get("name") or "")


def repo_to_record(data: Mapping[str, Any], *, signals: RepositorySignals | None = None) -> RepositoryRecord:
    """A Gitea/Forgejo/Gogs repository object → RepositoryRecord. Pure: no I/O."""
    full_name = str(data.get("full_name") or f"{owner_login(data.get('owner'))}/{data.get('name', '')}")
    empty = bool(data.get("empty"))
    visibility = Visibility.PUBLIC
    if data.get("private"):
        visibility = Visibility.PRIVATE
    elif data.get("internal"):
        visibility = Visibility.INTERNAL
    parent = data.get("parent")
    mirror = bool(data.get("mirror"))
    original = str(data.get("original_url") or "")
    parent_url = parent.get("html_url") if isinstance(parent, Mapping) else None
    if mirror and not parent_url and original.startswith(("https://", "http://")):
        parent_url = original.removesuffix(".git")
    updated = parse_time(data.get("updated_at"))
    issues = data.get("open_issues_count")
    watchers = data.get("watchers_count")
    return RepositoryRecord(
        forge_id=int(data["id"]),
        full_name=full_name,
        name=str(data.get("name") or full_name.rsplit("/", 1)[-1]),
        owner_path=owner_login(data.get("owner")) or full_name.rsplit("/", 1)[0],
        html_url=str(data.get("html_url") or ""),
        visibility=visibility,
        description=data.get("description") or None,
        homepage=data.get("website") or None,
        default_branch=None if empty else (data.get("default_branch") or None),
        language=None if empty else (data.get("language") or None),
        topics=tuple(str(t) for t in data.get("topics") or ()),
        stars=int(data.get("stars_count") or 0),
        forks=int(data.get("forks_count") or 0),
        watchers=int(watchers) if isinstance(watchers, int) else None,
        open_issues=int(issues) if isinstance(issues, int) else None,
        created_at=parse_time(data.get("created_at")),
        updated_at=updated,
        pushed_at=None if empty else updated,
        archived=bool(data.get("archived")),
        fork=bool(data.get("fork")) or mirror,
        parent_url=parent_url,
        template=bool(data.get("template")),
        empty=empty,
        license_spdx=licence_of(data),
        signals=EMPTY_SIGNALS if empty and signals is None else signals,
    )


def account_record(data: Mapping[str, Any], kind: AccountKind, web_root: str) -> AccountRecord:
    login = owner_login(data)
    return AccountRecord(
        login=login, kind=kind, html_url=str(data.get("html_url") or f"{web_root}/{login}"),
        forge_id=data.get("id") if isinstance(data.get("id"), int) else None,
        name=data.get("full_name") or None, description=data.get("description") or None,
        avatar_url=data.get("avatar_url") or None, website=data.get("website") or None,
        email=data.get("email") or None, location=data.get("location") or None,
        created_at=parse_time(data.get("created")),
        followers=data.get("followers_count") if isinstance(data.get("followers_count"), int) else None,
    )


# the adapter ---------------------------------------------------------------------------------------------------
