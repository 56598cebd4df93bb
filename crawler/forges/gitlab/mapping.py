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


# GraphQL (crawler.forges.gitlab.graphql) ----------------------------------------------------------------------
def node_id(node: Mapping[str, Any]) -> int:
    """`gid://gitlab/Project/123` → 123."""
    return int(str(node["id"]).rsplit("/", 1)[-1])


def node_to_record(node: Mapping[str, Any], host_url: str) -> RepositoryRecord:
    """A project node of the GraphQL listing → RepositoryRecord with what the listing alone says (no licence,
    no fork parent, no activity count: the details add them). `host_url` is the instance's web root."""
    full_name = str(node.get("fullPath") or "")
    found = node.get("repository")
    repository: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    empty = bool(repository.get("empty")) if repository else True
    last_activity = parse_time(node.get("lastActivityAt"))
    visibility = node.get("visibility") or "public"
    issues = node.get("openIssuesCount")
    return RepositoryRecord(
        forge_id=node_id(node),
        full_name=full_name,
        name=node.get("path") or node.get("name") or full_name.rsplit("/", 1)[-1],
        owner_path=full_name.rsplit("/", 1)[0],
        html_url=node.get("webUrl") or f"{host_url}/{full_name}",
        visibility=Visibility(visibility) if visibility in Visibility._value2member_map_ else Visibility.PUBLIC,
        description=node.get("description") or None,
        default_branch=None if empty else repository.get("rootRef"),
        language=graphql_language(node.get("languages")),
        topics=tuple(str(t) for t in node.get("topics") or ()),
        stars=int(node.get("starCount") or 0),
        forks=int(node.get("forksCount") or 0),
        open_issues=int(issues) if isinstance(issues, int) else None,
        created_at=parse_time(node.get("createdAt")),
        updated_at=last_activity,
        pushed_at=None if empty else last_activity,
        archived=bool(node.get("archived")),
        fork=bool(node.get("isForked")),
        empty=empty,
    )


def graphql_language(languages: Any) -> str | None:
    """`languages { name share }` → the biggest share, as `main_language` picks from REST."""
    if not isinstance(languages, list):
        return None
    return main_language({str(x.get("name")): x.get("share") for x in languages
                          if isinstance(x, Mapping) and x.get("name")})


def root_names(node: Mapping[str, Any]) -> tuple[list[tuple[str, str]], bool]:
    """((name, blob id) of the root files and folders, complete?) from a node's `repository.tree`."""
    tree = ((node.get("repository") or {}).get("tree")) or {}
    names: list[tuple[str, str]] = []
    complete = True
    for kind in ("blobs", "trees"):
        connection = tree.get(kind) or {}
        complete = complete and not (connection.get("pageInfo") or {}).get("hasNextPage")
        names.extend((str(n.get("name")), str(n.get("sha") or "")) for n in connection.get("nodes") or ()
                     if isinstance(n, Mapping) and n.get("name"))
    return names, complete
