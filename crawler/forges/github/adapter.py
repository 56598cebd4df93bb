"""GitHub adapter: one account → `AccountCrawl`, at close to the lower bound of rate-limit cost.

APIs (docs: forge-api-notes §1; https://docs.github.com/graphql, https://docs.github.com/rest):
- Cold crawl with a token: one GraphQL query per 100 repositories (`repositoryOwner { __typename ... repositories }`)
  carrying every field and signal (topics, licence, 365-day history, root tree, publiccode.yml, releases): ~3 points
  and 1 request per 100 repositories.
- Re-crawl with a token: REST listing pages (`/orgs|users/{x}/repos?per_page=100`) with `If-None-Match`; a 304 is
  free and means every repository on the page is unchanged (ids kept in the validator's memo → `unchanged_ids`);
  on a changed page, only repositories that are new, were pushed, or whose signals are over 24 h old get a
  batched GraphQL detail query (aliases, ≤100 per request).
- Without a token (GraphQL needs one): REST only, 60 requests/h: listing with conditional requests, signals from
  the root listing only for repositories that changed. A WARNING says so once per forge (records have no note).
- Tokens: `Target.token` may hold a comma-separated pool ("t1,t2"): when one token's budget is spent (REST
  remaining at the reserve, or GraphQL RATE_LIMITED inside a 200) the next one is used before anything waits
  (`crawler.forges.http.TokenPool`). The reserve (points never spent, default 50, capped at a tenth of the limit)
  comes from `reserve=` or the environment variable CODEINDEX_RATE_RESERVE.
Status mapping: 404 → NOT_FOUND; renamed account (REST 301) → followed, the new login recorded; connection
errors → UNREACHABLE; 401 → AUTH; exhausted budget → RATE_LIMITED; anything else → FAILED (token scrubbed).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from crawler.forges.base import Clock, KnownState, Target
from crawler.forges.github.anonymous import AnonymousGitHubCrawl
from crawler.forges.github.crawl import OWNER_QUERY, PAGE_SIZE, GitHubCrawl
from crawler.forges.http import ClientCache, ForgeHttp, SystemClock, TokenPool, reserve_from_env
from index.records import AccountCrawl

__all__ = ["OWNER_QUERY", "PAGE_SIZE", "GitHubAdapter"]

log = logging.getLogger(__name__)

WARNED_ANONYMOUS: set[str] = set()  # forges already warned about, in this process
_WARNED_LOCK = threading.Lock()


class GitHubAdapter:
    """Crawls GitHub (github.com or GHES: `api_url` ending in /api/v3). Not thread-safe: one per worker."""

    def __init__(self, clock: Clock | None = None, *, http_factory: Callable[[Target], ForgeHttp] | None = None,
                 page_size: int = PAGE_SIZE, timeout: float = 20, max_wait: float = 120.0, max_retries: int = 6,
                 backoff: float = 0.5, reserve: int | None = None):
        self.clock: Clock = clock or SystemClock()
        self.page_size = max(1, min(100, page_size))
        self.timeout = timeout
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.backoff = backoff
        self.reserve = reserve if reserve is not None else reserve_from_env()
        self._http_factory = http_factory or self._default_http
        self._clients = ClientCache()

    def _default_http(self, target: Target) -> ForgeHttp:
        return ForgeHttp(target.api_url, TokenPool.parse(target.token, self.reserve, target.token_source), clock=self.clock,
                         timeout=self.timeout, max_wait=self.max_wait, max_retries=self.max_retries,
                         backoff=self.backoff, client=self._clients.get(target.api_url, self.timeout))

    def close(self) -> None:
        """Close the connections kept open between accounts (the runner calls it when the run ends)."""
        self._clients.close()

    @staticmethod
    def _warn_anonymous(host: str) -> None:
        """Once per forge and process: the runner builds one adapter per thread."""
        with _WARNED_LOCK:
            if host in WARNED_ANONYMOUS:
                return
            WARNED_ANONYMOUS.add(host)
            log.warning("no token for %s: anonymous REST only, 60 requests/hour; private and internal repositories "
                        "unseen, commit and release signals left unknown (docs/operations.md)", host)

    # ------------------------------------------------------------------------------------------------------------
    def crawl(self, target: Target, known: KnownState) -> AccountCrawl:
        http = self._http_factory(target)
        if http.authenticated:
            return GitHubCrawl(target, known, self.clock, http, self.page_size).result()
        if target.login:
            self._warn_anonymous(target.host)
        return AnonymousGitHubCrawl(target, known, self.clock, http, self.page_size).result()
