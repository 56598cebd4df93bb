"""GitLab's JSON → index records: pure functions, tested from recorded bodies (forge-api-notes §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawler.forges.common import parse_time
from crawler.forges.licences import normalise
from index.records import AccountKind, AccountRecord, RepositoryRecord, RepositorySignals, Visibility


def licence_of(data: Mapping[str, Any]) -> str | None:
    """SPDX id from a `?license=true` project body; None when absent or when GitLab detected no licence."""
    licence = data.get("license")
    if not isinstance(licence, Mapping):
        return None
    return normalise(licence.get("key"), name=licence.get("name"))


def main_language(languages: Mapping[str, Any]) -> str | None:
    """`GET /projects/:id/languages` → the language with the biggest share (ties: alphabetical)."""
    shares = [(float(v), k) for k, v in languages.items() if isinstance(v, int | float)]
    return min(shares, key=lambda item: (-item[0], item[1]))[1] if shares else None


def project_to_record(
    data: Mapping[str, Any], *, language: str | None = None, signals: RepositorySignals | None = None
) -> RepositoryRecord:
    """A project body (list item, `simple=true` item or single GET) → RepositoryRecord. Pure: no I/O."""
    namespace = data.get("namespace") or {}
    full_name = data.get("path_with_namespace") or f"{namespace.get('full_path', '')}/{data.get('path', '')}"
    owner = namespace.get("full_path") or full_name.rsplit("/", 1)[0]
    topics = data.get("topics")
    if topics is None:
        topics = data.get("tag_list") or []
    empty = bool(data.get("empty_repo")) or (data.get("empty_repo") is None and data.get("default_branch") is None)
    parent = data.get("forked_from_project")
    last_activity = parse_time(data.get("last_activity_at"))
    visibility = data.get("visibility") or "public"
    issues = data.get("open_issues_count")
    return RepositoryRecord(
        forge_id=int(data["id"]),
        full_name=full_name,
        name=data.get("path") or data.get("name") or full_name.rsplit("/", 1)[-1],
        owner_path=owner,
        html_url=data.get("web_url") or "",
        visibility=Visibility(visibility) if visibility in Visibility._value2member_map_ else Visibility.PUBLIC,
        description=data.get("description") or None,
        default_branch=data.get("default_branch"),
        language=language,
        topics=tuple(str(t) for t in topics),
        stars=int(data.get("star_count") or 0),
        forks=int(data.get("forks_count") or 0),
        watchers=None,
        open_issues=int(issues) if isinstance(issues, int) else None,
        created_at=parse_time(data.get("created_at")),
        updated_at=parse_time(data.get("updated_at")) or last_activity,
        pushed_at=None if empty else last_activity,
        archived=bool(data.get("archived")),
        fork=isinstance(parent, Mapping),
        parent_url=parent.get("web_url") if isinstance(parent, Mapping) else None,
        empty=empty,
        license_spdx=licence_of(data),
        signals=signals,
    )


def inside(data: Mapping[str, Any], path: str) -> bool:
    """A project belongs to the account when its namespace is the account or below it (shared ones are not)."""
    namespace = data.get("namespace") or {}
    owner = str(namespace.get("full_path") or data.get("path_with_namespace", "").rsplit("/", 1)[0]).lower()
    return owner == path or owner.startswith(path + "/")


def group_record(data: Mapping[str, Any]) -> AccountRecord:
    return AccountRecord(
        login=data.get("full_path") or data.get("path") or "", kind=AccountKind.GROUP,
        html_url=data.get("web_url") or "", forge_id=data.get("id"), name=data.get("name"),
        description=data.get("description") or None, avatar_url=data.get("avatar_url"),
        created_at=parse_time(data.get("created_at")),
    )


def user_record(data: Mapping[str, Any]) -> AccountRecord:
    return AccountRecord(
        login=data.get("username") or "", kind=AccountKind.USER, html_url=data.get("web_url") or "",
        forge_id=data.get("id"), name=data.get("name"), description=data.get("bio") or None,
        avatar_url=data.get("avatar_url"), website=data.get("website_url") or None,
        email=data.get("public_email") or None, location=data.get("location") or None,
        created_at=parse_time(data.get("created_at")),
    )
