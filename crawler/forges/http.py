"""One HTTP policy for every forge adapter that speaks httpx: retries, rate limits, credentials, accounting.

- Retries transient failures (5xx, timeouts, connection resets, truncated or non-JSON bodies) with exponential
  backoff and jitter, at most `max_retries` times.
- Rate limits: GitHub `x-ratelimit-*` (primary: 403/429 with remaining 0 → wait until reset), GitLab
  `RateLimit-*`, and `Retry-After` (secondary limits, 429) are honoured when the wait is ≤ `max_wait`; a longer
  wait raises `RateLimitExhausted` so the runner can move on (docs: forge-api-notes §1.4, §2.6).
- The token is sent only to the forge's own API scheme/host/port; a redirect or Link URL to anywhere else is
  refused (`ForeignURL`) rather than followed, so a hostile forge cannot harvest it.
- Every attempt is counted into a `CrawlCost` (304s separately; GitHub's authenticated 304s are free).
- Time goes through an injectable clock (`now()`, `sleep()`), so tests assert waits without waiting.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from crawler.forges.base import Clock, ForgeError, RateLimitExhausted
from index.records import CrawlCost

RETRY_STATUSES = frozenset({500, 502, 503, 504, 520, 521, 522, 524})
SECONDARY_HINTS = ("secondary rate limit", "abuse detection", "retry your request again later")


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


class HttpStatusError(ForgeError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class CostCounter:
    requests: int = 0
    not_modified: int = 0
    rest_points: int = 0
    graphql_points: int = 0

    def snapshot(self) -> CrawlCost:
        return CrawlCost(self.requests, self.not_modified, self.rest_points, self.graphql_points)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class ForgeHttp:
    """An httpx client bound to one forge API root and (optionally) one token."""

    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        auth_scheme: str = "token",  # "token" / "Bearer" (Authorization) or "private-token" (GitLab header)
        clock: Clock | None = None,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 120.0,
        timeout: float = 20.0,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = "codeindex-crawler",
        max_redirects: int = 5,
    ):
        self.api_url = api_url.rstrip("/")
        self.origin = _origin(self.api_url)
        self._token = token
        self.auth_scheme = auth_scheme
        self.clock: Clock = clock or SystemClock()
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.max_redirects = max_redirects
        self.rng = rng or random.Random()
        self.cost = CostCounter()
        self.remaining: int | None = None
        self.reset_at: dt.datetime | None = None
        self._client = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport,
                                    headers={"User-Agent": user_agent})

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ForgeHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def authenticated(self) -> bool:
        return self._token is not None

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.api_url + "/" + path_or_url.lstrip("/")

    def same_origin(self, url: str) -> bool:
        return _origin(url) == self.origin

    def _auth_headers(self, url: str) -> dict[str, str]:
        if self._token is None or not self.same_origin(url):
            return {}
        if self.auth_scheme == "private-token":
            return {"PRIVATE-TOKEN": self._token}
        return {"Authorization": f"{self.auth_scheme} {self._token}"}

    def scrub(self, text: str) -> str:
        """Remove the token from a message that may reach logs or the status page."""
        return text.replace(self._token, "***") if self._token else text

    # ------------------------------------------------------------------------------------------------------------
    def request(self, method: str, path_or_url: str, *, params: dict[str, Any] | None = None,
                json_body: Any = None, headers: dict[str, str] | None = None, expect_json: bool = True) -> httpx.Response:
        """Send with retries; follows same-origin redirects; returns the final response (any non-retried status)."""
        url = self.url(path_or_url)
        if not self.same_origin(url):
            raise ForeignURL(f"refusing to request {urlsplit(url).netloc}: not the forge's API host")
        redirects = 0
        attempt = 0
        while True:
            sent_headers = {**(headers or {}), **self._auth_headers(url)}
            try:
                response = self._client.request(method, url, params=params, json=json_body, headers=sent_headers)
                if expect_json and response.status_code == 200 and response.content:
                    response.json()  # a truncated or HTML body is a transient failure too
            except (httpx.TimeoutException, httpx.TransportError, json.JSONDecodeError, UnicodeDecodeError) as exc:
                self.cost.requests += 1
                attempt += 1
                if attempt > self.max_retries:
                    raise TransientError(self.scrub(f"{type(exc).__name__} after {attempt} attempts: {exc}")) from None
                self._sleep_backoff(attempt)
                continue
            self._account(response)
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
            wait = self._rate_limit_wait(response)
            if wait is not None:
                attempt += 1
                if wait > self.max_wait or attempt > self.max_retries + 2:
                    raise RateLimitExhausted(f"rate limit exhausted on {self.origin[1]}", self.reset_at)
                self.clock.sleep(wait)
                continue
            if status in RETRY_STATUSES:
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

    # ------------------------------------------------------------------------------------------------------------
    def _sleep_backoff(self, attempt: int) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        self.clock.sleep(delay + self.rng.uniform(0, delay / 2))

    def _account(self, response: httpx.Response) -> None:
        """Count one attempt; GraphQL points are added by the caller from the answer's rateLimit.cost."""
        self.cost.requests += 1
        resource = response.headers.get("x-ratelimit-resource")
        if response.status_code == 304:
            self.cost.not_modified += 1
            if not self.authenticated and resource != "graphql":  # GitHub: only authenticated 304s are free
                self.cost.rest_points += 1
        elif resource != "graphql":
            self.cost.rest_points += 1
        self._read_limits(response.headers)

    def _read_limits(self, h: httpx.Headers) -> None:
        remaining = h.get("x-ratelimit-remaining") or h.get("ratelimit-remaining")
        reset = h.get("x-ratelimit-reset") or h.get("ratelimit-reset")
        if remaining is not None and remaining.strip().isdigit():
            self.remaining = int(remaining)
        if reset is not None and reset.strip().isdigit():
            value = int(reset)
            # GitHub and GitLab send epoch seconds; a small number is a delta (IETF RateLimit drafts)
            self.reset_at = (dt.datetime.fromtimestamp(value, dt.UTC) if value > 1_000_000_000
                             else self.clock.now() + dt.timedelta(seconds=value))

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

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying, or None when the response is not a rate-limit answer."""
        status = response.status_code
        if status not in (403, 429):
            return None
        retry_after = self._retry_after(response)
        if retry_after is not None:
            return retry_after
        if self.remaining == 0 and self.reset_at is not None:
            return max(0.0, (self.reset_at - self.clock.now()).total_seconds()) + 1
        text = response.text[:500].lower()
        if "rate limit" in text and any(hint in text for hint in SECONDARY_HINTS):
            return 60.0
        if status == 429:
            return 60.0
        return None
