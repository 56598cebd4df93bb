"""What every forge adapter offers the runner, and the errors it may raise.

An adapter crawls one account (or one whole instance) and returns an `index.records.AccountCrawl`: records only,
never an SDK object or an HTTP response. It never raises for a forge-side problem: it returns an AccountCrawl
whose status says what went wrong (not found, unreachable, auth, rate-limited, failed), with `complete=False`
unless the listing reached its last page.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from index.records import AccountCrawl, HttpValidator, OutcomeStatus


@dataclass(frozen=True)
class KnownRepo:
    """What the index already holds about a repository: lets an adapter skip detail work when nothing changed."""

    forge_id: int
    full_name: str
    pushed_at: dt.datetime | None
    updated_at: dt.datetime | None
    signals_at: dt.datetime | None  # when the 365-day signals were last refreshed
    license_spdx: str | None = None  # as stored: an adapter that skips a detail request hands these back
    language: str | None = None
    watchers: int | None = None
    parent_url: str | None = None
    fork: bool = False
    stale: frozenset[str] = frozenset()  # details a previous crawl could not refresh: fetched first this time
    marks: Mapping[str, str] = field(default_factory=dict)  # what the stored details were read from


class KnownRepos(Mapping[int, KnownRepo]):
    """An account's repositories as the index holds them, read on first use: a GitHub re-crawl whose listing
    pages all answer 304 never needs them, and reading them (rows, timestamps) was a tenth of an unchanged
    x10 re-crawl's CPU, on the crawling threads. `count` (None: unknown) answers `bool()` without reading."""

    def __init__(self, load: Callable[[], Mapping[int, KnownRepo]], count: int | None = None):
        self._load = load
        self._count = count
        self._repos: Mapping[int, KnownRepo] | None = None
        self._lock = threading.Lock()  # an adapter's detail workers may be the first to ask

    def _loaded(self) -> Mapping[int, KnownRepo]:
        if self._repos is None:
            with self._lock:
                if self._repos is None:
                    self._repos = self._load()
        return self._repos

    def __bool__(self) -> bool:
        if self._repos is None and self._count is not None:
            return self._count > 0
        return bool(self._loaded())

    def __getitem__(self, forge_id: int) -> KnownRepo:
        return self._loaded()[forge_id]

    def get(self, forge_id: int, default: KnownRepo | None = None) -> KnownRepo | None:  # type: ignore[override]
        return self._loaded().get(forge_id, default)

    def __iter__(self) -> Iterator[int]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


@dataclass(frozen=True)
class KnownState:
    """The index's memory of one account, handed to the adapter before a crawl."""

    validators: dict[str, HttpValidator] = field(default_factory=dict)
    repos: Mapping[int, KnownRepo] = field(default_factory=dict)  # the runner's: KnownRepos, read on first use


@dataclass(frozen=True)
class Target:
    """One unit of work: an account on a forge, or the whole forge when `login` is None."""

    host: str
    kind: str  # forge kind from the configuration: github | gitlab | gitea | gogs | ...
    api_url: str  # API root: https://api.github.com, https://HOST/api/v4, http://127.0.0.1:PORT/HOST/api/v3 ...
    login: str | None  # None: every public project of the instance
    token: str | None = None
    token_source: Callable[[], str] | None = None  # a GitHub App's installation tokens (crawler.forges.github.app)


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def sleep(self, seconds: float) -> None: ...


class ForgeAdapter(Protocol):
    """One per worker thread, for the whole run: `crawl` is called once per account. An adapter that keeps
    resources between accounts (open connections) may also have a `close()`, which the runner calls at the end."""

    def crawl(self, target: Target, known: KnownState) -> AccountCrawl: ...


class ForgeError(Exception):
    """Base of adapter errors; the message is safe to show (it never contains a token)."""


class CredentialsError(ForgeError):
    """The forge's credentials cannot be had: a GitHub App misconfigured, or its installation token refused."""

    status = OutcomeStatus.AUTH


class RateLimitExhausted(ForgeError):
    def __init__(self, message: str, reset_at: dt.datetime | None = None):
        super().__init__(message)
        self.reset_at = reset_at


ProgressCallback = Callable[[int], None]  # called with the number of repositories found so far
