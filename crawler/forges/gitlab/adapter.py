"""GitLab adapter: lists a group (with all its subgroups), a user namespace, or a whole instance, via python-gitlab.

API: GitLab REST v4 (https://docs.gitlab.com/api/rest/). Listing:
* group  — `GET /groups/:id/projects?include_subgroups=true&with_shared=false&order_by=id&sort=asc`, offset
  pagination followed through `Link` rel="next" only: above 10,000 records GitLab drops `x-total`,
  `x-total-pages` and rel="last" (gitlab-foss!23931), so nothing here reads totals. Projects whose namespace is
  outside the group (shared ones) are dropped even if the server ignores `with_shared`.
* user   — `/groups/:id` 404 → `GET /users?username=` → `GET /users/:id/projects`.
* instance (`target.login is None`) — `GET /projects?visibility=public&pagination=keyset&order_by=id&sort=asc`:
  offset pagination is capped (docs: "up to 50,000 projects"), keyset is not.
Per project (skipped when the project's `last_activity_at` is unchanged and signals are < 24 h old; free when the
listing says `empty_repo: true`, as an empty repository has no licence, language, commit, file or release):
`GET /projects/:id?license=true` (no list endpoint carries the licence), `/languages` (biggest share wins),
`/repository/commits?ref_name=<default>` newest first, read until the first commit older than 365 days (one request
gives both the last commit date and the yearly count, where `since=` would need a second request for repositories
idle for a year), `/repository/tree` (root files), `/releases` (x-total when present), and
`/repository/files/publiccode.yml/raw` only when the tree shows one. Empty repositories cost one request when the
listing did not say so (anonymous listings may use the reduced field set).

Speed: the listing is read sequentially (keyset/offset cursors), then the per-project requests of different
projects run on a bounded pool (`detail_workers`, default 8), each worker with its own python-gitlab client and
`requests.Session` (neither is thread-safe). Each client has its own request meter, touched only by its thread;
the crawl's cost is their sum. At 50 ms latency this turns ~5 × 50 ms per project into ~5 × 50 ms / 8.

Rate limits (https://docs.gitlab.com/user/gitlab_com/rate_limits/): 429 + integer `Retry-After`. python-gitlab
would sleep on its own with `time.sleep`; its 429 handling is turned off per call (`obey_rate_limit=False`) and
this module waits through the injected clock instead, reading `Retry-After`/`RateLimit-Reset` from a `requests`
response hook that also counts every request for `CrawlCost`. Transient 5xx and connection errors are retried by
python-gitlab (`retry_transient_errors=True`, `max_retries` kept small: its backoff is 0.1·2ⁿ s).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit

import gitlab
import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError

from crawler.forges.base import Clock, KnownRepo, KnownState, Target
from crawler.forges.common import EMPTY_SIGNALS, PUBLICCODE, parse_time, tree_flags
from crawler.forges.crawl import AccountCrawler, CrawlStopped
from crawler.forges.gitlab.mapping import group_record, inside, main_language, project_to_record, user_record
from crawler.forges.http import SystemClock
from crawler.forges.publiccode import parse_publiccode
from index.records import (
    AccountCrawl,
    AccountKind,
    AccountRecord,
    CrawlCost,
    OutcomeStatus,
    RepositoryRecord,
    RepositorySignals,
)

T = TypeVar("T")
SIGNALS_TTL = dt.timedelta(hours=24)
ACTIVITY_WINDOW = dt.timedelta(days=365)
DETAIL_WORKERS = 8

# plumbing ------------------------------------------------------------------------------------------------------
class _RateLimited(Exception):
    pass


class _ForeignHost(Exception):
    """The forge pointed a next page or a redirect at another origin: following it would hand over the token."""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


class _Meter:
    """A `requests` response hook: counts requests, keeps the last answer's headers (Retry-After...), and stops
    any next page or redirect leading off the API's origin before python-gitlab follows it: requests strips
    `Authorization` on a cross-host redirect but not python-gitlab's PRIVATE-TOKEN, and python-gitlab follows
    `Link: rel="next"` wherever it points."""

    def __init__(self, base_url: str = "") -> None:
        self.requests = 0
        self.headers: Mapping[str, str] = {}
        self.origin = _origin(base_url) if base_url else None

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests += 1
        self.headers = response.headers
        if self.origin is not None:
            onward = [response.links.get("next", {}).get("url")]
            if response.is_redirect:
                onward.append(requests.compat.urljoin(response.url, response.headers.get("location", "")))
            for url in filter(None, onward):
                if _origin(url) != self.origin:
                    raise _ForeignHost(f"refused to follow {_origin(url)[1] or url!r}: the forge pointed a next page "
                                       f"or a redirect off its API host {self.origin[1]}")
        return response


@dataclass
class _Client:
    """One python-gitlab client (not thread-safe), its meter, and the call policy: one per thread of a crawl."""

    gl: gitlab.Gitlab
    meter: _Meter
    adapter: GitLabAdapter

    def json(self, path: str, **query: Any) -> dict[str, Any]:
        """One GET answered by a JSON object (python-gitlab's http_get: a dict, or a Response for raw bodies)."""
        body = self.call(self.gl.http_get, path, **query, **self.kw)
        if not isinstance(body, dict):
            raise GitlabError(f"{path}: expected a JSON object", response_code=None)
        return body

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one request, waiting out 429s with the injected clock (Retry-After, else RateLimit-Reset)."""
        adapter = self.adapter
        for attempt in range(adapter.rate_limit_retries + 1):
            try:
                return fn(*args, **kwargs)
            except GitlabError as exc:
                if exc.response_code != 429:
                    raise
                wait = self._wait(attempt)
                if attempt == adapter.rate_limit_retries or wait > adapter.max_wait_s:
                    raise _RateLimited(f"429 Too Many Requests (retry after {wait:.0f} s)") from exc
                adapter.clock.sleep(wait)
        raise AssertionError("unreachable")

    def _wait(self, attempt: int) -> float:
        headers = self.meter.headers
        try:
            return float(int(headers["Retry-After"]))
        except (KeyError, ValueError):
            pass
        try:
            return max(0.0, int(headers["RateLimit-Reset"]) - self.adapter.clock.now().timestamp())
        except (KeyError, ValueError):
            return min(60.0, 2.0**attempt)

    def each(self, listing: Any) -> Iterator[dict[str, Any]]:
        """Iterate a GitlabList (or a first-page call) with the 429 policy applied to every page fetch."""
        iterator = self.call(listing) if callable(listing) else listing
        while True:
            try:
                item = self.call(next, iterator)
            except StopIteration:
                return
            yield item.attributes if hasattr(item, "attributes") else item

    def pages(self, path: str, **query: Any) -> Any:
        """A GitlabList of plain dicts: python-gitlab's managers would build a RESTObject (and its ~80 managers)
        per item, the largest CPU cost of a big listing."""
        query.setdefault("per_page", self.adapter.per_page)
        return self.gl.http_list(path, query_data=query, iterator=True, **self.kw)

    @property
    def kw(self) -> dict[str, Any]:
        return {"obey_rate_limit": False, "max_retries": self.adapter.max_retries}


class _Clients:
    """The python-gitlab clients of one crawl: one per thread (a client and its Session are not thread-safe).

    Each client's meter is only written by its own thread, so counting needs no lock; `requests` sums them."""

    def __init__(self, adapter: GitLabAdapter, target: Target):
        self.adapter = adapter
        base = target.api_url.rstrip("/")
        self.base = base[: -len("/api/v4")] if base.endswith("/api/v4") else base
        self.token = target.token or None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[_Client] = []

    def get(self) -> _Client:
        client: _Client | None = getattr(self._local, "client", None)
        if client is None:
            meter = _Meter(self.base)
            session = requests.Session()
            session.hooks["response"].append(meter)
            adapter = self.adapter
            gl = gitlab.Gitlab(self.base, private_token=self.token, timeout=adapter.timeout,
                               per_page=adapter.per_page, retry_transient_errors=True, session=session)
            client = self._local.client = _Client(gl, meter, adapter)
            with self._lock:
                self._all.append(client)
        return client

    @property
    def requests(self) -> int:
        with self._lock:
            return sum(c.meter.requests for c in self._all)

    def close(self) -> None:
        with self._lock:
            for client in self._all:
                client.gl.session.close()


class GitLabAdapter:
    """`crawl(target, known)` for GitLab instances (gitlab.com or self-hosted), see the module docstring."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        timeout: float = 30.0,
        per_page: int = 100,
        max_retries: int = 3,
        rate_limit_retries: int = 5,
        max_wait_s: float = 900.0,
        signals_ttl: dt.timedelta = SIGNALS_TTL,
        detail_workers: int = DETAIL_WORKERS,
    ):
        self.clock: Clock = clock or SystemClock()
        self.timeout = timeout
        self.per_page = per_page
        self.max_retries = max_retries
        self.rate_limit_retries = rate_limit_retries
        self.max_wait_s = max_wait_s
        self.signals_ttl = signals_ttl
        self.detail_workers = max(1, detail_workers)

    # entry point -----------------------------------------------------------------------------------------------
    def crawl(self, target: Target, known: KnownState) -> AccountCrawl:
        return GitLabCrawl(self, target, known).result()

    def _details(self, clients: _Clients, records: dict[int, RepositoryRecord], known: KnownState,
                 surely_empty: set[int]) -> None:
        """Fill in every record's details in place, in listing order; projects that need requests run on the pool.

        The first failure (in listing order) is raised after the pool has drained; once one worker fails, the
        others take no new project, so a rate-limited crawl stops within `detail_workers` requests."""
        now = self.clock.now()
        todo: list[int] = []
        for pid, record in records.items():
            previous = known.repos.get(pid)
            if self._fresh(record, previous, now):
                # unchanged: signals None = keep the stored ones; licence and language come from the index
                records[pid] = dataclasses.replace(record, license_spdx=previous.license_spdx,  # type: ignore[union-attr]
                                                   language=previous.language)  # type: ignore[union-attr]
            elif pid in surely_empty:
                records[pid] = dataclasses.replace(record, license_spdx=None, language=None, signals=EMPTY_SIGNALS)
            else:
                todo.append(pid)
        if self.detail_workers == 1 or len(todo) < 2:
            for pid in todo:
                records[pid] = self._detail(clients.get(), records[pid], known.repos.get(pid))
            return
        stop = threading.Event()

        def work(pid: int) -> RepositoryRecord | None:
            if stop.is_set():
                return None
            try:
                return self._detail(clients.get(), records[pid], known.repos.get(pid))
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(min(self.detail_workers, len(todo)), thread_name_prefix="gitlab-detail") as pool:
            futures: list[tuple[int, Future[RepositoryRecord | None]]] = [(pid, pool.submit(work, pid)) for pid in todo]
            failure: BaseException | None = None
            for pid, future in futures:
                try:
                    result = future.result()
                except BaseException as exc:  # noqa: BLE001 - re-raised below, after the pool drained
                    failure = failure or exc
                    continue
                if result is not None:
                    records[pid] = result
        if failure is not None:
            raise failure

    def _fresh(self, record: RepositoryRecord, known: KnownRepo | None, now: dt.datetime) -> bool:
        return (known is not None and known.pushed_at == record.pushed_at and known.signals_at is not None
                and now - known.signals_at < self.signals_ttl)

    # listing ---------------------------------------------------------------------------------------------------
    def _open(self, client: _Client, target: Target) -> tuple[AccountRecord | None, Any, Callable[[dict[str, Any]], bool]]:
        """The account record, its project listing (a GitlabList factory) and the 'belongs here' filter."""
        gl, kw = client.gl, client.kw
        if target.login is None:
            account = AccountRecord(login=target.host, kind=AccountKind.INSTANCE, html_url=f"https://{target.host}")
            listing = lambda: client.pages(  # noqa: E731
                "/projects", pagination="keyset", order_by="id", sort="asc", visibility="public")
            return account, listing, lambda data: True
        try:
            group = client.call(gl.groups.get, target.login, **kw)
        except GitlabError as exc:
            if exc.response_code != 404:
                raise
        else:
            path = str(group.full_path).lower()
            listing = lambda: client.pages(  # noqa: E731
                f"/groups/{group.id}/projects", include_subgroups=True, with_shared=False, order_by="id", sort="asc")
            return group_record(group.attributes), listing, lambda data: inside(data, path)
        users = client.call(gl.users.list, username=target.login, get_all=False, **kw)
        if not users:
            return None, None, lambda data: False
        user = users[0]
        path = str(user.username).lower()
        listing = lambda: client.pages(f"/users/{user.id}/projects", order_by="id", sort="asc")  # noqa: E731
        return user_record(user.attributes), listing, lambda data: inside(data, path)

    # per-project details ---------------------------------------------------------------------------------------
    def _detail(self, client: _Client, record: RepositoryRecord, known: KnownRepo | None) -> RepositoryRecord:
        """Licence, language and signals of one project: 5 requests (+1 when a publiccode.yml shows)."""
        now = self.clock.now()
        try:
            full = client.json(f"/projects/{record.forge_id}", query_data={"license": True})
        except GitlabError as exc:
            if exc.response_code in (403, 404):  # gone or hidden since the listing: keep what the list said
                if known is not None:
                    return dataclasses.replace(record, license_spdx=known.license_spdx, language=known.language)
                return record
            raise
        if full.get("empty_repo") or record.empty:
            return project_to_record(full, signals=EMPTY_SIGNALS)
        language = main_language(client.json(f"/projects/{record.forge_id}/languages"))
        signals = self._signals(client, record.forge_id, full.get("default_branch"), now)
        return project_to_record(full, language=language, signals=signals)

    def _signals(self, client: _Client, pid: int, branch: str | None, now: dt.datetime) -> RepositorySignals:
        kw = client.kw
        base = f"/projects/{pid}"
        since = now - ACTIVITY_WINDOW
        commits, emails, last = 0, set(), None
        ref = {"ref_name": branch} if branch else {}
        for commit in client.each(lambda: client.pages(f"{base}/repository/commits", **ref)):
            when = parse_time(commit.get("committed_date")) or parse_time(commit.get("created_at"))
            if when is None:
                continue
            last = last or when
            if when < since:
                break
            commits += 1
            if commit.get("author_email"):
                emails.add(str(commit["author_email"]).lower())
        names = [e.get("name", "") for e in client.each(lambda: client.pages(f"{base}/repository/tree"))]
        flags = tree_flags(names)
        releases = client.call(client.pages, f"{base}/releases")
        latest = None
        first = next(client.each(releases), None)
        if first is not None:
            latest = parse_time(first.get("released_at")) or parse_time(first.get("created_at"))
        count = releases.total if releases.total is not None else (
            (1 if first else 0) + sum(1 for _ in client.each(releases)))
        publiccode = None
        if flags["has_publiccode"]:
            name = next(n for n in names if n.lower() in PUBLICCODE)
            try:
                project = client.gl.projects.get(pid, lazy=True)
                raw = client.call(project.files.raw, name, ref=branch or "HEAD", **kw)
            except GitlabError as exc:
                if exc.response_code != 404:
                    raise
                raw = None
            publiccode = parse_publiccode(raw)
        return RepositorySignals(
            commits_365d=commits, contributors_365d=len(emails), last_commit_at=last,
            releases_count=count, latest_release_at=latest, publiccode=publiccode, **flags,
        )


# helpers -------------------------------------------------------------------------------------------------------
def _classify(exc: BaseException, token: str | None) -> tuple[OutcomeStatus, str]:
    """Map a failure to an outcome; the message never carries the token."""
    if isinstance(exc, _RateLimited):
        status = OutcomeStatus.RATE_LIMITED
    elif isinstance(exc, GitlabAuthenticationError):
        status = OutcomeStatus.AUTH
    elif isinstance(exc, GitlabError) and exc.response_code in (401, 403):
        status = OutcomeStatus.AUTH
    elif isinstance(exc, GitlabError) and exc.response_code == 429:
        status = OutcomeStatus.RATE_LIMITED
    elif isinstance(exc, GitlabError) and exc.response_code == 404:
        status = OutcomeStatus.NOT_FOUND
    elif isinstance(exc, requests.ConnectionError | requests.Timeout):
        status = OutcomeStatus.UNREACHABLE
    else:
        status = OutcomeStatus.FAILED
    if isinstance(exc, GitlabError):
        message = f"{type(exc).__name__}: {exc.response_code} {exc.error_message!s}"[:500]
    else:
        message = f"{type(exc).__name__}: {exc}"[:500]
    if token:
        message = message.replace(token, "***")
    return status, message


class GitLabCrawl(AccountCrawler):
    """One group, user or whole instance: the listing, then the details of what changed (see the adapter)."""

    def __init__(self, adapter: GitLabAdapter, target: Target, known: KnownState):
        super().__init__(target, known, adapter.clock)
        self.adapter = adapter
        self.clients = _Clients(adapter, target)

    def run(self) -> None:
        client = self.clients.get()
        self.account, listing, belongs = self.adapter._open(client, self.target)
        if self.account is None:
            raise CrawlStopped(OutcomeStatus.NOT_FOUND, f"no group or user {self.target.login!r} on {self.target.host}")
        surely_empty: set[int] = set()
        for data in client.each(listing):
            if belongs(data) and int(data["id"]) not in self.records:
                self.records[int(data["id"])] = project_to_record(data)
                if data.get("empty_repo") is True:
                    surely_empty.add(int(data["id"]))
        self.complete = True
        self.adapter._details(self.clients, self.records, self.known, surely_empty)

    def close(self) -> None:
        self.clients.close()

    def cost(self) -> CrawlCost:
        return CrawlCost(requests=self.clients.requests, rest_points=self.clients.requests)

    def outcome(self, exc: Exception) -> tuple[OutcomeStatus, str]:
        return _classify(exc, self.target.token)

    def finished_account(self, status: OutcomeStatus) -> AccountRecord | None:
        return replace(self.account, repositories_count=len(self.records)) if self.account is not None else None
