"""Record types that cross the crawler → index boundary.

Forge adapters turn API answers into these frozen dataclasses; the index stores them. No SDK object or HTTP
response ever reaches `index/`. All datetimes are UTC-aware; licences are SPDX ids (`Other` when the forge found
a licence it could not identify, None when there is none).

A field set to None means "not known from this crawl": the index keeps what it had rather than blanking it, which
is how a partial or skipped fetch never erases data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class AccountKind(StrEnum):
    ORGANIZATION = "organization"  # GitHub organisation
    GROUP = "group"  # GitLab group or subgroup
    USER = "user"  # personal account (GitHub user, GitLab user namespace)
    INSTANCE = "instance"  # a whole forge dedicated to the public sector, listed without owners


class OutcomeStatus(StrEnum):
    """How the crawl of one account ended; the status page explains each one to the account's owners."""

    OK = "ok"
    FAILED = "failed"  # transient or unknown error after retries
    NOT_FOUND = "not_found"  # the forge answers 404 for this account
    UNREACHABLE = "unreachable"  # DNS, connection refused, TLS, timeouts
    AUTH = "auth"  # token refused (401/403 not rate-limit)
    RATE_LIMITED = "rate_limited"  # budget exhausted before the account was complete
    UNSUPPORTED = "unsupported"  # forge kind the crawler cannot read
    INTERRUPTED = "interrupted"  # stopped by a signal before it finished
    SKIPPED = "skipped"  # ignored_since passed, or filtered out by --owner


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class PubliccodeInfo:
    """What a root publiccode.yml says, or why it could not be read."""

    valid: bool
    error: str | None = None
    name: str | None = None
    description: str | None = None
    license: str | None = None  # legal.license, an SPDX expression
    maintenance_type: str | None = None
    funded_by: tuple[str, ...] = ()
    # what breaks the standard, and what it deprecates: (key path, message), e.g. ("legal.license", "...")
    problems: tuple[tuple[str, str], ...] = ()
    license_spdx: str | None = None  # legal.license when it is one licence of the SPDX list, as its current id
    warnings: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RepositorySignals:
    """Activity and quality signals that cost extra requests; refreshed at most daily, or when the repo changed."""

    commits_365d: int | None = None
    contributors_365d: int | None = None
    last_commit_at: dt.datetime | None = None
    releases_count: int | None = None
    latest_release_at: dt.datetime | None = None
    has_readme: bool | None = None
    has_license: bool | None = None
    has_contributing: bool | None = None
    has_changelog: bool | None = None
    has_publiccode: bool | None = None
    publiccode: PubliccodeInfo | None = None


# The details of a repository that cost requests of their own, and the columns each one fills.
DETAILS: dict[str, tuple[str, ...]] = {
    "licence": ("license_spdx", "licence_source"),
    "language": ("language",),
    "activity": ("commits_365d", "contributors_365d", "last_commit_at"),
    "releases": ("releases_count", "latest_release_at"),
    "files": ("has_readme", "has_license", "has_contributing", "has_changelog", "has_publiccode"),
    "publiccode": ("publiccode",),
}


@dataclass(frozen=True, slots=True)
class RepositoryRecord:
    """One repository as the forge describes it. Keyed by (forge host, forge_id): a rename keeps the id."""

    forge_id: int
    full_name: str  # path with namespace: "etalab/codegouvfr", "dinum/sub/group/project"
    name: str
    owner_path: str  # namespace that owns it on the forge ("dinum/sub/group"), may differ from the account crawled
    html_url: str
    visibility: Visibility = Visibility.PUBLIC
    description: str | None = None
    homepage: str | None = None
    default_branch: str | None = None
    language: str | None = None
    topics: tuple[str, ...] = ()
    stars: int = 0
    forks: int = 0
    watchers: int | None = None  # GitHub subscribers; GitLab has none
    open_issues: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    pushed_at: dt.datetime | None = None  # None for an empty repository
    archived: bool = False
    fork: bool = False
    parent_url: str | None = None
    template: bool = False
    empty: bool = False
    license_spdx: str | None = None
    signals: RepositorySignals | None = None  # None: not fetched this time (unchanged), keep the stored values
    # details (DETAILS keys) not re-read this time because nothing changed: the stored values stay
    kept: frozenset[str] = frozenset()
    # details that failed after every retry: the stored values stay, the repository is flagged stale and the
    # next crawl fetches them first; on a first crawl they are unknown (None), never a guess
    stale: frozenset[str] = frozenset()
    marks: dict[str, str] | None = None  # what the details were read from (None: keep the stored marks)


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """One account (organisation, group, user, or a whole instance) as the forge describes it."""

    login: str  # path on the forge: "etalab", "dinum/sub"; the host for an INSTANCE
    kind: AccountKind
    html_url: str
    forge_id: int | None = None
    name: str | None = None
    description: str | None = None
    avatar_url: str | None = None
    website: str | None = None
    email: str | None = None
    location: str | None = None
    verified: bool | None = None
    created_at: dt.datetime | None = None
    followers: int | None = None
    repositories_count: int | None = None


@dataclass(frozen=True, slots=True)
class CrawlCost:
    """What an account cost on its forge, as counted from the answers' headers."""

    requests: int = 0
    not_modified: int = 0  # 304 answers (free on GitHub when authenticated)
    rest_points: int = 0
    graphql_points: int = 0

    def __add__(self, other: CrawlCost) -> CrawlCost:
        return CrawlCost(
            self.requests + other.requests,
            self.not_modified + other.not_modified,
            self.rest_points + other.rest_points,
            self.graphql_points + other.graphql_points,
        )


@dataclass(frozen=True, slots=True)
class HttpValidator:
    """An HTTP validator stored for a conditional request next time (keyed by forge and request key)."""

    key: str  # canonical request ("GET /orgs/etalab/repos?per_page=100&page=1", "graphql:etalab:1")
    etag: str | None = None
    last_modified: str | None = None
    memo: str | None = None  # small JSON the crawler keeps with it (e.g. the ids a 304 page still holds)


@dataclass(frozen=True, slots=True)
class AccountCrawl:
    """The result of one unit of work: one account listed on its forge.

    `complete` is True only when the listing went to its last page without error: only then may the index mark
    repositories missing from `repositories` as gone. `unchanged_ids` lists repositories the crawler knows are
    still there without having re-read them (a 304 on their listing page): they count as seen.
    """

    forge_host: str
    login: str
    status: OutcomeStatus
    account: AccountRecord | None = None
    repositories: tuple[RepositoryRecord, ...] = ()
    unchanged_ids: tuple[int, ...] = ()
    complete: bool = False
    error: str | None = None
    cost: CrawlCost = field(default_factory=CrawlCost)
    validators: tuple[HttpValidator, ...] = ()
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class AccountSpec:
    """A configured account, as the index needs to know it (the crawler maps its config onto these)."""

    login: str  # the host itself for a whole-forge entry
    kind: AccountKind | None = None  # INSTANCE for a whole forge; otherwise learnt from the forge
    name: str | None = None
    pso_id: str | None = None
    ministry: str | None = None
    organisation: str | None = None  # the body's name in the official directory
    ignored_since: dt.date | None = None
    floss_policy: str | None = None
    ospo_url: str | None = None


@dataclass(frozen=True, slots=True)
class ForgeSpec:
    """A configured forge and its accounts."""

    host: str
    kind: str
    api_url: str | None = None
    pso_id: str | None = None
    ministry: str | None = None
    ignored_since: dt.date | None = None
    whole_forge: bool = False
    accounts: tuple[AccountSpec, ...] = ()
