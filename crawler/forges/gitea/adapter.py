"""Gitea, Forgejo and Gogs adapter: one organisation, one user, or a whole instance, through their API v1.

The three share `/api/v1` and the repository object, but Gogs (kind "gogs") is much poorer; what each allows
(from the servers' source: go-gitea/gitea `routers/api/v1`, gogs/gogs `internal/route/api/v1`):

Listing
* Gitea/Forgejo: `/orgs/{o}/repos` (404 → `/users/{u}/repos`), whole instance `/repos/search?sort=id&order=asc
  &private=false` (`{"ok": true, "data": [...]}`), pages of `limit=50` (the default `MAX_RESPONSE_ITEMS`) followed
  through `Link` rel="next", which keeps the query.
* Gogs with a token: `/orgs/{o}/repos` or `/users/{u}/repos`, one unpaginated array. Without a token those answer
  401, so the account is listed with `/repos/search?uid={id}`; the whole instance with `/repos/search` alone.
  Gogs filters search on `path.Base(q)` with an unescaped `LIKE '%q%'`: an empty `q` turns into "." and silently
  drops every repository without a dot in its name or description (gogs/docs-api#34), so `q=_` (LIKE's
  one-character wildcard: every name) is sent. Its `Link` drops the query string and it sends no
  `X-Total-Count`, so pages are built here (`page=N`) and read until a short page.
Per repository (skipped when `updated_at` is unchanged and signals are < 24 h old, or free when the listing says
`empty`): `/contents?ref=` (root files), `/raw/{branch}/publiccode.yml` when present, `/commits?sha=` newest
first, read until the first commit older than 365 days (one request gives the last commit date and, for most
repositories, the yearly count; `since=` would need a second request for idle ones and is missing from older
Gitea and from Gogs), and releases: Gitea's `release_counter` gives the count from the listing, `/releases?limit=1`
the latest date; Gogs lists them all in one answer. Licence: `licenses` (SPDX ids, Gitea with licence detection,
go-gitea/gitea#24872; absent elsewhere → unknown). Language: `language`, else `/languages` (biggest share) when
the server has that endpoint. Gogs without a token refuses contents, raw files and commits (401): only the
release signals are read, the rest stays unknown. Gogs `/commits` cannot page (`pageSize` only): the yearly
count is capped at `GOGS_COMMITS` and then a floor.
Accounts: Gogs answers `/orgs/{name}` for users too, so a Gogs user is recorded as an organisation.
Mirrors: a pull mirror is a copy of another forge's repository, recorded as a fork of its `original_url`.
Pushes: the API has no `pushed_at`; `updated_at` (bumped by every push) stands in for it.

Status mapping: 404 → NOT_FOUND; connection errors → UNREACHABLE; 401/403 → AUTH; spent rate limit (429 past the
allowed wait) → RATE_LIMITED; anything else → FAILED, with tokens scrubbed from every message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import httpx

from crawler.forges.base import Clock, KnownRepo, KnownState, RateLimitExhausted, Target
from crawler.forges.common import EMPTY_SIGNALS, PUBLICCODE, parse_time, tree_flags
from crawler.forges.crawl import CrawlStopped, HttpAccountCrawler
from crawler.forges.gitea.mapping import account_record, main_language, repo_to_record
from crawler.forges.http import (
    ClientCache,
    ForgeHttp,
    HttpStatusError,
    SystemClock,
    TokenPool,
    reserve_from_env,
)
from crawler.forges.publiccode import parse_publiccode
from index.records import (
    AccountCrawl,
    AccountKind,
    AccountRecord,
    OutcomeStatus,
    RepositoryRecord,
    RepositorySignals,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 50  # Gitea's and Gogs' default MAX_RESPONSE_ITEMS: asking for more returns 50 anyway
SIGNALS_TTL = dt.timedelta(hours=24)
ACTIVITY_WINDOW = dt.timedelta(days=365)
GOGS_COMMITS = 300  # commits asked of Gogs in one request (it cannot page)
MAX_COMMIT_PAGES = 20  # Gitea: 1,000 commits in a year are read at most; past that the count is a floor

# pure mapping --------------------------------------------------------------------------------------------------
class _Missing(Exception):
    """A per-repository request answered 404 (deleted or renamed since the listing): signals left unknown."""


class GiteaAdapter:
    """`crawl(target, known)` for Gitea, Forgejo and Gogs instances. Not thread-safe: one per worker."""

    def __init__(self, clock: Clock | None = None, *, http_factory: Callable[[Target], ForgeHttp] | None = None,
                 page_size: int = PAGE_SIZE, timeout: float = 20.0, max_wait: float = 120.0, max_retries: int = 4,
                 backoff: float = 0.5, signals_ttl: dt.timedelta = SIGNALS_TTL):
        self.clock: Clock = clock or SystemClock()
        self.page_size = max(1, min(PAGE_SIZE, page_size))
        self.timeout = timeout
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.backoff = backoff
        self.signals_ttl = signals_ttl
        self._http_factory = http_factory or self._default_http
        self._clients = ClientCache()

    def _default_http(self, target: Target) -> ForgeHttp:
        return ForgeHttp(target.api_url, TokenPool.parse(target.token, reserve_from_env()), clock=self.clock, timeout=self.timeout,
                         max_wait=self.max_wait, max_retries=self.max_retries, backoff=self.backoff,
                         client=self._clients.get(target.api_url, self.timeout))

    def close(self) -> None:
        """Close the connections kept open between accounts (the runner calls it when the run ends)."""
        self._clients.close()

    def crawl(self, target: Target, known: KnownState) -> AccountCrawl:
        return GiteaCrawl(self, target, known).result()


class GiteaCrawl(HttpAccountCrawler):
    """One account, or a whole instance, of Gitea, Forgejo or Gogs."""

    def __init__(self, adapter: GiteaAdapter, target: Target, known: KnownState):
        super().__init__(target, known, adapter.clock, adapter._http_factory(target))
        self.adapter = adapter
        self.gogs = target.kind == "gogs"
        self.now = self.started_at
        self.items: dict[int, Mapping[str, Any]] = {}
        api = target.api_url.rstrip("/")
        self.web_root = api[: -len("/api/v1")] if api.endswith("/api/v1") else api

    # requests ----------------------------------------------------------------------------------------------------
    def get(self, path_or_url: str, *, params: dict[str, Any] | None = None, raw: bool = False) -> httpx.Response:
        response = self.http.request("GET", path_or_url, params=params, expect_json=not raw)
        self._check(response)
        return response

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        message = ""
        try:
            body = response.json()
            message = str(body.get("message", "")) if isinstance(body, dict) else ""
        except ValueError:
            message = response.text[:200]
        where = response.request.url.path
        if status == 404:
            raise _Missing(f"{self.target.host}: {where} not found")
        if status in (401, 403):
            who = "token refused" if self.http.authenticated else "this API needs a token"
            raise CrawlStopped(OutcomeStatus.AUTH, f"{self.target.host}: {who} (HTTP {status} on {where}) {message}".strip())
        if status == 429:
            raise RateLimitExhausted(f"{self.target.host}: HTTP 429 on {where}", self.http.reset_at)
        attempts = f" after {self.http.max_retries + 1} attempts" if status >= 500 else ""
        raise HttpStatusError(status, f"HTTP {status} from {where}{attempts}: {message}"[:300])

    # the crawl ---------------------------------------------------------------------------------------------------
    def outcome(self, exc: Exception) -> tuple[OutcomeStatus, str]:
        if isinstance(exc, _Missing):
            return OutcomeStatus.NOT_FOUND, str(exc)
        return super().outcome(exc)

    def finished_account(self, status: OutcomeStatus) -> AccountRecord | None:
        if self.account is not None and status == OutcomeStatus.OK:
            return replace(self.account, repositories_count=len(self.records))
        return self.account

    def run(self) -> None:
        listing = self._open()
        for item in listing:
            if isinstance(item, Mapping) and "id" in item:
                record = repo_to_record(item)
                if self._belongs(record):
                    self.records[record.forge_id] = record
                    self.items[record.forge_id] = item
        self.complete = True
        for forge_id, record in list(self.records.items()):
            self.records[forge_id] = self._details(record, self.items[forge_id], self.known.repos.get(forge_id))

    def _belongs(self, record: RepositoryRecord) -> bool:
        login = self.target.login
        return login is None or record.owner_path.lower() == login.lower()

    def _open(self) -> Iterator[Any]:
        """Read the account, then return the listing's item iterator."""
        login = self.target.login
        if login is None:
            self.account = AccountRecord(login=self.target.host, kind=AccountKind.INSTANCE,
                                         html_url=f"https://{self.target.host}")
            if self.gogs:
                return self._short_pages("repos/search", {"q": "_"})
            return self._linked("repos/search", {"sort": "id", "order": "asc", "private": "false"})
        name = quote(login, safe="")
        try:
            data = self.get(f"orgs/{name}").json()
            kind, base = AccountKind.ORGANIZATION, f"orgs/{name}"
        except _Missing:
            try:
                data = self.get(f"users/{name}").json()
            except _Missing:
                raise CrawlStopped(OutcomeStatus.NOT_FOUND, f"{self.target.host}/{login}: not found") from None
            kind, base = AccountKind.USER, f"users/{name}"
        self.account = account_record(data, kind, self.web_root)
        if not self.gogs:
            return self._linked(f"{base}/repos", {})
        if self.http.authenticated:
            return iter(self.get(f"{base}/repos").json() or ())
        uid = data.get("id")
        if not isinstance(uid, int):
            raise CrawlStopped(OutcomeStatus.FAILED, f"{self.target.host}/{login}: the forge gave no account id")
        return self._short_pages("repos/search", {"q": "_", "uid": uid})

    def _linked(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        """Gitea/Forgejo pagination: follow Link rel="next" (same host only)."""
        url: str | None = self.http.url(path)
        query: dict[str, Any] | None = {**params, "limit": self.adapter.page_size, "page": 1}
        while url:
            response = self.get(url, params=query)
            yield from _items(response.json())
            next_url = response.links.get("next", {}).get("url")
            url, query = (self.http.follow(next_url), None) if next_url else (None, None)

    def _short_pages(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        """Gogs pagination: its Link drops the query, so pages are counted here until a short or empty one."""
        page = 1
        while True:
            items = _items(self.get(path, params={**params, "limit": self.adapter.page_size, "page": page}).json())
            yield from items
            if len(items) < self.adapter.page_size:
                return
            page += 1

    # details -----------------------------------------------------------------------------------------------------
    def _fresh(self, record: RepositoryRecord, known: KnownRepo | None) -> bool:
        return (known is not None and known.updated_at == record.updated_at and known.signals_at is not None
                and self.now - known.signals_at < self.adapter.signals_ttl)

    def _details(self, record: RepositoryRecord, item: Mapping[str, Any], known: KnownRepo | None) -> RepositoryRecord:
        if record.empty:
            return record  # the listing said so: no licence, language, file, commit or release to ask for
        if self._fresh(record, known):
            assert known is not None
            return replace(record, signals=None, license_spdx=record.license_spdx or known.license_spdx,
                           language=record.language or known.language)
        language = record.language
        try:
            if language is None and "language" not in item and "languages_url" in item:
                language = main_language(self.get(f"{_repo_path(record)}/languages").json() or {})
            signals = self._signals(record, item)
        except _Missing:
            log.info("%s/%s vanished during the crawl: signals left unknown", self.target.host, record.full_name)
            return replace(record, language=language, signals=None)
        return replace(record, language=language, signals=signals, empty=signals is EMPTY_SIGNALS or record.empty)

    def _signals(self, record: RepositoryRecord, item: Mapping[str, Any]) -> RepositorySignals:
        releases, latest = self._releases(record, item)
        if self.gogs and not self.http.authenticated:  # contents, raw files and commits need a token on Gogs
            return RepositorySignals(releases_count=releases, latest_release_at=latest)
        commits = self._commits(record)
        if commits is None:  # 409: the listing did not know the repository is empty
            return EMPTY_SIGNALS
        count, contributors, last = commits
        branch = record.default_branch or ""
        params = {"ref": branch} if branch else None
        names = [str(e.get("name", "")) for e in self.get(f"{_repo_path(record)}/contents", params=params).json()
                 if isinstance(e, Mapping)]
        flags = tree_flags(names)
        publiccode = None
        if flags["has_publiccode"]:
            name = next(n for n in names if n.lower() in PUBLICCODE)
            ref = quote(branch, safe="") + "/" if branch else ""
            try:
                publiccode = parse_publiccode(self.get(f"{_repo_path(record)}/raw/{ref}{quote(name)}",
                                                       raw=True).content)
            except _Missing:
                publiccode = parse_publiccode(None)
        return RepositorySignals(commits_365d=count, contributors_365d=contributors, last_commit_at=last,
                                 releases_count=releases, latest_release_at=latest, publiccode=publiccode, **flags)

    def _commits(self, record: RepositoryRecord) -> tuple[int, int, dt.datetime | None] | None:
        """(commits in 365 days, distinct author e-mails among them, last commit date); None when empty (409)."""
        since = self.now - ACTIVITY_WINDOW
        count, last = 0, None
        emails: set[str] = set()
        path = f"{_repo_path(record)}/commits"
        if self.gogs:
            pages: Iterator[list[Any]] = iter([_items(self.get(path, params={"pageSize": GOGS_COMMITS}).json())])
        else:
            pages = self._commit_pages(path, record.default_branch)
        try:
            for page in pages:
                for commit in page:
                    author = (commit.get("commit") or {}).get("author") or {}
                    when = parse_time(author.get("date"))
                    if when is None:
                        continue
                    last = last or when
                    if when < since:
                        return count, len(emails), last
                    count += 1
                    if author.get("email"):
                        emails.add(str(author["email"]).lower())
        except HttpStatusError as exc:
            if exc.status == 409:
                return None
            raise
        return count, len(emails), last

    def _commit_pages(self, path: str, branch: str | None) -> Iterator[list[Any]]:
        params: dict[str, Any] = {"limit": self.adapter.page_size, "stat": "false", "verification": "false",
                                  "files": "false"}
        if branch:
            params["sha"] = branch
        for page in range(1, MAX_COMMIT_PAGES + 1):
            response = self.get(path, params={**params, "page": page})
            items = _items(response.json())
            yield items
            if len(items) < self.adapter.page_size or response.headers.get("x-hasmore") == "false":
                return

    def _releases(self, record: RepositoryRecord, item: Mapping[str, Any]) -> tuple[int | None, dt.datetime | None]:
        counter = item.get("release_counter")
        path = f"{_repo_path(record)}/releases"
        if isinstance(counter, int):
            if counter == 0:
                return 0, None
            first = _items(self.get(path, params={"limit": 1, "page": 1}).json())
            return counter, _release_date(first[0]) if first else None
        response = self.get(path, params=None if self.gogs else {"limit": self.adapter.page_size, "page": 1})
        releases = _items(response.json())
        total = response.headers.get("x-total-count")
        count = int(total) if total and total.isdigit() else len(releases)
        dates = [d for d in (_release_date(r) for r in releases) if d is not None]
        return count, max(dates) if dates else None


def _items(body: Any) -> list[Any]:
    """A list answer, or search's `{"ok": true, "data": [...]}` wrapper."""
    if isinstance(body, Mapping):
        if body.get("ok") is False:
            raise HttpStatusError(500, f"search failed: {str(body.get('error', ''))[:200]}")
        body = body.get("data")
    return list(body) if isinstance(body, list) else []


def _release_date(release: Any) -> dt.datetime | None:
    if not isinstance(release, Mapping) or release.get("draft"):
        return None
    return parse_time(release.get("published_at")) or parse_time(release.get("created_at"))


def _repo_path(record: RepositoryRecord) -> str:
    owner, _, name = record.full_name.partition("/")
    return f"repos/{quote(owner, safe='')}/{quote(name, safe='')}"
