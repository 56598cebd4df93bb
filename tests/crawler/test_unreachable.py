"""A host whose name does not resolve, or that refuses connections, ends fast and costs no "request sent": no
backoff (timed on a fake clock), nothing counted, and the runner stops trying the host after a few accounts."""

from __future__ import annotations

import datetime as dt
import socket

import httpx
import pytest

from crawler.config import load_config
from crawler.forges.base import KnownRepos, KnownState, Target
from crawler.forges.github.adapter import GitHubAdapter
from crawler.forges.gitlab.adapter import GitLabAdapter
from crawler.forges.http import ForgeHttp, HostUnreachable, TokenPool
from crawler.runner import run_crawl
from index.db import open_index
from index.records import OutcomeStatus
from tests.support import FakeClock

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
API = "https://api.github.invalid"


def _dns_failure(request: httpx.Request) -> httpx.Response:
    """What httpx raises when getaddrinfo fails (the socket error as its cause), without asking a resolver."""
    try:
        raise socket.gaierror(-2, "Name or service not known")
    except socket.gaierror as exc:
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc


def _github(clock: FakeClock) -> GitHubAdapter:
    transport = httpx.MockTransport(_dns_failure)
    return GitHubAdapter(clock, http_factory=lambda target: ForgeHttp(
        target.api_url, TokenPool.parse(target.token), clock=clock, max_retries=6, transport=transport))


def _known() -> KnownState:
    return KnownState(validators={}, repos=KnownRepos(dict, 0))


def test_a_dns_failure_ends_the_github_account_at_once_and_sends_nothing():
    clock = FakeClock(START)
    crawl = _github(clock).crawl(Target("github.com", "github", API, "etalab", "tok"), _known())
    assert crawl.status == OutcomeStatus.UNREACHABLE
    assert "cannot resolve api.github.invalid" in (crawl.error or "")
    assert clock.sleeps == [] and crawl.cost.requests == 0


def test_five_unresolvable_accounts_take_no_time_and_count_no_request(tmp_path):
    """The issue's case: 5 GitHub accounts on a host that does not resolve (before: 7 attempts each with backoff,
    43 s, every attempt counted as a request sent)."""
    path = tmp_path / "organisations.yml"
    path.write_text(f"github.com:\n  forge: github\n  api_url: {API}\n  owners:\n"
                    + "".join(f"    account-{i}:\n" for i in range(5)))
    clock = FakeClock(START)
    engine = open_index(f"sqlite:///{tmp_path}/i.sqlite")
    summary = run_crawl(engine, load_config(path), adapters={"github": lambda: _github(clock)}, workers=1)
    engine.dispose()
    assert summary.accounts_failed == 5 and summary.requests == 0
    assert sum(clock.sleeps) == 0
    assert sum(": unreachable: cannot resolve api.github.invalid" in f for f in summary.failures) == 3, summary.failures
    assert sum("not tried: github.com was unreachable" in f for f in summary.failures) == 2


@pytest.fixture
def closed_port():
    """A loopback port nobody listens on: connecting is refused at once, for real."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_a_refused_connection_ends_the_account_at_once_on_github_and_gitlab(kind, closed_port):
    clock = FakeClock(START)
    api = f"http://127.0.0.1:{closed_port}" + ("/api/v4" if kind == "gitlab" else "")
    adapter = GitHubAdapter(clock) if kind == "github" else GitLabAdapter(clock)
    crawl = adapter.crawl(Target("forge.example", kind, api, "etalab", "tok"), _known())
    adapter.close()
    assert crawl.status == OutcomeStatus.UNREACHABLE, crawl.error
    assert "connection refused by 127.0.0.1" in (crawl.error or "")
    assert clock.sleeps == [] and crawl.cost.requests == 0


def test_other_connection_failures_are_still_retried_but_not_counted():
    clock = FakeClock(START)
    attempts = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) < 3:
            raise httpx.ConnectError("TLS handshake interrupted", request=request)
        return httpx.Response(200, json={"login": "etalab"})

    http = ForgeHttp(API, "tok", clock=clock, transport=httpx.MockTransport(flaky))
    assert http.request("GET", "orgs/etalab").json() == {"login": "etalab"}
    assert len(clock.sleeps) == 2 and http.cost.requests == 1
    with pytest.raises(HostUnreachable):
        ForgeHttp(API, "tok", clock=clock, transport=httpx.MockTransport(_dns_failure)).request("GET", "x")
