"""`crawl --dry-run`: sends nothing, and its cost models match what the adapters really spend on the simulated
forge (cold and warm, within 25%)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from crawler.config import load_config
from crawler.estimate import ASSUMED_REPOS, estimate_crawl
from crawler.runner import plan, run_crawl
from index.db import open_index
from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.crawler.test_kill import _config

TOKEN_ENV = "KILL_TEST_TOKEN"  # the configuration of tests/crawler/test_kill.py


def _close(estimated: int, real: int) -> bool:
    return abs(estimated - real) <= 0.25 * real


@pytest.fixture
def crawled(tmp_path, monkeypatch):
    """The fixture world crawled once (cold) then again (warm); the simulated forge's counts of each."""
    monkeypatch.setenv(TOKEN_ENV, "tok-estimate")
    with SimForge(fixture_world()) as forge:
        config = load_config(_config(tmp_path, forge))
        engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
        before = {e.host: e for e in estimate_crawl(engine, plan(config))}
        assert run_crawl(engine, config).status == "ok"
        cold = forge.stats()
        warm_estimate = {e.host: e for e in estimate_crawl(engine, plan(config))}
        forge.reset_stats()
        assert run_crawl(engine, config).status == "ok"
        warm = forge.stats()
        yield engine, config, before, cold, warm_estimate, warm


def test_cold_estimate_is_within_a_quarter_of_the_real_cost(crawled):
    engine, config, before, cold, _, _ = crawled
    estimates = {e.host: e for e in estimate_crawl(engine, plan(config), cold=True)}
    github, gitlab = estimates["github.com"], estimates["gitlab.example.org"]
    assert _close(github.requests, cold["github.com"]["requests"])
    assert _close(github.graphql_points, cold["github.com"]["graphql_points"])
    assert github.rest_points == cold["github.com"].get("rest_points", 0) == 0
    assert _close(gitlab.requests, cold["gitlab.example.org"]["requests"])
    # before any crawl every account is an assumption, and the estimate says so
    assert before["github.com"].assumed == 4 and before["gitlab.example.org"].assumed == 3
    assert before["gitlab.example.org"].requests > 3 * ASSUMED_REPOS


def test_warm_estimate_is_within_a_quarter_of_the_real_cost(crawled):
    _, _, _, _, estimate, warm = crawled
    for host in ("github.com", "gitlab.example.org"):
        assert _close(estimate[host].requests, warm[host]["requests"]), (host, estimate[host], warm[host])
        assert _close(estimate[host].rest_points, warm[host].get("rest_points", 0))
    assert estimate["github.com"].graphql_points == warm["github.com"].get("graphql_points", 0) == 0


def test_dry_run_sends_nothing_and_says_how_long_without_a_token(tmp_path):
    with SimForge(fixture_world()) as forge:
        config = _config(tmp_path, forge)
        env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
        done = subprocess.run([sys.executable, "-m", "crawler.cli", "--db", f"sqlite:///{tmp_path / 'i.sqlite'}",
                               "--config", str(config), "crawl", "--dry-run"], capture_output=True, env=env,
                              timeout=60)
        assert forge.stats() == {}  # not one request
    out = done.stdout.decode()
    assert done.returncode == 0, done.stderr.decode()
    assert "dry run: nothing was sent" in out
    assert "no token for github.com: anonymous REST only, 60 requests/hour" in out
    assert "60 requests/hour (no token: anonymous)" in out and "never crawled" in out


def test_a_whole_forge_never_crawled_is_of_unknown_size(tmp_path):
    """Not "9 repositories, under a minute": a forge crawled whole may hold thousands; the estimate says so."""
    from crawler.estimate import format_estimate

    path = tmp_path / "organisations.yml"
    path.write_text("gitlab.inria.fr:\n  forge: gitlab\ngithub.com:\n  forge: github\n  owners:\n    etalab:\n")
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    estimates = {e.host: e for e in estimate_crawl(engine, plan(load_config(path)))}
    engine.dispose()
    inria = estimates["gitlab.inria.fr"]
    assert inria.unknown == 1 and inria.assumed == 0 and inria.requests == 1
    line = inria.line()
    assert "(gitlab, 1 account, never crawled, crawled whole: size unknown): at least 1 request " in line
    assert line.endswith("→ duration unknown (size unknown)")
    text = format_estimate(list(estimates.values()))
    assert "size unknown: 1 whole forge never crawled" in text and "total: at least " in text
    assert "more for the forges of unknown size" in text
    assert "1 accounts" not in text and "1 tokens" not in text
