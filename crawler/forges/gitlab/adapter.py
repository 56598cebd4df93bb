"""GitLab adapter: lists a group (with all its subgroups), a user namespace, or a whole instance.

API: GitLab GraphQL for the listing where the instance has it, REST v4 for the account and for what GraphQL lacks
(https://docs.gitlab.com/api/graphql/, https://docs.gitlab.com/api/rest/). Every request goes through
`crawler.forges.http.ForgeHttp`, the policy all forges share: retries with backoff for 5xx, resets, timeouts,
truncated and non-JSON bodies; 429 and `RateLimit-*` waits on the injected clock; the token (`PRIVATE-TOKEN`)
sent only to the instance's own origin, never along a redirect or a `Link` elsewhere. python-gitlab is not used:
see docs/forges.md for why.

* account — `GET /groups/:path` (404 → `GET /users?username=`); a whole instance has none.
* listing, GraphQL (`crawler.forges.gitlab.graphql`) — `group(fullPath) { projects(includeSubgroups: true) }`,
  `namespace(fullPath) { projects }` for a user, `projects` for a whole instance (public ones kept), 100 projects
  a page with their languages, root files, releases and last commit. Shared projects are never listed there.
* listing, REST (instances without GraphQL) — `GET /groups/:id/projects?include_subgroups=true&with_shared=false`,
  `/users/:id/projects`, or `/projects?visibility=public&pagination=keyset` (offset pagination is capped at
  50,000); `Link` rel="next" only, as GitLab drops totals above 10,000 (gitlab-foss!23931). Projects whose
  namespace is outside the account are dropped even if the server ignores `with_shared`.
* details (`crawler.forges.gitlab.details`) — run on a bounded pool (`detail_workers`, default 8): each worker has
  its own ForgeHttp (they share the connection pool and the token pool).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from crawler.forges.base import Clock, KnownState, Target
from crawler.forges.common import EMPTY_SIGNALS
from crawler.forges.crawl import AccountCrawler, CrawlStopped
from crawler.forges.gitlab import graphql
from crawler.forges.gitlab.details import ALL, Gone, get_json, graphql_detail, items, rest_detail, rest_fresh
from crawler.forges.gitlab.mapping import group_record, inside, node_to_record, project_to_record, user_record
from crawler.forges.http import (
    ClientCache,
    ForgeHttp,
    HttpStatusError,
    SystemClock,
    TokenPool,
    outcome_of,
    reserve_from_env,
)
from index.records import AccountCrawl, AccountKind, AccountRecord, CrawlCost, OutcomeStatus, RepositoryRecord

SIGNALS_TTL = dt.timedelta(hours=24)
DETAIL_WORKERS = 8


class GitLabAdapter:
    """`crawl(target, known)` for GitLab instances (gitlab.com or self-hosted), see the module docstring.

    `graphql`: "auto" (ask the instance), "never" (REST only)."""

    def __init__(self, clock: Clock | None = None, *, timeout: float = 30.0, per_page: int = 100,
                 max_retries: int = 4, backoff: float = 0.5, max_wait: float = 900.0,
                 signals_ttl: dt.timedelta = SIGNALS_TTL, detail_workers: int = DETAIL_WORKERS,
                 graphql: str = "auto"):
        self.clock: Clock = clock or SystemClock()
        self.timeout = timeout
        self.per_page = max(1, min(100, per_page))
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.signals_ttl = signals_ttl
        self.detail_workers = max(1, detail_workers)
        self.graphql = graphql
        self._clients = ClientCache()

    def http(self, target: Target, pool: TokenPool, client: Any) -> ForgeHttp:
        return ForgeHttp(target.api_url, pool, auth_scheme="private-token", clock=self.clock, timeout=self.timeout,
                         max_wait=self.max_wait, max_retries=self.max_retries, backoff=self.backoff, client=client)

    def crawl(self, target: Target, known: KnownState) -> AccountCrawl:
        return GitLabCrawl(self, target, known).result()

    def close(self) -> None:
        self._clients.close()


class _Https:
    """The ForgeHttp of each thread of one crawl (their counters are written by one thread each); they share the
    adapter's connection pool and one token pool, so a spent token is known to all."""

    def __init__(self, adapter: GitLabAdapter, target: Target):
        self.adapter, self.target = adapter, target
        self.pool = TokenPool.parse(target.token, reserve_from_env())
        self.client = adapter._clients.get(target.api_url, adapter.timeout)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[ForgeHttp] = []

    def get(self) -> ForgeHttp:
        http: ForgeHttp | None = getattr(self._local, "http", None)
        if http is None:
            http = self._local.http = self.adapter.http(self.target, self.pool, self.client)
            with self._lock:
                self._all.append(http)
        return http

    def cost(self) -> CrawlCost:
        with self._lock:
            return sum((http.cost.snapshot() for http in self._all), CrawlCost())

    def scrub(self, text: str) -> str:
        return self.get().scrub(text)


class GitLabCrawl(AccountCrawler):
    """One group, user or whole instance: the account, the listing, then the details of what changed."""

    def __init__(self, adapter: GitLabAdapter, target: Target, known: KnownState):
        super().__init__(target, known, adapter.clock)
        self.adapter = adapter
        self.https = _Https(adapter, target)
        self.host_url = f"https://{target.host}"
        self.surely_empty: set[int] = set()  # REST listings say `empty_repo` (anonymous reduced ones may not)

    # the one loop ----------------------------------------------------------------------------------------------
    def run(self) -> None:
        http = self.https.get()
        caps = self._capabilities(http)
        scope, path, belongs = self._open(http)
        nodes: dict[int, Mapping[str, Any]] = {}
        if caps is not None:
            try:
                self._graphql_listing(http, scope, path, caps, nodes)
            except (graphql.GraphQLRefused, HttpStatusError) as exc:
                if nodes or (isinstance(exc, HttpStatusError) and exc.status not in (400, 404, 405)):
                    raise
                caps = self._capabilities(http, fresh=True)  # the instance changed since it was asked
                if caps is not None:
                    self._graphql_listing(http, scope, path, caps, nodes)
        if caps is None:
            for data in self._rest_listing(http, scope, path):
                if belongs(data) and int(data["id"]) not in self.records:
                    self.records[int(data["id"])] = replace(project_to_record(data), stale=ALL)
                    if data.get("empty_repo") is True:  # no licence, language, commit, file or release to ask
                        self.surely_empty.add(int(data["id"]))
        self.complete = True
        self._details(caps, nodes)

    def _capabilities(self, http: ForgeHttp, *, fresh: bool = False) -> graphql.Capabilities | None:
        if self.adapter.graphql == "never":
            return None
        caps, memo = graphql.capabilities(http, self.known.validators, self.clock.now(), fresh=fresh)
        self.validators[memo.key] = memo
        return caps

    def _graphql_listing(self, http: ForgeHttp, scope: str, path: str | None, caps: graphql.Capabilities,
                         nodes: dict[int, Mapping[str, Any]]) -> None:
        for page in graphql.pages(http, scope, path, caps, self.adapter.per_page):
            for node in page:
                record = node_to_record(node, self.host_url)
                if record.forge_id in self.records or (scope == "instance" and record.visibility.value != "public"):
                    continue
                nodes[record.forge_id] = node
                self.records[record.forge_id] = replace(record, stale=ALL)  # until its details are read

    def _open(self, http: ForgeHttp) -> tuple[str, str | None, Callable[[Mapping[str, Any]], bool]]:
        """The account record, and how to list it: ("group" | "namespace" | "instance", path, belongs-here)."""
        login = self.target.login
        if login is None:
            self.account = AccountRecord(login=self.target.host, kind=AccountKind.INSTANCE, html_url=self.host_url)
            return "instance", None, lambda data: True
        try:
            group = get_json(http, f"/groups/{quote(login, safe='')}")
        except Gone:
            group = None
        if isinstance(group, Mapping):
            self.account = group_record(group)
            full_path = str(group.get("full_path") or login)
            self._group_id = group.get("id")
            return "group", full_path, lambda data: inside(data, full_path.lower())
        users = get_json(http, "/users", username=login)
        user = users[0] if isinstance(users, list) and users and isinstance(users[0], Mapping) else None
        if user is None:
            raise CrawlStopped(OutcomeStatus.NOT_FOUND, f"no group or user {login!r} on {self.target.host}")
        self.account = user_record(user)
        self._user_id = user.get("id")
        username = str(user.get("username") or login)
        return "namespace", username, lambda data: inside(data, username.lower())

    def _rest_listing(self, http: ForgeHttp, scope: str, path: str | None) -> Iterator[dict[str, Any]]:
        per_page = self.adapter.per_page
        if scope == "instance":
            return items(http, "/projects", pagination="keyset", order_by="id", sort="asc", visibility="public",
                         per_page=per_page)
        if scope == "group":
            return items(http, f"/groups/{self._group_id}/projects", include_subgroups="true", with_shared="false",
                         order_by="id", sort="asc", per_page=per_page)
        return items(http, f"/users/{self._user_id}/projects", order_by="id", sort="asc", per_page=per_page)

    # details ---------------------------------------------------------------------------------------------------
    def _details(self, caps: graphql.Capabilities | None, nodes: Mapping[int, Mapping[str, Any]]) -> None:
        """Fill in every record's details, in listing order, projects that need requests on the pool.

        The first failure (in listing order) is raised after the pool has drained; once one worker fails (a rate
        limit that cannot be waited out), the others take no new project. Projects not reached stay stale."""
        now = self.clock.now()
        known = self.known.repos
        todo: list[int] = []
        for pid, record in self.records.items():
            previous = known.get(pid)
            if caps is None and rest_fresh(record, previous, now, self.adapter.signals_ttl):
                self.records[pid] = replace(record, stale=frozenset(), kept=ALL)  # signals None: stored ones stay
            elif pid in self.surely_empty:
                self.records[pid] = replace(record, stale=frozenset(), license_spdx=None, language=None,
                                            signals=EMPTY_SIGNALS)
            else:
                todo.append(pid)

        def one(pid: int) -> RepositoryRecord:
            record, http = self.records[pid], self.https.get()
            if caps is None:
                return rest_detail(http, replace(record, stale=frozenset()), now)
            return graphql_detail(http, replace(record, stale=frozenset()), nodes[pid], known.get(pid), caps, now)

        # details a previous crawl could not refresh go first
        todo.sort(key=lambda pid: not (known.get(pid) is not None and known[pid].stale))
        workers = min(self.adapter.detail_workers, len(todo))
        if workers <= 1:
            for pid in todo:
                self.records[pid] = one(pid)
            return
        stop = threading.Event()

        def work(pid: int) -> RepositoryRecord | None:
            if stop.is_set():
                return None
            try:
                return one(pid)
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(workers, thread_name_prefix="gitlab-detail") as pool:
            futures: list[tuple[int, Future[RepositoryRecord | None]]] = [(pid, pool.submit(work, pid)) for pid in todo]
            failure: BaseException | None = None
            for pid, future in futures:
                try:
                    result = future.result()
                except BaseException as exc:  # noqa: BLE001 - re-raised below, after the pool drained
                    failure = failure or exc
                    continue
                if result is not None:
                    self.records[pid] = result
        if failure is not None:
            raise failure

    # the outcome -----------------------------------------------------------------------------------------------
    def close(self) -> None:
        pass  # the connections belong to the adapter, which keeps them for its next account

    def cost(self) -> CrawlCost:
        return self.https.cost()

    def outcome(self, exc: Exception) -> tuple[OutcomeStatus, str]:
        if isinstance(exc, HttpStatusError) and exc.status in (401, 403):
            return OutcomeStatus.AUTH, f"token refused by {self.target.host} (HTTP {exc.status})"
        if isinstance(exc, graphql.GraphQLRefused | LookupError):
            return OutcomeStatus.FAILED, str(exc)
        return outcome_of(exc)

    def scrub(self, text: str) -> str:
        return super().scrub(self.https.scrub(text))

    def finished_account(self, status: OutcomeStatus) -> AccountRecord | None:
        return replace(self.account, repositories_count=len(self.records)) if self.account is not None else None
