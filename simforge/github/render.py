"""GitHub REST JSON for the simulated forge: repository/account/commit objects in the real field set, and the
per-host lookup index (namespace → repos, path → repo, old paths) so requests never scan the whole world.

Shapes follow GitHub's OpenAPI examples (shared/forgedata/github-openapi-examples) and PyGithub's recordings:
every `url`/`*_url` field the client may follow is absolute with the simulated host:port (PyGithub rejects others).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from simforge.licences import github_license_object
from simforge.world import SimAccount, SimCommit, SimHost, SimRepo, World

DOCS = "https://docs.github.com/rest"


def iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


def html_base(host: str) -> str:
    return f"https://{host}"


# --------------------------------------------------------------------------------------------------------------
# lookup index


@dataclass
class HostIndex:
    """Lookups over one SimHost, rebuilt when the world's revision or sizes change (World's mutations bump the
    revision; code that edits a SimRepo or SimAccount by hand calls `world.touch()`). A miss is a miss: a fork's
    parent outside the world is asked for again and again, and rebuilding on each one made the simulated
    GitHub's answers slower the bigger the world (seconds per GraphQL page at ten times code.gouv.fr's size)."""

    key: tuple[int, int, int]
    by_namespace: dict[str, list[SimRepo]] = field(default_factory=dict)
    by_path: dict[str, SimRepo] = field(default_factory=dict)
    by_old_path: dict[str, SimRepo] = field(default_factory=dict)
    account_by_old: dict[str, SimAccount] = field(default_factory=dict)
    account_by_id: dict[int, SimAccount] = field(default_factory=dict)


_INDEXES: dict[int, HostIndex] = {}
_INDEX_LOCK = threading.Lock()


def _index_key(world: World, sim: SimHost) -> tuple[int, int, int]:
    return (getattr(world, "revision", 0), len(sim.repos), len(sim.accounts))


def _build(sim: SimHost, key: tuple[int, int, int]) -> HostIndex:
    index = HostIndex(key)
    for repo in sim.repos.values():
        index.by_namespace.setdefault(repo.namespace.lower(), []).append(repo)
        index.by_path[repo.full_name.lower()] = repo
        for old in repo.previous_full_names:
            index.by_old_path[old.lower()] = repo
    for account in sim.accounts.values():
        index.account_by_id[account.id] = account
        for old in account.previous_paths:
            index.account_by_old[old.lower()] = account
    return index


def host_index(world: World, sim: SimHost, *, rebuild: bool = False) -> HostIndex:
    key = _index_key(world, sim)
    with _INDEX_LOCK:
        index = _INDEXES.get(id(sim))
        if rebuild or index is None or index.key != key:
            index = _INDEXES[id(sim)] = _build(sim, key)
        return index


def repos_in(world: World, sim: SimHost, namespace: str) -> list[SimRepo]:
    ns = namespace.lower()
    repos = host_index(world, sim).by_namespace.get(ns, [])
    if any(r.namespace.lower() != ns for r in repos):  # mutated in place since the index was built
        repos = host_index(world, sim, rebuild=True).by_namespace.get(ns, [])
    return repos


def find_repo(world: World, sim: SimHost, full_name: str) -> tuple[SimRepo | None, bool]:
    """(repo, moved): moved is True when `full_name` is an old path of the repo."""
    wanted = full_name.lower()
    index = host_index(world, sim)
    repo = index.by_path.get(wanted)
    if repo is not None and repo.full_name.lower() == wanted and repo.id in sim.repos:
        return repo, False
    old = index.by_old_path.get(wanted)
    if old is not None and wanted in (p.lower() for p in old.previous_full_names) and old.id in sim.repos:
        return old, True
    return None, False


def find_account(world: World, sim: SimHost, login: str) -> tuple[SimAccount | None, bool]:
    account = sim.account(login)
    if account is not None:
        return account, False
    old = host_index(world, sim).account_by_old.get(login.lower())
    if old is not None and sim.account(old.path) is old:
        return old, True
    return None, False


def account_by_id(world: World, sim: SimHost, ident: int) -> SimAccount | None:
    account = host_index(world, sim).account_by_id.get(ident)
    if account is not None and sim.account(account.path) is account:
        return account
    return None


# --------------------------------------------------------------------------------------------------------------
# objects


def owner_json(account: SimAccount | None, login: str, api: str, host: str) -> dict[str, Any]:
    ident = account.id if account else int(hashlib.sha1(login.encode()).hexdigest()[:7], 16)
    org = account is not None and account.kind == "org"
    base = f"{api}/{'orgs' if org else 'users'}/{login}"
    return {
        "login": login, "id": ident, "node_id": node_id("Organization" if org else "User", ident),
        "avatar_url": (account.avatar_url if account and account.avatar_url
                       else f"https://avatars.githubusercontent.com/u/{ident}?v=4"),
        "gravatar_id": "", "url": f"{api}/users/{login}", "html_url": f"{html_base(host)}/{login}",
        "followers_url": f"{api}/users/{login}/followers", "following_url": f"{api}/users/{login}/following{{/other_user}}",
        "gists_url": f"{api}/users/{login}/gists{{/gist_id}}", "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/users/{login}/subscriptions", "organizations_url": f"{api}/users/{login}/orgs",
        "repos_url": f"{base}/repos", "events_url": f"{api}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{api}/users/{login}/received_events",
        "type": "Organization" if org else "User", "user_view_type": "public", "site_admin": False,
    }


def account_json(sim: SimHost, account: SimAccount, api: str, public_repos: int, as_org: bool) -> dict[str, Any]:
    login, host = account.path, sim.host
    data = owner_json(account, login, api, host)
    if as_org:
        data = {k: data[k] for k in ("login", "id", "node_id", "avatar_url")}
        data.update({
            "url": f"{api}/orgs/{login}", "repos_url": f"{api}/orgs/{login}/repos", "events_url": f"{api}/orgs/{login}/events",
            "hooks_url": f"{api}/orgs/{login}/hooks", "issues_url": f"{api}/orgs/{login}/issues",
            "members_url": f"{api}/orgs/{login}/members{{/member}}",
            "public_members_url": f"{api}/orgs/{login}/public_members{{/member}}",
            "description": account.description, "is_verified": account.verified,
            "has_organization_projects": True, "has_repository_projects": True,
        })
    data.update({
        "name": account.name, "company": None, "blog": account.website or "", "location": account.location,
        "email": account.email, "twitter_username": None, "bio": None if as_org else account.description,
        "public_repos": public_repos, "public_gists": 0, "followers": account.followers, "following": 0,
        "html_url": f"{html_base(host)}/{login}", "created_at": iso(account.created_at),
        "updated_at": iso(account.created_at), "type": "Organization" if account.kind == "org" else "User",
    })
    if as_org:
        data["archived_at"] = None
    return data


def repo_json(sim: SimHost, repo: SimRepo, api: str, world: World, *, full: bool = False) -> dict[str, Any]:
    owner = sim.account(repo.namespace)
    base = f"{api}/repos/{repo.full_name}"
    html = f"{html_base(sim.host)}/{repo.full_name}"
    data: dict[str, Any] = {
        "id": repo.id, "node_id": node_id("Repository", repo.id), "name": repo.name, "full_name": repo.full_name,
        "private": repo.visibility != "public", "owner": owner_json(owner, repo.namespace, api, sim.host),
        "html_url": html, "description": repo.description, "fork": repo.fork, "url": base,
    }
    for name, suffix in (
        ("archive_url", "/{archive_format}{/ref}"), ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"), ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"), ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"), ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"), ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"), ("downloads_url", "/downloads"), ("events_url", "/events"),
        ("forks_url", "/forks"), ("git_commits_url", "/git/commits{/sha}"), ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"), ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"), ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"), ("labels_url", "/labels{/name}"), ("languages_url", "/languages"),
        ("merges_url", "/merges"), ("milestones_url", "/milestones{/number}"),
        ("notifications_url", "/notifications{?since,all,participating}"), ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"), ("stargazers_url", "/stargazers"), ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"), ("subscription_url", "/subscription"), ("tags_url", "/tags"),
        ("teams_url", "/teams"), ("trees_url", "/git/trees{/sha}"), ("hooks_url", "/hooks"),
    ):
        data[name] = base + suffix
    data.update({
        "git_url": f"git://{sim.host}/{repo.full_name}.git", "ssh_url": f"git@{sim.host}:{repo.full_name}.git",
        "clone_url": f"{html}.git", "svn_url": html, "mirror_url": None,
        "homepage": repo.homepage, "language": repo.language, "forks_count": repo.forks,
        "stargazers_count": repo.stars, "watchers_count": repo.stars, "size": 0 if repo.empty else 100 + len(repo.files),
        "default_branch": repo.default_branch or "main", "open_issues_count": repo.open_issues,
        "is_template": repo.template, "topics": list(repo.topics), "has_issues": True, "has_projects": True,
        "has_wiki": True, "has_pages": False, "has_downloads": True, "has_discussions": False,
        "archived": repo.archived, "disabled": False, "visibility": repo.visibility,
        "pushed_at": iso(repo.pushed_at), "created_at": iso(repo.created_at), "updated_at": iso(repo.updated_at),
        "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
        "license": github_license_object(repo.license_key, api), "allow_forking": True,
        "web_commit_signoff_required": False, "forks": repo.forks, "open_issues": repo.open_issues,
        "watchers": repo.stars,
    })
    if full:
        data["subscribers_count"] = repo.watchers
        data["network_count"] = repo.forks
        data["temp_clone_token"] = None
        if owner is not None and owner.kind == "org":
            data["organization"] = data["owner"]
        if repo.fork and repo.parent_full_name:
            parent, _ = find_repo(world, sim, repo.parent_full_name)
            if parent is not None:
                data["parent"] = data["source"] = repo_json(sim, parent, api, world)
            else:  # upstream outside the simulated world: a minimal stand-in with the same path
                stub = SimRepo(id=int(hashlib.sha1(repo.parent_full_name.encode()).hexdigest()[:8], 16),
                               namespace=repo.parent_full_name.split("/")[0],
                               name=repo.parent_full_name.split("/", 1)[1])
                data["parent"] = data["source"] = repo_json(sim, stub, api, world)
    return data


def commit_json(sim: SimHost, repo: SimRepo, commit: SimCommit, api: str) -> dict[str, Any]:
    base = f"{api}/repos/{repo.full_name}"
    person = {"name": commit.author_name, "email": commit.author_email, "date": iso(commit.authored_at)}
    return {
        "sha": commit.sha, "node_id": node_id("Commit", commit.sha[:12]), "url": f"{base}/commits/{commit.sha}",
        "html_url": f"{html_base(sim.host)}/{repo.full_name}/commit/{commit.sha}",
        "comments_url": f"{base}/commits/{commit.sha}/comments",
        "commit": {
            "url": f"{base}/git/commits/{commit.sha}", "author": person, "committer": person,
            "message": commit.message, "tree": {"url": f"{base}/git/trees/{commit.sha}", "sha": commit.sha},
            "comment_count": 0,
            "verification": {"verified": False, "reason": "unsigned", "signature": None, "payload": None,
                             "verified_at": None},
        },
        "author": None, "committer": None, "parents": [],
    }


def contributors(sim: SimHost, repo: SimRepo, api: str) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for commit in repo.commits:
        counts[commit.author_email] = counts.get(commit.author_email, 0) + 1
    out = []
    for email, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        login = email.split("@")[0].replace(".", "-")
        item = owner_json(None, login, api, sim.host)
        item["contributions"] = n
        out.append(item)
    return out


def release_json(sim: SimHost, repo: SimRepo, index: int, api: str) -> dict[str, Any]:
    release = repo.releases[index]
    ident = repo.id * 100 + len(repo.releases) - index
    base = f"{api}/repos/{repo.full_name}"
    return {
        "url": f"{base}/releases/{ident}", "html_url": f"{html_base(sim.host)}/{repo.full_name}/releases/tag/{release.tag}",
        "assets_url": f"{base}/releases/{ident}/assets",
        "upload_url": f"{api}/repos/{repo.full_name}/releases/{ident}/assets{{?name,label}}",
        "tarball_url": f"{base}/tarball/{release.tag}", "zipball_url": f"{base}/zipball/{release.tag}",
        "id": ident, "node_id": node_id("Release", ident), "tag_name": release.tag,
        "target_commitish": repo.default_branch or "main", "name": release.name or release.tag, "body": "",
        "draft": False, "prerelease": False, "immutable": False, "created_at": iso(release.published_at),
        "published_at": iso(release.published_at), "author": owner_json(sim.account(repo.namespace), repo.namespace,
                                                                       api, sim.host),
        "assets": [],
    }


def blob_sha(text: str) -> str:
    raw = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def content_json(sim: SimHost, repo: SimRepo, path: str, api: str) -> dict[str, Any]:
    text = repo.files[path]
    raw = text.encode()
    encoded = base64.b64encode(raw).decode()
    wrapped = "\n".join(encoded[i:i + 60] for i in range(0, len(encoded), 60)) + "\n"
    sha = blob_sha(text)
    self_url = f"{api}/repos/{repo.full_name}/contents/{path}?ref={repo.default_branch or 'main'}"
    git_url = f"{api}/repos/{repo.full_name}/git/blobs/{sha}"
    html = f"{html_base(sim.host)}/{repo.full_name}/blob/{repo.default_branch or 'main'}/{path}"
    return {
        "name": path, "path": path, "sha": sha, "size": len(raw), "url": self_url, "html_url": html,
        "git_url": git_url, "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{repo.default_branch}/{path}",
        "type": "file", "content": wrapped, "encoding": "base64",
        "_links": {"self": self_url, "git": git_url, "html": html},
    }


def dir_entry(sim: SimHost, repo: SimRepo, path: str, api: str) -> dict[str, Any]:
    item = content_json(sim, repo, path, api)
    del item["content"], item["encoding"]
    return item


def readme_name(repo: SimRepo) -> str | None:
    for name in sorted(repo.files):
        if name.lower().startswith("readme"):
            return name
    return None


LICENCE_FILES = ("LICENSE", "LICENSE.md", "LICENSE.txt", "LICENCE", "LICENCE.md", "COPYING", "COPYING.md")


def license_file(repo: SimRepo) -> str | None:
    for name in LICENCE_FILES:
        if name in repo.files:
            return name
    return None
