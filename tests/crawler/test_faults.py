"""Faults on the simulated forge, crawled by the real adapters: every kind is retried with backoff and jitter on
the injected clock; past the retry budget the account is recorded with its cause and the run goes on; and a
crawl under 5% random faults ends with the same export as a fault-free one."""

from __future__ import annotations

import json
import random

import pytest
from sqlalchemy import select

from crawler.config import load_config
from crawler.forges.base import KnownState, Target
from crawler.forges.gitea.adapter import GiteaAdapter
from crawler.forges.github.adapter import GitHubAdapter
from crawler.forges.gitlab.adapter import GitLabAdapter
from crawler.runner import plan, run_crawl
from index.db import open_index, transaction
from index.export.build import export_index
from index.models import Account, AccountOutcome
from index.records import OutcomeStatus
from simforge.seed import fixture_world
from simforge.server import Fault, SimForge
from tests.support import FakeClock, write_config

TRANSIENT = ["500", "502", "503", "reset", "timeout", "truncated", "invalid_json"]
LIMITS = ["secondary", "429"]
STALL = {"timeout_stall_s": 0.8}  # longer than the adapters' client timeout below
TIMEOUT = 0.6


@pytest.fixture(autouse=True, scope="module")
def _graphql_schema_built():
    """The simulated GraphQL builds its schema on first use (seconds): not inside a timed request."""
    from simforge.github.graphql import schema

    schema()


def github(clock: FakeClock, **kw: object) -> GitHubAdapter:
    return GitHubAdapter(clock, timeout=TIMEOUT, **kw)  # type: ignore[arg-type]


def crawl_etalab(forge: SimForge, clock: FakeClock, token: str | None = "tok", **kw: object):
    target = Target("github.com", "github", forge.api_url("github.com"), "etalab", token)
    return github(clock, **kw).crawl(target, KnownState())


@pytest.mark.parametrize("kind", TRANSIENT)
def test_transient_fault_is_retried_with_backoff_and_jitter(kind):
    clock = FakeClock()
    with SimForge(fixture_world(), faults=[Fault(kind, times=2)], options=STALL) as forge:
        result = crawl_etalab(forge, clock)
        assert forge.stats()["github.com"][f"fault_{kind}"] == 2
    assert result.status is OutcomeStatus.OK and result.complete and len(result.repositories) == 12
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 0.75 and 1.0 <= clock.sleeps[1] <= 1.5  # 0.5·2ⁿ plus up to half of it
    assert result.cost.requests == 3


@pytest.mark.parametrize("kind", LIMITS)
def test_rate_limit_fault_waits_retry_after(kind):
    clock = FakeClock()
    with SimForge(fixture_world(), faults=[Fault(kind, times=2)]) as forge:
        result = crawl_etalab(forge, clock)
    assert result.status is OutcomeStatus.OK and result.complete
    assert clock.sleeps == [1.0, 1.0]  # Retry-After: 1, on the injected clock


def test_secondary_limit_without_retry_after_waits_a_minute():
    """The simulated forge's secondary answer carries Retry-After; GitHub's sometimes does not (forge-api-notes
    §1.4): a front server strips it, and the adapter must then wait at least a minute."""
    from tests.crawler.test_secrets import Front

    clock = FakeClock()
    with SimForge(fixture_world(), faults=[Fault("secondary", times=1)]) as forge:
        with Front(forge, drop_headers={"retry-after"}) as front:
            target = Target("github.com", "github", front.api_url("github.com"), "etalab", "tok")
            result = github(clock).crawl(target, KnownState())
    assert result.status is OutcomeStatus.OK and result.complete
    assert clock.sleeps == [60.0]


def _config(tmp_path, forge: SimForge, github_owners=("etalab",), gitlab_owners=("partenaire",), more=()):
    lines = [*more, "github.com:", "  forge: github", f"  api_url: {forge.api_url('github.com')}",
             "  token_env: CODEINDEX_FAULT_TOKEN", "  owners:", *[f"    {o}:" for o in github_owners],
             "gitlab.example.org:", "  forge: gitlab", f"  api_url: {forge.api_url('gitlab.example.org')}",
             "  token_env: CODEINDEX_FAULT_TOKEN", "  owners:", *[f"    {o}:" for o in gitlab_owners]]
    return load_config(write_config(tmp_path, lines))


def _outcomes(engine, run_id):
    """(GitHub account's outcome, GitLab account's outcome): (status, error, complete) each."""
    with transaction(engine) as session:
        rows = session.execute(select(AccountOutcome, Account.login).join(Account)
                               .where(AccountOutcome.run_id == run_id)).all()
        by_login = {login: (o.status, o.error, o.complete) for o, login in rows}
    return by_login["etalab"], by_login["partenaire"]


CAUSES = {
    "500": ("failed", "HTTP 500 from /github.com/api/graphql after 3 attempts"),
    "502": ("failed", "HTTP 502 from /github.com/api/graphql after 3 attempts"),
    "503": ("failed", "HTTP 503 from /github.com/api/graphql after 3 attempts"),
    "reset": ("failed", "after 3 attempts"),
    "timeout": ("failed", "ReadTimeout after 3 attempts"),
    "truncated": ("failed", "after 3 attempts"),
    "invalid_json": ("failed", "JSONDecodeError after 3 attempts"),
    "secondary": ("rate_limited", "(HTTP 403) 5 times in a row"),
    "429": ("rate_limited", "(HTTP 429) 5 times in a row"),
}


@pytest.mark.parametrize("kind", sorted(CAUSES))
def test_past_the_retry_budget_the_account_fails_with_its_cause_and_the_run_goes_on(kind, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEINDEX_FAULT_TOKEN", "tok-faults")
    clock = FakeClock()
    with SimForge(fixture_world(), faults=[Fault(kind, host="github.com")], options=STALL) as forge:
        engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
        summary = run_crawl(engine, _config(tmp_path, forge),
                            adapters={"github": lambda: github(clock, max_retries=2),
                                      "gitlab": lambda: GitLabAdapter(clock=clock)})
    status, cause = CAUSES[kind]
    (gh_status, gh_error, gh_complete), (gl_status, _, gl_complete) = _outcomes(engine, summary.run_id)
    assert gh_status == status and cause in gh_error and not gh_complete
    assert "tok-faults" not in gh_error
    assert gl_status == "ok" and gl_complete  # the run went on with the next account
    assert summary.status == "partial"


def test_graphql_rate_limited_and_primary_exhaustion_past_the_wait_are_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("CODEINDEX_FAULT_TOKEN", "tok-faults")
    clock = FakeClock()
    with SimForge(fixture_world(), options={"github_graphql_limit": 1}) as forge:
        engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
        summary = run_crawl(engine, _config(tmp_path, forge),
                            adapters={"github": lambda: github(clock), "gitlab": lambda: GitLabAdapter(clock=clock)})
    (gh_status, gh_error, _), (gl_status, _, _) = _outcomes(engine, summary.run_id)
    assert gh_status == "rate_limited" and "graphql rate limit of 127.0.0.1 spent on the token" in gh_error
    assert "resets at" in gh_error and gl_status == "ok"

    monkeypatch.delenv("CODEINDEX_FAULT_TOKEN")
    with SimForge(fixture_world(), options={"github_anon_limit": 3}) as forge:
        engine = open_index(f"sqlite:///{tmp_path / 'anon.sqlite'}")
        summary = run_crawl(engine, _config(tmp_path, forge),
                            adapters={"github": lambda: github(clock), "gitlab": lambda: GitLabAdapter(clock=clock)})
        sent = forge.stats()["github.com"]["requests"]
    (gh_status, gh_error, _), (gl_status, _, _) = _outcomes(engine, summary.run_id)
    assert gh_status == "rate_limited" and "core rate limit of 127.0.0.1 spent on anonymous access" in gh_error
    assert sent == 3  # the 4th request was never sent: the budget said 0
    assert gl_status == "ok"


# --------------------------------------------------------------------------------------------------------------
# a whole crawl under random faults

RANDOM_KINDS = ["500", "502", "503", "reset", "truncated", "invalid_json", "secondary", "429", "timeout"]
PER_RUN_FIELDS = {"generated_at", "first_seen", "last_seen", "signals_at", "last_attempt_at", "last_success_at"}


def normalised_export(engine, out_dir) -> dict[str, object]:
    """repositories.json and organisations.json without the export date and per-run fields."""
    export_index(engine, out_dir, gzip=False)

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in PER_RUN_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return {name: strip(json.loads((out_dir / name).read_text())) for name in ("repositories.json",
                                                                                "organisations.json")}


def export_differences(noisy: dict[str, object], clean: dict[str, object]) -> list[object]:
    """The first records that differ, field by field: what a failure must show."""
    out: list[object] = []
    for name, key in (("repositories.json", "repositories"), ("organisations.json", "organisations")):
        left = {json.dumps(r.get("html_url") or r.get("url") or r.get("login")): r for r in noisy[name].get(key, [])}
        right = {json.dumps(r.get("html_url") or r.get("url") or r.get("login")): r for r in clean[name].get(key, [])}
        out += [(name, "only noisy", k) for k in left.keys() - right.keys()]
        out += [(name, "only clean", k) for k in right.keys() - left.keys()]
        for k in left.keys() & right.keys():
            if left[k] != right[k]:
                out.append((name, k, {f: (left[k].get(f), right[k].get(f)) for f in left[k].keys() | right[k].keys()
                                      if left[k].get(f) != right[k].get(f)}))
    return out[:5]


def _world_config(tmp_path, forge):
    """Every host of the fixture world: GitHub, GitLab and a Gogs instance crawled whole."""
    gh = sorted(a.path for a in forge.world.host("github.com").accounts.values())
    gogs = ["git.example.fr:", "  forge: gogs", f"  api_url: {forge.api_url('git.example.fr')}"]
    return _config(tmp_path, forge, github_owners=gh, gitlab_owners=("ministere", "partenaire", "jean.dupont"),
                   more=gogs)


@pytest.mark.parametrize("gitlab_api", ["graphql", "rest"])
def test_five_percent_random_faults_end_with_the_fault_free_export(gitlab_api, tmp_path, monkeypatch):
    monkeypatch.setenv("CODEINDEX_FAULT_TOKEN", "tok-faults")
    world = fixture_world()
    clock = FakeClock()
    mode = "auto" if gitlab_api == "graphql" else "never"
    adapters = {"github": lambda: github(clock),
                "gitlab": lambda: GitLabAdapter(clock=clock, max_retries=6, graphql=mode),
                "gogs": lambda: GiteaAdapter(clock, max_retries=6)}
    with SimForge(world) as clean:
        config = _world_config(tmp_path, clean)
        reference_db = open_index(f"sqlite:///{tmp_path / 'clean.sqlite'}")
        reference = run_crawl(reference_db, config, adapters=adapters)
        assert reference.status == "ok"
        port = clean.port  # Gogs answers its web URLs with the host it is reached at: the same port for both
    # every kind on every host: a proxy in front of a GitLab or a Gogs may answer anything
    faults = [Fault(kind, rate=0.05, host=host) for kind in RANDOM_KINDS
              for host in ("github.com", "gitlab.example.org", "git.example.fr")]
    with SimForge(world, faults=faults, seed=2026, options=STALL, port=port) as noisy:
        config = _world_config(tmp_path, noisy)
        engine = open_index(f"sqlite:///{tmp_path / 'noisy.sqlite'}")
        random.seed(2026)
        summary = run_crawl(engine, config, adapters=adapters)
        fired = {k: v for k, v in noisy.stats().get("github.com", {}).items() if k.startswith("fault_")}
        fired_gl = {k: v for k, v in noisy.stats().get("gitlab.example.org", {}).items() if k.startswith("fault_")}
        fired_gogs = {k: v for k, v in noisy.stats().get("git.example.fr", {}).items() if k.startswith("fault_")}
    print(f"faults fired: github {fired}, gitlab {fired_gl}, gogs {fired_gogs}; failures {summary.failures}")
    assert sum(fired_gl.values()) >= 3 and sum(fired_gogs.values()) >= 1, "the faults must actually fire"
    assert summary.status == "ok", summary.failures  # one run suffices: no account ended failed
    noisy_export = normalised_export(engine, tmp_path / "noisy")
    clean_export = normalised_export(reference_db, tmp_path / "clean")
    assert noisy_export == clean_export, export_differences(noisy_export, clean_export)
    assert plan(config)  # the configuration planned every account
