"""One HTTP policy for every forge adapter that speaks httpx: retries, rate limits, credentials, accounting.

- Retries transient failures (5xx, timeouts, connection resets, truncated or non-JSON bodies) with exponential
  backoff and jitter, at most `max_retries` times. A name that does not resolve or a refused connection ends the
  account at once (`HostUnreachable`): nothing reached a server, so it is not counted as a request either.
- Rate limits: every answer's `x-ratelimit-*` (GitHub, per `x-ratelimit-resource`) or `RateLimit-*` (GitLab) is
  remembered per token and resource. Before sending, the budget is checked: a token whose remaining points are at
  or below the reserve (`reserve`, capped at a tenth of the limit) is not used; the next token of the pool is;
  when every token is spent, wait for the earliest reset if that is ≤ `max_wait`, else raise
  `RateLimitExhausted` so the runner records the account RATE_LIMITED and moves on. Nothing is sent on a budget
  known to be 0. `Retry-After` (secondary limits, 429) is honoured the same way (docs: forge-api-notes §1.4, §2.6).
- A token pool: `token` may hold several comma-separated tokens (GITHUB_TOKEN="t1,t2"); see `TokenPool`.
- The token is sent only to the forge's own API scheme/host/port; a redirect or Link URL to anywhere else is
  refused (`ForeignURL`) rather than followed, so a hostile forge cannot harvest it.
- Every attempt is counted into a `CrawlCost` (304s separately; GitHub's authenticated 304s are free).
- Time goes through an injectable clock (`now()`, `sleep()`), so tests assert waits without waiting.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import json
import logging
import os
import random
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from crawler.forges.base import Clock, CredentialsError, ForgeError, RateLimitExhausted
from index.records import CrawlCost, OutcomeStatus

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 524})
SECONDARY_HINTS = ("secondary rate limit", "abuse detection", "retry your request again later")
DEFAULT_RESERVE = 50
USER_AGENT = "codeindex-crawler"  # a worker adds its host and pid, so a forge's logs tell the machines apart


class SharedBudgets(Protocol):
    """Budgets kept beyond this process (`crawler.distributed.budgets`: a table every worker reads and writes),
    so that the workers together hold a token's budget, not each worker a whole one."""

    def observe(self, host: str, token: str, resource: str, budget: Budget) -> None: ...

    def merge(self, pool: TokenPool, resource: str) -> None: ...


SHARED_BUDGETS: SharedBudgets | None = None  # set by `codeindex worker`; a single process needs none

# backoff jitter for every client: seeding a Random per account read 2.5 kB from os.urandom, ~0.5 ms each here
JITTER = random.Random()


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for the process, shared by every client (an SSLContext is safe to share between threads).

    httpx builds a new one for each client it creates, loading the whole CA bundle: ~50 ms of CPU, which at ten
    times code.gouv.fr's size (1,750 GitHub accounts, a client each) was most of an unchanged re-crawl."""
    return httpx.create_ssl_context()


def new_client(timeout: float, user_agent: str | None = None,
               transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """An httpx client as every adapter uses it: no redirect followed by httpx (ForgeHttp checks them), no
    credentials of its own (ForgeHttp adds them per request, for the forge's own origin only)."""
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=transport, verify=tls_context(),
                        headers={"User-Agent": user_agent or USER_AGENT})


class ClientCache:
    """An adapter's httpx clients, one per API root, kept across the accounts it crawls: connections (and TLS
    sessions) are reused instead of opened per account. Not thread-safe, like the adapter that owns it.

    Cookies a forge sets are dropped when an account's client is handed out again, so that no account's crawl
    depends on another's."""

    def __init__(self) -> None:
        self._clients: dict[str, httpx.Client] = {}

    def get(self, api_url: str, timeout: float) -> httpx.Client:
        client = self._clients.get(api_url)
        if client is None or client.is_closed:
            client = self._clients[api_url] = new_client(timeout)
        client.cookies.clear()
        return client

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ForeignURL(ForgeError):
    """The forge pointed us (redirect, Link) at another host: refused, the token must not travel there."""


class TransientError(ForgeError):
    """Retries exhausted on 5xx, timeouts, resets or unreadable bodies."""


class HostUnreachable(TransientError):
    """The host's name does not resolve, or it refuses connections: nothing reached a server, and asking again
    at once will not help, so the account ends at the first attempt (and the runner stops trying the host)."""


def _no_server(exc: BaseException) -> str | None:
    """"cannot resolve" / "connection refused" when `exc` (a ConnectError) means no server was reached."""
    seen: BaseException | None = exc
    for _ in range(6):  # httpx wraps httpcore's error, which wraps the socket's
        if seen is None:
            break
        if isinstance(seen, socket.gaierror):
            return "cannot resolve"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused by"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if any(hint in text for hint in ("name or service not known", "temporary failure in name resolution",
                                     "nodename nor servname", "name resolution", "no address associated",
                                     "getaddrinfo failed")):
        return "cannot resolve"
    if "connection refused" in text or "errno 111" in text:
        return "connection refused by"
    return None


def reserve_from_env() -> int:
    """CODEINDEX_RATE_RESERVE (points each token keeps unspent), DEFAULT_RESERVE when unset; a value that is not
    a whole number ≥ 0 is refused (ValueError), never ignored."""
    value = os.environ.get("CODEINDEX_RATE_RESERVE", "").strip()
    if not value:
        return DEFAULT_RESERVE
    if not value.isdigit():
        raise ValueError(f"CODEINDEX_RATE_RESERVE must be a whole number of points, 0 or more (got {value!r})")
    return int(value)


class NotTheFile(ValueError):
    """A raw file's request answered 200 with a proxy's HTML or JSON page: transient, like a non-JSON API body."""


def _error_page(response: httpx.Response) -> bool:
    """A 200 that is no raw file: forges serve raw files as text/plain or octet-stream, never as HTML or JSON."""
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("text/html", "application/json", "application/xhtml+xml")


class HttpStatusError(ForgeError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def outcome_of(exc: BaseException) -> tuple[OutcomeStatus, str]:
    """How a failure raised through ForgeHttp ends an account's crawl (the message is scrubbed by the caller)."""
    if isinstance(exc, RateLimitExhausted):
        return OutcomeStatus.RATE_LIMITED, str(exc)
    if isinstance(exc, CredentialsError):
        return OutcomeStatus.AUTH, str(exc)
    if isinstance(exc, ForeignURL | HttpStatusError):
        return OutcomeStatus.FAILED, str(exc)
    if isinstance(exc, HostUnreachable):
        return OutcomeStatus.UNREACHABLE, str(exc)
    if isinstance(exc, TransientError):
        return OutcomeStatus.UNREACHABLE if "Connect" in str(exc) else OutcomeStatus.FAILED, str(exc)
    if isinstance(exc, httpx.HTTPError | OSError):
        return OutcomeStatus.UNREACHABLE, f"{type(exc).__name__}: {exc}"
    return OutcomeStatus.FAILED, f"{type(exc).__name__}: {exc}"  # an adapter never raises for a forge problem


@dataclass
class CostCounter:
    requests: int = 0
    not_modified: int = 0
    rest_points: int = 0
    graphql_points: int = 0

    def snapshot(self) -> CrawlCost:
        return CrawlCost(self.requests, self.not_modified, self.rest_points, self.graphql_points)


@dataclass
class Budget:
    """A token's budget for one resource, as the forge last reported it."""

    remaining: int | None = None
    limit: int | None = None
    reset_at: dt.datetime | None = None


class TokenPool:
    """The tokens of one forge (none: anonymous), used in order: the next one is taken when the current one's
    budget for a resource is spent, before anything waits. Budgets are per (token, resource): GitHub counts REST
    (`core`) and GraphQL points separately."""

    def __init__(self, tokens: Sequence[str | None] = (), reserve: int = DEFAULT_RESERVE,
                 source: Callable[[], str] | None = None):
        cleaned = [t.strip() for t in tokens if t and t.strip()]
        self.tokens: list[str | None] = list(dict.fromkeys(cleaned)) or [None]
        self.reserve = max(0, reserve)
        self.index = 0
        self.budgets: dict[tuple[int, str], Budget] = {}
        # a GitHub App's installation token, first in the pool: asked for again before each request (its minter
        # replaces it before it expires); the tokens it replaced are kept for scrubbing
        self.source = source
        self.retired: set[str] = set()
        if source is not None:
            self.tokens = [source(), *(t for t in self.tokens if t is not None)]

    @classmethod
    def parse(cls, value: str | None, reserve: int = DEFAULT_RESERVE,
              source: Callable[[], str] | None = None) -> TokenPool:
        """`"t1, t2,t3"` → a pool of three; None or "" → anonymous (unless `source` mints a token)."""
        return cls((value or "").split(","), reserve, source)

    @property
    def current(self) -> str | None:
        if self.source is not None and self.index == 0:
            fresh = self.source()
            if fresh != self.tokens[0]:
                if self.tokens[0]:
                    self.retired.add(self.tokens[0])
                self.tokens[0] = fresh
        return self.tokens[self.index]

    def __len__(self) -> int:
        return 0 if self.tokens == [None] else len(self.tokens)

    def budget(self, index: int, resource: str) -> Budget:
        return self.budgets.setdefault((index, resource), Budget())

    def spendable(self, index: int, resource: str, now: dt.datetime, need: int = 1) -> bool:
        """False only when the forge said this token has no more than the reserve left and the reset is ahead."""
        b = self.budgets.get((index, resource))
        if b is None or b.remaining is None or b.reset_at is None or b.reset_at <= now:
            return True
        reserve = self.reserve if b.limit is None else min(self.reserve, b.limit // 10)
        return b.remaining - need >= reserve

    def choose(self, resource: str, now: dt.datetime, need: int = 1) -> bool:
        """Keep the current token if it can pay `need`, else move to the first one that can; False if none."""
        order = [self.index] + [i for i in range(len(self.tokens)) if i != self.index]
        for i in order:
            if self.spendable(i, resource, now, need):
                if i != self.index:
                    log.info("token %d/%d spent for %s: switching to token %d", self.index + 1, len(self.tokens),
                             resource, i + 1)
                    self.index = i
                return True
        return False

    def next_reset(self, resource: str) -> dt.datetime | None:
        resets = [b.reset_at for (_, r), b in self.budgets.items() if r == resource and b.reset_at is not None]
        return min(resets) if resets else None

    def exhaust(self, index: int, resource: str, reset_at: dt.datetime | None) -> None:
        """The forge refused this token for lack of budget (e.g. GraphQL RATE_LIMITED inside a 200)."""
        b = self.budget(index, resource)
        b.remaining = 0
        if reset_at is not None:
            b.reset_at = reset_at


def _resource(url: str) -> str:
    return "graphql" if urlsplit(url).path.rstrip("/").endswith("/graphql") else "core"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class ForgeHttp:
    """An httpx client bound to one forge API root and a pool of tokens (possibly empty: anonymous).

    `client` lends an existing httpx client (an adapter keeps one per forge across its accounts, so connections
    are reused); it is then left open by `close()`. Credentials are never set on the client itself."""

    def __init__(
        self,
        api_url: str,
        token: str | TokenPool | None = None,
        *,
        auth_scheme: str = "token",  # "token" / "Bearer" (Authorization) or "private-token" (GitLab header)
        clock: Clock | None = None,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 120.0,
        timeout: float = 20.0,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        max_redirects: int = 5,
        reserve: int = DEFAULT_RESERVE,
        client: httpx.Client | None = None,
    ):
        self.api_url = api_url.rstrip("/")
        self.origin = _origin(self.api_url)
        self.pool = token if isinstance(token, TokenPool) else TokenPool.parse(token, reserve)
        self.auth_scheme = auth_scheme
        self.clock: Clock = clock or SystemClock()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.max_redirects = max_redirects
        self.rng = rng or JITTER
        self.cost = CostCounter()
        self.remaining: int | None = None  # as last reported, whatever the token or resource
        self.reset_at: dt.datetime | None = None
        self.last_token = 0  # the pool index the last request was sent with
        self.waited = 0.0  # seconds spent waiting for budgets and backoffs (through the clock)
        self._owns_client = client is None
        self._client = client if client is not None else new_client(timeout, user_agent, transport)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> ForgeHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def authenticated(self) -> bool:
        return self.pool.current is not None

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.api_url + "/" + path_or_url.lstrip("/")

    def same_origin(self, url: str) -> bool:
        return _origin(url) == self.origin

    def _auth_headers(self, url: str) -> dict[str, str]:
        token = self.pool.current
        if token is None or not self.same_origin(url):
            return {}
        if self.auth_scheme == "private-token":
            return {"PRIVATE-TOKEN": token}
        return {"Authorization": f"{self.auth_scheme} {token}"}

    def scrub(self, text: str) -> str:
        """Remove every token of the pool from a message that may reach logs or the status page."""
        for token in sorted({t for t in self.pool.tokens if t} | self.pool.retired, key=len, reverse=True):
            text = text.replace(token, "***")
        return text

    # ------------------------------------------------------------------------------------------------------------
    def request(self, method: str, path_or_url: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, headers: dict[str, str] | None = None, expect_json: bool = True,
                need: int = 1, final: Callable[[httpx.Response], bool] | None = None) -> httpx.Response:
        """Send with retries; follows same-origin redirects; returns the final response (any non-retried status).

        `need` is what the request is expected to cost (GraphQL: the previous query's points): a token that
        cannot pay it above the reserve is not used. `final` marks a 5xx answer that asking again will not
        cure (GitLab's GraphQL "Request timed out": the caller asks for less instead)."""
        url = self.url(path_or_url)
        if not self.same_origin(url):
            raise ForeignURL(f"refusing to request {urlsplit(url).netloc}: not the forge's API host")
        resource = _resource(url)
        redirects = 0
        attempt = 0
        limited = 0
        while True:
            self._await_budget(resource, need)
            sent_headers = {**(headers or {}), **self._auth_headers(url)}
            self.last_token = self.pool.index
            try:
                response = self._client.request(method, url, params=params, json=json_body, headers=sent_headers)
                if response.status_code == 200 and response.content:
                    if expect_json:
                        response.json()  # a truncated or HTML body is a transient failure too
                    elif _error_page(response):
                        raise NotTheFile(f"a {response.headers.get('content-type')} page instead of the file")
            except (httpx.TimeoutException, httpx.TransportError, json.JSONDecodeError, UnicodeDecodeError,
                    NotTheFile) as exc:
                if isinstance(exc, httpx.ConnectError) and (why := _no_server(exc)):
                    raise HostUnreachable(f"{why} {self.origin[1]} ({type(exc).__name__})") from None
                if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    self.cost.requests += 1  # only what reached a server counts as sent
                attempt += 1
                if attempt > self.max_retries:
                    raise TransientError(self.scrub(f"{type(exc).__name__} after {attempt} attempts: {exc}")) from None
                self._sleep_backoff(attempt)
                continue
            self._account(response, resource)
            status = response.status_code
            if status in (301, 302, 303, 307, 308) and "location" in response.headers:
                target = urljoin(url, response.headers["location"])
                if not self.same_origin(target):
                    raise ForeignURL(f"refusing redirect to {urlsplit(target).netloc}: not the forge's API host")
                redirects += 1
                if redirects > self.max_redirects:
                    raise HttpStatusError(status, "too many redirects")
                url, params = target, None
                if status == 303:
                    method, json_body = "GET", None
                continue
            wait = self._rate_limit_wait(response, resource)
            if wait is not None:
                limited += 1
                if limited > self.max_retries + 2:
                    raise RateLimitExhausted(
                        f"rate limited on {self.origin[1]} (HTTP {status}) {limited} times in a row", self.reset_at)
                if wait > self.max_wait:
                    raise RateLimitExhausted(
                        f"rate limited on {self.origin[1]} (HTTP {status}): asked to wait {wait:.0f} s, "
                        f"more than the {self.max_wait:.0f} s allowed", self.reset_at)
                if wait > 0:
                    self._sleep(wait)
                continue
            if status in RETRY_STATUSES and not (final is not None and final(response)):
                attempt += 1
                if attempt > self.max_retries:
                    return response
                self._sleep_backoff(attempt)
                continue
            return response

    def get_json(self, path_or_url: str, **kw: Any) -> tuple[httpx.Response, Any]:
        response = self.request("GET", path_or_url, **kw)
        return response, (response.json() if response.status_code == 200 and response.content else None)

    def follow(self, link_url: str) -> str:
        """A pagination URL from a Link header, checked: absolute same-origin or relative to the API root."""
        url = urljoin(self.api_url + "/", link_url)
        if not self.same_origin(url):
            raise ForeignURL(f"refusing Link to {urlsplit(url).netloc}: not the forge's API host")
        return url

    def exhausted(self, resource: str, reset_at: dt.datetime | None = None) -> None:
        """Record that the last request's token has no budget left for `resource` (GraphQL RATE_LIMITED)."""
        budget = self.pool.budget(self.last_token, resource)
        self.pool.exhaust(self.last_token, resource, reset_at or budget.reset_at or self.reset_at)

    # ------------------------------------------------------------------------------------------------------------
    def _await_budget(self, resource: str, need: int) -> None:
        """Never send on a spent budget: switch token, or wait for the reset, or give up (RateLimitExhausted)."""
        for _ in range(3):
            now = self.clock.now()
            if SHARED_BUDGETS is not None:
                SHARED_BUDGETS.merge(self.pool, resource)
            if self.pool.choose(resource, now, need):
                return
            reset = self.pool.next_reset(resource)
            wait = (reset - now).total_seconds() + 1 if reset is not None else None
            who = f"all {len(self.pool)} tokens" if len(self.pool) > 1 else (
                "the token" if len(self.pool) else "anonymous access")
            if wait is None or wait > self.max_wait:
                when = f"; resets at {reset:%Y-%m-%d %H:%M:%S} UTC" if reset else ""
                raise RateLimitExhausted(
                    f"{resource} rate limit of {self.origin[1]} spent on {who} (reserve kept: "
                    f"{self.pool.reserve}){when}; waiting is over the {self.max_wait:.0f} s allowed", reset)
            log.warning("%s rate limit of %s spent on %s: waiting %.0f s for the reset", resource, self.origin[1],
                        who, wait)
            self._sleep(max(0.0, wait))
        raise RateLimitExhausted(f"{resource} rate limit of {self.origin[1]} still spent after waiting", None)

    def _sleep(self, seconds: float) -> None:
        self.waited += seconds
        self.clock.sleep(seconds)

    def _sleep_backoff(self, attempt: int) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        self._sleep(delay + self.rng.uniform(0, delay / 2))

    def _account(self, response: httpx.Response, resource: str) -> None:
        """Count one attempt; GraphQL points are added by the caller from the answer's rateLimit.cost."""
        self.cost.requests += 1
        answered = response.headers.get("x-ratelimit-resource")
        if response.status_code == 304:
            self.cost.not_modified += 1
            if not self.authenticated and answered != "graphql":  # GitHub: only authenticated 304s are free
                self.cost.rest_points += 1
        elif answered != "graphql" and resource != "graphql":
            self.cost.rest_points += 1
        self._read_limits(response.headers, answered or resource)

    def _read_limits(self, h: httpx.Headers, resource: str) -> None:
        remaining = h.get("x-ratelimit-remaining") or h.get("ratelimit-remaining")
        reset = h.get("x-ratelimit-reset") or h.get("ratelimit-reset")
        limit = h.get("x-ratelimit-limit") or h.get("ratelimit-limit")
        budget = self.pool.budget(self.last_token, resource)
        if remaining is not None and remaining.strip().isdigit():
            self.remaining = budget.remaining = int(remaining)
        if limit is not None and limit.strip().isdigit():
            budget.limit = int(limit)
        if reset is not None and reset.strip().isdigit():
            value = int(reset)
            # GitHub and GitLab send epoch seconds; a small number is a delta (IETF RateLimit drafts)
            self.reset_at = budget.reset_at = (dt.datetime.fromtimestamp(value, dt.UTC) if value > 1_000_000_000
                                               else self.clock.now() + dt.timedelta(seconds=value))
        token = self.pool.tokens[self.last_token]
        if SHARED_BUDGETS is not None and token is not None and remaining is not None:
            SHARED_BUDGETS.observe(self.origin[1], token, resource, budget)

    def _retry_after(self, response: httpx.Response) -> float | None:
        value = response.headers.get("retry-after")
        if value is None:
            return None
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - self.clock.now()).total_seconds())

    def _rate_limit_wait(self, response: httpx.Response, resource: str) -> float | None:
        """Seconds to wait before retrying, or None when the response is not a rate-limit answer.

        A primary limit (remaining 0) waits nothing here: the budget check before the next attempt switches
        token or waits for the reset."""
        status = response.status_code
        if status not in (403, 429):
            return None
        retry_after = self._retry_after(response)
        if retry_after is not None:
            return retry_after
        budget = self.pool.budget(self.last_token, response.headers.get("x-ratelimit-resource") or resource)
        if budget.remaining == 0:
            if budget.reset_at is None:  # spent, and no word on when it comes back: assume the usual hour
                budget.reset_at = self.clock.now() + dt.timedelta(hours=1)
            return 0.0
        text = response.text[:500].lower()
        if "rate limit" in text and any(hint in text for hint in SECONDARY_HINTS):
            return 60.0  # GitHub: secondary limit without Retry-After → wait at least a minute
        if status == 429:
            return 60.0
        return None
