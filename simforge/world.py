"""The simulated forges' state: hosts, accounts and repositories, shared by the GitHub and GitLab front ends.

A `World` is plain data. Seeds build it (small fixtures in tests, the real 2021 code.gouv.fr export for the demo
and the benchmark); the HTTP front ends (`github.py`, `gitlab.py`) render it in each forge's real API format;
tests and the benchmark mutate it between crawls (push, star, rename, delete) through the helpers below.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field


@dataclass
class SimCommit:
    sha: str
    authored_at: dt.datetime
    author_name: str
    author_email: str
    message: str = "Update"


@dataclass
class SimRelease:
    tag: str
    published_at: dt.datetime
    name: str | None = None


@dataclass
class SimRepo:
    """A repository. `namespace` is the full path of its owner ("etalab", "group/sub/subsub")."""

    id: int
    namespace: str
    name: str
    description: str | None = None
    homepage: str | None = None
    language: str | None = None
    topics: list[str] = field(default_factory=list)
    stars: int = 0
    forks: int = 0
    watchers: int = 0  # GitHub subscribers_count
    open_issues: int = 0
    created_at: dt.datetime = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    updated_at: dt.datetime = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    pushed_at: dt.datetime | None = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # None when empty
    archived: bool = False
    fork: bool = False
    parent_full_name: str | None = None  # for forks: "owner/repo" on the same host
    template: bool = False
    visibility: str = "public"  # public | internal | private
    default_branch: str | None = "main"  # None when empty on GitLab
    license_key: str | None = None  # GitHub/GitLab licence key: "mit", "agpl-3.0", "other"; None = no licence
    files: dict[str, str] = field(default_factory=dict)  # root files: name -> text (README.md, publiccode.yml...)
    commits: list[SimCommit] = field(default_factory=list)  # newest first, on the default branch
    releases: list[SimRelease] = field(default_factory=list)  # newest first
    previous_full_names: list[str] = field(default_factory=list)  # old paths that redirect (rename/transfer)

    @property
    def full_name(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def empty(self) -> bool:
        return not self.commits and self.pushed_at is None

    def version(self) -> str:
        """A digest of everything an API answer about this repository shows: drives ETags."""
        parts = (
            self.namespace, self.name, self.description, self.homepage, self.language, tuple(self.topics),
            self.stars, self.forks, self.watchers, self.open_issues, self.updated_at, self.pushed_at,
            self.archived, self.fork, self.template, self.visibility, self.default_branch, self.license_key,
            tuple(sorted(self.files.items())), len(self.commits), len(self.releases),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()


@dataclass
class SimAccount:
    """An organisation or user (GitHub), a group or user namespace (GitLab). `path` is the full path."""

    id: int
    path: str
    kind: str  # "org" | "user" | "group"
    name: str | None = None
    description: str | None = None
    website: str | None = None
    email: str | None = None
    location: str | None = None
    avatar_url: str | None = None
    verified: bool = False
    created_at: dt.datetime = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    followers: int = 0
    visibility: str = "public"
    shared_project_ids: list[int] = field(default_factory=list)  # GitLab: projects shared into this group
    previous_paths: list[str] = field(default_factory=list)  # GitHub: old logins that answer 301

    @property
    def parent_path(self) -> str | None:
        return self.path.rsplit("/", 1)[0] if "/" in self.path else None


@dataclass
class SimHost:
    """One forge host as it would be on the internet (e.g. "github.com", "gitlab.adullact.net")."""

    host: str
    kind: str  # "github" | "gitlab" | "gitea"
    accounts: dict[str, SimAccount] = field(default_factory=dict)  # key: path.lower()
    # how a GitLab names licences in `license.key`: "licensee" (before Gitaly's detection: "gpl-3.0", "other") or
    # "gitaly" (recent GitLab: the SPDX id in lower case, "gpl-3.0-or-later", "etalab-2.0")
    licence_keys: str = "licensee"
    repos: dict[int, SimRepo] = field(default_factory=dict)

    def account(self, path: str) -> SimAccount | None:
        return self.accounts.get(path.lower())

    def add_account(self, account: SimAccount) -> SimAccount:
        self.accounts[account.path.lower()] = account
        return account

    def add_repo(self, repo: SimRepo) -> SimRepo:
        self.repos[repo.id] = repo
        return repo

    def repo_by_path(self, full_name: str) -> SimRepo | None:
        wanted = full_name.lower()
        for repo in self.repos.values():
            if repo.full_name.lower() == wanted:
                return repo
        return None

    def repos_of(self, namespace: str, *, include_subgroups: bool = False) -> list[SimRepo]:
        ns = namespace.lower()
        return [
            r for r in self.repos.values()
            if r.namespace.lower() == ns or (include_subgroups and r.namespace.lower().startswith(ns + "/"))
        ]


@dataclass
class World:
    hosts: dict[str, SimHost] = field(default_factory=dict)
    next_id: int = 1_000_000
    revision: int = 0  # bumped by every mutation below: the front ends rebuild their lookup indexes on change

    def host(self, name: str) -> SimHost:
        return self.hosts[name]

    def add_host(self, host: str, kind: str) -> SimHost:
        return self.hosts.setdefault(host, SimHost(host, kind))

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    # mutations (tests and the benchmark change the world between crawls) --------------------------------------
    def touch(self) -> None:
        self.revision += 1

    def push(self, host: str, repo_id: int, when: dt.datetime, author: str = "dev@example.org") -> SimRepo:
        """A new commit on the default branch."""
        repo = self.hosts[host].repos[repo_id]
        sha = hashlib.sha1(f"{repo_id}:{when.isoformat()}:{len(repo.commits)}".encode()).hexdigest()
        repo.commits.insert(0, SimCommit(sha, when, author.split("@")[0], author))
        repo.pushed_at = repo.updated_at = when
        repo.default_branch = repo.default_branch or "main"
        self.touch()
        return repo

    def star(self, host: str, repo_id: int, count: int = 1) -> SimRepo:
        repo = self.hosts[host].repos[repo_id]
        repo.stars += count
        self.touch()
        return repo

    def rename(self, host: str, repo_id: int, new_name: str, new_namespace: str | None = None) -> SimRepo:
        """Rename or transfer: the id stays, the old path answers with a redirect."""
        repo = self.hosts[host].repos[repo_id]
        repo.previous_full_names.append(repo.full_name)
        repo.name = new_name
        repo.namespace = new_namespace or repo.namespace
        self.touch()
        return repo

    def delete(self, host: str, repo_id: int) -> SimRepo:
        repo = self.hosts[host].repos.pop(repo_id)
        self.touch()
        return repo
