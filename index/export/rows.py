"""What each published file holds, record by record: a repository, an account, a ministry, the totals.

Shared by the export (`index.export.build`) and by the status check (`index.status.check`), so that a record
shown by `codeindex check` is byte-for-byte the one repositories.json / organisations.json publish.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from index.export.format import blank_to_none
from index.queries import ExportedAccount, ExportedRepository, ReadModel

PUBLICCODE_KEYS = ("valid", "error", "problems", "warnings", "name", "description", "license", "maintenance_type",
                   "funded_by")


# repositories.json -----------------------------------------------------------------------------------------------
def _publiccode(stored: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stored publiccode.yml summary, its values as text (rows hold no floats: json_sorted_bytes)."""
    if stored is None:
        return None
    return {  # keys in sorted order, as everywhere in a row (repository_json)
        "description": _text(stored.get("description")),
        "error": _text(stored.get("error")),
        "funded_by": sorted(str(item) for item in (stored.get("funded_by") or [])),
        "license": _text(stored.get("license")),
        "maintenance_type": _text(stored.get("maintenance_type")),
        "name": _text(stored.get("name")),
        "problems": _issues(stored.get("problems")),
        "valid": bool(stored.get("valid")),
        "warnings": _issues(stored.get("warnings")),
    }


def _issues(stored: Any) -> list[dict[str, str]]:
    """Stored (key path, message) pairs → [{"key", "message"}]; rows stored before validation have none."""
    return [{"key": str(pair[0]), "message": str(pair[1])} for pair in stored or ()
            if isinstance(pair, (list, tuple)) and len(pair) == 2]


def _text(value: Any) -> str | None:
    return value if value is None or type(value) is str else str(value)


def repository_json(repo: ExportedRepository) -> dict[str, Any]:
    """One repository as published. Keys are written in sorted order at every level, so that the row can be
    encoded without sorting (json_sorted_bytes): a test walks a full row to keep it so."""
    account = repo.account
    return {
        "activity": {
            "commits_365d": repo.commits_365d,
            "contributors_365d": repo.contributors_365d,
            "latest_release_at": repo.latest_release_at,
            "releases_count": repo.releases_count,
        },
        "archived": repo.archived,
        "created_at": repo.created_at,
        "default_branch": repo.default_branch,
        "description": blank_to_none(repo.description),
        "empty": repo.empty,
        "files": {
            "changelog": repo.has_changelog,
            "contributing": repo.has_contributing,
            "license": repo.has_license,
            "publiccode": repo.has_publiccode,
            "readme": repo.has_readme,
        },
        "first_seen": repo.first_seen,
        "forge": account.forge.host,
        "forge_id": repo.forge_repo_id,
        "forge_kind": account.forge.kind,
        "fork": repo.fork,
        "forks": repo.forks,
        "full_name": repo.full_name,
        "homepage": blank_to_none(repo.homepage),
        "html_url": repo.html_url,
        "language": blank_to_none(repo.language),
        "last_commit_at": repo.last_commit_at,
        "last_seen": repo.last_seen,
        "licence_source": repo.licence_source,
        "license": repo.license_spdx,
        "ministry": account.ministry,
        "name": repo.name,
        "open_issues": repo.open_issues,
        "organisation": account.organisation_name,
        "owner": {"kind": account.kind, "login": account.login, "url": account.url},
        "owner_path": repo.owner_path,
        "parent_url": repo.parent_url,
        "previous_full_names": list(repo.previous_full_names or []),
        "pso_id": account.pso_id,
        "publiccode": _publiccode(repo.publiccode),
        "pushed_at": repo.pushed_at,
        "score": repo.score,
        "signals_at": repo.signals_at,
        "stars": repo.stars,
        "template": repo.template,
        "topics": sorted(set(repo.topics or [])),
        "trend_30d": repo.trend,
        "updated_at": repo.updated_at,
        "watchers": repo.watchers,
    }


REPOSITORY_CSV_COLUMNS = (
    "forge", "forge_kind", "forge_id", "full_name", "name", "owner_login", "owner_kind", "owner_url", "owner_path",
    "html_url", "description", "homepage", "default_branch", "language", "topics", "stars", "forks", "watchers",
    "open_issues", "created_at", "updated_at", "pushed_at", "last_commit_at", "archived", "fork", "parent_url",
    "template", "empty", "license", "licence_source", "activity_commits_365d", "activity_contributors_365d",
    "activity_releases_count", "activity_latest_release_at", "files_readme", "files_license",
    "files_contributing", "files_changelog", "files_publiccode", *(f"publiccode_{k}" for k in PUBLICCODE_KEYS),
    "score", "first_seen", "last_seen", "signals_at", "previous_full_names", "ministry", "organisation", "pso_id",
    "trend_30d_since", "trend_30d_stars", "trend_30d_forks", "trend_30d_commits_365d",
)


# the read model's timestamps: text in the published form, safe in a CSV cell as they are
REPOSITORY_CSV_TIMESTAMPS = ("created_at", "updated_at", "pushed_at", "last_commit_at", "activity_latest_release_at",
                             "first_seen", "last_seen", "signals_at")
assert set(REPOSITORY_CSV_TIMESTAMPS) <= set(REPOSITORY_CSV_COLUMNS)


# organisations.json ----------------------------------------------------------------------------------------------
def account_json(account: ExportedAccount, repos: list[ExportedRepository]) -> dict[str, Any]:
    return {
        "forge": account.forge.host,
        "forge_kind": account.forge.kind,
        "login": account.login,
        "kind": account.kind,
        "name": blank_to_none(account.name),
        "organisation": account.organisation_name,
        "description": blank_to_none(account.description),
        "html_url": account.url,
        "avatar_url": account.avatar_url,
        "website": blank_to_none(account.website),
        "email": blank_to_none(account.email),
        "location": blank_to_none(account.location),
        "verified": account.verified,
        "created_at": account.created_at,
        "followers": account.followers,
        "repositories_count": len(repos),
        "forge_repositories_count": account.forge_repositories_count,
        "stars": sum(r.stars for r in repos),
        "pso_id": account.pso_id,
        "ministry": account.ministry,
        "floss_policy": account.floss_policy,
        "ospo_url": account.ospo_url,
        "crawl": {
            "status": account.last_status,
            "error": account.last_error,
            "last_attempt_at": account.last_attempt_at,
            "last_success_at": account.last_success_at,
            "first_seen": account.first_seen,
            "last_seen": account.last_seen,
        },
    }


ORGANISATION_CSV_COLUMNS = (
    "forge", "forge_kind", "login", "kind", "name", "organisation", "description", "html_url", "avatar_url",
    "website", "email", "location", "verified", "created_at", "followers", "repositories_count",
    "forge_repositories_count", "stars", "pso_id", "ministry", "floss_policy", "ospo_url", "crawl_status",
    "crawl_error", "crawl_last_attempt_at", "crawl_last_success_at", "crawl_first_seen", "crawl_last_seen",
)


def account_sort_key(account: ExportedAccount) -> tuple[str, str, str]:
    return (account.forge.host, account.login.lower(), account.login)


# ministries.json and stats.json ----------------------------------------------------------------------------------
def ministries_json(
    accounts: list[ExportedAccount], repos_by_account: Mapping[int, list[ExportedRepository]],
    ministry_ids: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One entry per ministry, and one (name null) for the accounts without one; by name, null last."""
    grouped: dict[str | None, list[ExportedAccount]] = defaultdict(list)
    for account in accounts:
        grouped[account.ministry].append(account)
    entries = []
    for name in sorted(grouped, key=lambda n: (n is None, n or "")):
        members = sorted(grouped[name], key=account_sort_key)
        repos = [r for a in members for r in repos_by_account.get(a.id, [])]
        entries.append({
            "name": name,
            "pso_id": ministry_ids.get(name) if name is not None else None,
            "accounts": [f"{a.forge.host}/{a.login}" for a in members],
            "accounts_count": len(members),
            "repositories_count": len(repos),
            "stars": sum(r.stars for r in repos),
        })
    return entries


def _counts(values: list[str | None]) -> dict[str, int]:
    return dict(sorted(Counter("none" if v is None else v for v in values).items()))


def stats_json(
    model: ReadModel, repos: list[ExportedRepository], repos_by_account: Mapping[int, list[ExportedRepository]]
) -> dict[str, Any]:
    by_forge: dict[str, dict[str, int]] = {
        f.host: {"accounts": 0, "repositories": 0, "stars": 0} for f in model.forges
    }
    by_ministry: dict[str, dict[str, int]] = {}
    for account in model.accounts:
        own = repos_by_account.get(account.id, [])
        for bucket in (
            by_forge[account.forge.host],
            by_ministry.setdefault(account.ministry or "none", {"accounts": 0, "repositories": 0, "stars": 0}),
        ):
            bucket["accounts"] += 1
            bucket["repositories"] += len(own)
            bucket["stars"] += sum(r.stars for r in own)
    histogram: list[dict[str, int]] = []
    if repos:
        buckets = Counter((r.score // 100) * 100 for r in repos)
        histogram = [
            {"from": low, "to": low + 99, "repositories": buckets.get(low, 0)}
            for low in range(min(buckets), max(buckets) + 100, 100)
        ]
    licensed = sum(1 for r in repos if r.license_spdx is not None)
    return {
        "totals": {
            "repositories": len(repos),
            "accounts": len(model.accounts),
            "accounts_with_repositories": sum(1 for a in model.accounts if repos_by_account.get(a.id)),
            "forges": len(model.forges),
            "stars": sum(r.stars for r in repos),
            "forks": sum(r.forks for r in repos),
        },
        "by_forge": dict(sorted(by_forge.items())),
        "by_licence": _counts([r.license_spdx for r in repos]),
        "by_language": _counts([blank_to_none(r.language) for r in repos]),
        "by_ministry": dict(sorted(by_ministry.items())),
        "score_histogram": histogram,
        "licence_coverage": round(licensed / len(repos), 4) if repos else 0.0,
        "history": model.history,
    }
