"""The token pool against the simulated GitHub: a spent token hands over to the next before anything waits, a
reserve is kept, nothing is sent on a budget known to be spent, and waits go through the injected clock."""

from __future__ import annotations

import logging

import httpx
import pytest

from crawler.forges.base import KnownState, RateLimitExhausted, Target
from crawler.forges.github.adapter import OWNER_QUERY, GitHubAdapter
from crawler.forges.http import ForgeHttp, TokenPool
from index.records import OutcomeStatus
from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.support import FakeClock


class Clock(FakeClock):
    """Starts at the real time (the simulated forge's resets are real epochs); sleeping a minute or more opens a
    new window on the simulated forge's budgets (refilled, resetting an hour later on this clock), as time would."""

    def __init__(self, forge: SimForge | None = None):
        super().__init__()
        self.forge = forge

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.forge is not None and seconds >= 60:
            for state in self.forge.states.values():
                with state.lock:
                    for entry in state.budgets.values():
                        entry.update(used=0, reset=int(self.time()) + 3600)


def _crawl(forge: SimForge, login: str, token: str | None, clock: Clock, **kw: object):
    target = Target("github.com", "github", forge.api_url("github.com"), login, token)
    return GitHubAdapter(clock, **kw).crawl(target, KnownState())  # type: ignore[arg-type]


def _used(forge: SimForge, resource: str, token: str) -> int:
    return forge.states["github.com"].budgets.get(f"{resource}:{token}", {}).get("used", 0)


def test_parse_pool():
    pool = TokenPool.parse(" tok-a, tok-b ,,tok-a")
    assert pool.tokens == ["tok-a", "tok-b"] and len(pool) == 2 and pool.current == "tok-a"
    assert len(TokenPool.parse("")) == 0 and TokenPool.parse(None).current is None


def test_graphql_rate_limited_in_a_200_moves_to_the_next_token():
    with SimForge(fixture_world(), options={"github_graphql_limit": 18}) as forge:
        # another consumer of tok-a left it 3 points: the crawler does not know it yet
        for _ in range(3):
            httpx.post(forge.base_url + "/github.com/api/graphql", headers={"Authorization": "token tok-a"},
                       json={"query": OWNER_QUERY, "variables": {"login": "etalab", "since": "2020-01-01T00:00:00Z",
                                                                  "first": 100}}).raise_for_status()
        forge.reset_stats()
        clock = Clock()
        result = _crawl(forge, "bigorg", "tok-a,tok-b", clock, reserve=0)
        assert result.status is OutcomeStatus.OK and result.complete and len(result.repositories) == 260
        assert clock.sleeps == []  # switched, never waited
        assert _used(forge, "graphql", "tok-b") == 15  # three pages of 5 points on the second token
        assert forge.stats()["github.com"]["requests"] == 4  # one RATE_LIMITED answer, then three pages
        assert result.cost.graphql_points == 15


def test_rest_reserve_is_kept_then_next_token_then_no_request_on_a_spent_pool():
    with SimForge(fixture_world(), options={"github_rest_limit": 100}) as forge:
        http = ForgeHttp(forge.api_url("github.com"), "tok-a,tok-b", clock=Clock(), reserve=5, max_wait=60)
        for _ in range(190):
            assert http.request("GET", "orgs/etalab").status_code == 200
        assert _used(forge, "core", "tok-a") == 95  # the last 5 points of tok-a were kept
        assert _used(forge, "core", "tok-b") == 95
        sent = forge.stats()["github.com"]["requests"]
        with pytest.raises(RateLimitExhausted) as info:
            http.request("GET", "orgs/etalab")
        assert forge.stats()["github.com"]["requests"] == sent  # nothing sent on a spent pool
        assert "all 2 tokens" in str(info.value) and "tok-" not in str(info.value)


def test_spent_budget_waits_for_the_reset_on_the_injected_clock():
    with SimForge(fixture_world(), options={"github_graphql_limit": 7}) as forge:
        clock = Clock(forge)
        result = _crawl(forge, "bigorg", "tok-a", clock, reserve=0, max_wait=4000)
        assert result.status is OutcomeStatus.OK and result.complete and len(result.repositories) == 260
        assert len(clock.sleeps) == 2 and all(3500 < s <= 3602 for s in clock.sleeps)
        # the budget was known short before each wait: no request was wasted on a RATE_LIMITED answer
        assert forge.stats()["github.com"]["requests"] == 3
        # with the default max wait (120 s) the same crawl stops RATE_LIMITED, keeping the page it read
        forge.states["github.com"].budgets.clear()
        stopped = _crawl(forge, "bigorg", "tok-a", Clock(), reserve=0)
        assert stopped.status is OutcomeStatus.RATE_LIMITED and not stopped.complete
        assert len(stopped.repositories) == 100 and "resets at" in stopped.error


def test_anonymous_crawl_warns_once_per_forge(caplog):
    from crawler.forges.github import adapter as github

    caplog.set_level(logging.WARNING, logger="crawler.forges.github.adapter")
    github.WARNED_ANONYMOUS.discard("github.com")
    with SimForge(fixture_world()) as forge:
        for login in ("etalab", "jdupont"):  # one adapter per thread in the runner: still one warning
            result = GitHubAdapter(Clock()).crawl(Target("github.com", "github", forge.api_url("github.com"), login, None),
                                   KnownState())
            assert result.status is OutcomeStatus.OK and result.complete
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].startswith("no token for github.com: anonymous REST only, 60 requests/hour")


def test_gitlab_gets_the_whole_pool_from_token_env_and_moves_to_the_next_token(tmp_path, monkeypatch):
    """A comma-separated `token_env` is a pool on GitLab too (the runner used to hand over its first token only)."""
    from crawler.config import load_config
    from crawler.runner import plan, token_for

    monkeypatch.setenv("INSTANCE_TOKENS", "glpat-one, glpat-two")
    path = tmp_path / "organisations.yml"
    path.write_text("git.example.org:\n  forge: gitlab\n  token_env: INSTANCE_TOKENS\n  owners:\n    team:\n")
    (unit,) = plan(load_config(path))
    assert token_for(unit.forge) == "glpat-one,glpat-two"
    sent = []

    def gitlab(request: httpx.Request) -> httpx.Response:
        token = request.headers["private-token"]
        sent.append(token)
        remaining = "0" if token == "glpat-one" else "99"
        return httpx.Response(200, json={"id": 1}, headers={"RateLimit-Remaining": remaining,
                                                             "RateLimit-Limit": "2000", "RateLimit-Reset": "3600"})

    clock = FakeClock()
    http = ForgeHttp("https://git.example.org/api/v4", TokenPool.parse(token_for(unit.forge)),
                     auth_scheme="private-token", clock=clock, transport=httpx.MockTransport(gitlab))
    for _ in range(3):
        http.request("GET", "groups/team")
    assert sent == ["glpat-one", "glpat-two", "glpat-two"] and clock.sleeps == []


@pytest.mark.parametrize("value", ["abc", "-5", "1.5"])
def test_a_bad_rate_reserve_is_refused_before_crawling(tmp_path, monkeypatch, value):
    from click.testing import CliRunner

    from crawler.cli import main

    monkeypatch.setenv("CODEINDEX_RATE_RESERVE", value)
    config = tmp_path / "organisations.yml"
    config.write_text("github.com:\n  forge: github\n  owners:\n    etalab:\n")
    db = tmp_path / "i.sqlite"
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{db}", "--config", str(config), "crawl"])
    assert result.exit_code == 2 and "CODEINDEX_RATE_RESERVE must be a whole number" in result.output
    assert repr(value) in result.output and not db.exists()
