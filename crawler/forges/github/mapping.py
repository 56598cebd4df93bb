"""GitHub JSON → index records: pure functions, tested from recorded JSON (shared/forgedata).

REST objects (minimal-repository / full-repository) and GraphQL `Repository` nodes map to the same
`RepositoryRecord`; fields an answer does not carry (REST lists have no subscribers or parent) stay None so the
index keeps what it had.
"""

from __future__ import annotations

from typing import Any

from crawler.forges import licences
from crawler.forges.common import CHANGELOG, CONTRIBUTING, LICENSE, PUBLICCODE, README, parse_time
from crawler.forges.publiccode import parse_publiccode
from index.records import AccountKind, AccountRecord, RepositoryRecord, RepositorySignals, Visibility

# The GraphQL selection the adapter asks for each repository; cost 3 points per 100 repositories (topics,
# history and releases are the only connections), nodes ≈ 100 × (20 + 100 + 1).
REPO_FRAGMENT = """
fragment Repo on Repository {
  databaseId name nameWithOwner url homepageUrl description visibility
  isArchived isFork isTemplate isEmpty pushedAt createdAt updatedAt stargazerCount forkCount
  watchers(first: 1) { totalCount }
  issues(states: OPEN, first: 1) { totalCount }
  primaryLanguage { name }
  licenseInfo { key spdxId }
  repositoryTopics(first: 20) { nodes { topic { name } } }
  parent { url nameWithOwner }
  defaultBranchRef { name target { ... on Commit { committedDate
    history(first: 100, since: $since) { totalCount nodes { author { email } } } } } }
  root: object(expression: "HEAD:") { ... on Tree { entries { name type } } }
  publiccode: object(expression: "HEAD:publiccode.yml") { ... on Blob { text isTruncated } }
  releases(first: 1, orderBy: {field: CREATED_AT, direction: DESC}) { totalCount }
  latestRelease { publishedAt }
}
"""


def _visibility(value: str | None, private: bool | None = None) -> Visibility:
    if value:
        try:
            return Visibility(value.lower())
        except ValueError:
            pass
    return Visibility.PRIVATE if private else Visibility.PUBLIC


def repo_from_rest(item: dict[str, Any]) -> RepositoryRecord:
    """A REST repository object (list item or full) → record without signals."""
    full_name = item["full_name"]
    licence = item.get("license") or None
    parent = item.get("parent") or None
    return RepositoryRecord(
        forge_id=int(item["id"]),
        full_name=full_name,
        name=item["name"],
        owner_path=full_name.rsplit("/", 1)[0],
        html_url=item["html_url"],
        visibility=_visibility(item.get("visibility"), item.get("private")),
        description=item.get("description") or None,
        homepage=item.get("homepage") or None,
        # REST names a default branch even for an empty repository; GraphQL (and git) has none: say none
        default_branch=item.get("default_branch") if item.get("pushed_at") is not None else None,
        language=item.get("language"),
        topics=tuple(item.get("topics") or ()),
        stars=int(item.get("stargazers_count") or 0),
        forks=int(item.get("forks_count") or 0),
        watchers=item.get("subscribers_count"),
        open_issues=item.get("open_issues_count"),
        created_at=parse_time(item.get("created_at")),
        updated_at=parse_time(item.get("updated_at")),
        pushed_at=parse_time(item.get("pushed_at")),
        archived=bool(item.get("archived")),
        fork=bool(item.get("fork")),
        parent_url=parent.get("html_url") if parent else None,
        template=bool(item.get("is_template")),
        empty=item.get("pushed_at") is None,
        license_spdx=licences.from_github(licence.get("spdx_id"), licence.get("key")) if licence else None,
        signals=None,
    )


def _dig(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


ROOT_FILES = {"readme": README, "license": LICENSE, "contributing": CONTRIBUTING, "changelog": CHANGELOG}


def signals_from_graphql(node: dict[str, Any]) -> RepositorySignals:
    target = _dig(node, "defaultBranchRef", "target") or {}
    history = target.get("history") or {}
    emails = {(_dig(c, "author", "email") or "").lower() for c in history.get("nodes") or ()} - {""}
    entries = _dig(node, "root", "entries")
    names = [str(e.get("name") or "").lower() for e in entries or ()] if entries is not None else None

    def has(kind: str) -> bool | None:
        if names is None:
            return False if node.get("isEmpty") else None
        return any(n.startswith(prefix) for n in names for prefix in ROOT_FILES[kind])

    has_publiccode = None if names is None and not node.get("isEmpty") else bool(
        names and any(n in PUBLICCODE for n in names))
    blob = node.get("publiccode")
    publiccode = parse_publiccode(blob.get("text")) if isinstance(blob, dict) and blob.get("text") is not None else None
    return RepositorySignals(
        commits_365d=history.get("totalCount", 0 if node.get("isEmpty") else None),
        contributors_365d=len(emails) if history or node.get("isEmpty") else None,
        last_commit_at=parse_time(target.get("committedDate")),
        releases_count=_dig(node, "releases", "totalCount"),
        latest_release_at=parse_time(_dig(node, "latestRelease", "publishedAt")),
        has_readme=has("readme"),
        has_license=has("license"),
        has_contributing=has("contributing"),
        has_changelog=has("changelog"),
        has_publiccode=has_publiccode,
        publiccode=publiccode,
    )


def repo_from_graphql(node: dict[str, Any], *, with_signals: bool = True) -> RepositoryRecord:
    """A GraphQL Repository node (selection `REPO_FRAGMENT`) → record, with signals unless told otherwise."""
    full_name = node["nameWithOwner"]
    licence = node.get("licenseInfo") or None
    return RepositoryRecord(
        forge_id=int(node["databaseId"]),
        full_name=full_name,
        name=node["name"],
        owner_path=full_name.rsplit("/", 1)[0],
        html_url=node["url"],
        visibility=_visibility(node.get("visibility")),
        description=node.get("description") or None,
        homepage=node.get("homepageUrl") or None,
        default_branch=_dig(node, "defaultBranchRef", "name"),
        language=_dig(node, "primaryLanguage", "name"),
        topics=tuple(t["topic"]["name"] for t in _dig(node, "repositoryTopics", "nodes") or () if t.get("topic")),
        stars=int(node.get("stargazerCount") or 0),
        forks=int(node.get("forkCount") or 0),
        watchers=_dig(node, "watchers", "totalCount"),
        open_issues=_dig(node, "issues", "totalCount"),
        created_at=parse_time(node.get("createdAt")),
        updated_at=parse_time(node.get("updatedAt")),
        pushed_at=parse_time(node.get("pushedAt")),
        archived=bool(node.get("isArchived")),
        fork=bool(node.get("isFork")),
        parent_url=_dig(node, "parent", "url"),
        template=bool(node.get("isTemplate")),
        empty=bool(node.get("isEmpty")),
        license_spdx=licences.from_github(licence.get("spdxId"), licence.get("key")) if licence else None,
        signals=signals_from_graphql(node) if with_signals else None,
    )


def account_from_graphql(owner: dict[str, Any], total: int | None = None) -> AccountRecord:
    org = owner.get("__typename") == "Organization"
    return AccountRecord(
        login=owner["login"],
        kind=AccountKind.ORGANIZATION if org else AccountKind.USER,
        html_url=owner.get("url") or "",
        forge_id=owner.get("databaseId"),
        name=owner.get("name") or None,
        description=(owner.get("description") if org else owner.get("bio")) or None,
        avatar_url=owner.get("avatarUrl"),
        website=owner.get("websiteUrl") or None,
        email=(owner.get("orgEmail") if org else owner.get("email")) or None,
        location=owner.get("location") or None,
        verified=owner.get("isVerified") if org else None,
        created_at=parse_time(owner.get("createdAt")),
        followers=_dig(owner, "followers", "totalCount"),
        repositories_count=total,
    )


def account_from_rest(obj: dict[str, Any]) -> AccountRecord:
    org = obj.get("type") == "Organization"
    return AccountRecord(
        login=obj["login"],
        kind=AccountKind.ORGANIZATION if org else AccountKind.USER,
        html_url=obj.get("html_url") or "",
        forge_id=obj.get("id"),
        name=obj.get("name") or None,
        description=(obj.get("description") if org else obj.get("bio")) or None,
        avatar_url=obj.get("avatar_url"),
        website=obj.get("blog") or None,
        email=obj.get("email") or None,
        location=obj.get("location") or None,
        verified=obj.get("is_verified") if org else None,
        created_at=parse_time(obj.get("created_at")),
        followers=obj.get("followers"),
        repositories_count=obj.get("public_repos"),
    )
