"""GitLab under faults and across versions: every fault kind retried, a detail that keeps failing never blanks
what the index holds, and GraphQL (recent, 16.x, old) and REST listings give the same records."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.config import load_config
from crawler.forges.base import KnownState
from crawler.forges.gitlab import graphql
from crawler.forges.gitlab.adapter import GitLabAdapter
from crawler.runner import run_crawl
from index.db import open_index
from index.records import OutcomeStatus
from simforge.server import Fault, SimForge
from simforge.world import SimCommit, SimRelease, SimRepo
from tests.crawler.gitlab_support import HOST, NOW, known_from, running, target, world_with
from tests.support import FakeClock, repositories_by, write_config

KINDS = ["500", "502", "503", "reset", "truncated", "invalid_json", "secondary", "429", "timeout"]
STALL = {"timeout_stall_s": 0.3}


def varied_world():
    """Projects with files, licences, languages, releases, old and recent commits, a fork, an empty one."""
    world = world_with({"g": 14, "g/sub": 6})
    sim = world.host(HOST)
    for i, repo in enumerate(sim.repos.values()):
        if i % 3 == 0:
            repo.files = {"README.md": "x", "LICENSE": f"licence {i}",
                          "publiccode.yml": "publiccodeYmlVersion: '0.4'\nname: x\n"}
            repo.license_key = "mit" if i % 2 else "eupl-1.2"
        if i % 4 == 0:
            repo.releases = [SimRelease(f"v{k}", NOW - dt.timedelta(days=k)) for k in range(1, i % 5 + 2)]
            repo.language = "Python"
        if i % 5 == 0:  # idle for more than a year
            repo.commits = [SimCommit(f"{k:040d}", NOW - dt.timedelta(days=400 + k), "Al", f"al{k % 2}@x.org")
                            for k in range(1, 4)]
            repo.pushed_at = repo.commits[0].authored_at
        if i == 7:
            repo.commits, repo.pushed_at, repo.default_branch, repo.files = [], None, None, {}
    sim.add_repo(SimRepo(id=99, namespace="g", name="fork", fork=True, parent_full_name="g/p00000",
                         commits=[SimCommit("f" * 40, NOW - dt.timedelta(days=2), "Fo", "fo@x.org")],
                         pushed_at=NOW - dt.timedelta(days=2)))
    return world


def crawl(forge: SimForge, *, mode: str = "auto", known: KnownState | None = None, **kw):
    graphql.forget_probes()
    kw.setdefault("max_retries", 4)
    adapter = GitLabAdapter(clock=FakeClock(NOW), timeout=2, graphql=mode, **kw)
    return adapter.crawl(target(forge, "g", token="glpat-faults"), known or KnownState())


def by_name(result):
    return {r.full_name: r for r in result.repositories}


def comparable(result):
    """Records without what only says how they were fetched."""
    return {r.full_name: dataclasses.replace(r, kept=frozenset(), marks=None) for r in result.repositories}


@pytest.mark.parametrize("kind", KINDS)
def test_each_fault_kind_on_gitlab_is_retried_to_the_same_records(kind):
    world = varied_world()
    with running(world) as forge:
        clean = crawl(forge)
    with running(world, **STALL) as forge:
        forge.faults.append(Fault(kind, times=3, rate=0.5))
        noisy = crawl(forge)
        fired = forge.stats()[HOST].get(f"fault_{kind}", 0)
    assert fired >= 1
    assert noisy.status is OutcomeStatus.OK and noisy.complete, noisy.error
    assert comparable(noisy) == comparable(clean)
    assert not any(r.stale for r in noisy.repositories)


@pytest.mark.parametrize("mode", ["recent", "16", "old", "none"])
def test_every_gitlab_version_gives_the_rest_records(mode):
    """GraphQL on a recent GitLab, on 16.x (no isForked), on an old one (no languages), and no GraphQL at all:
    record for record (licences, languages, fork parents, signals) what the REST-only crawl gives."""
    world = varied_world()
    with running(world) as forge:
        rest = crawl(forge, mode="never")
    with running(world, gitlab_graphql=mode) as forge:
        listed = crawl(forge)
        stats = forge.stats()[HOST]
    assert comparable(listed) == comparable(rest)
    records = by_name(listed)
    assert records["g/fork"].fork and records["g/fork"].parent_url == f"https://{HOST}/g/p00000"
    assert records["g/p00000"].language == "Python" and records["g/p00000"].license_spdx == "EUPL-1.2"
    if mode != "none":
        assert stats["graphql_queries"] >= 2  # the probe and the listing
        # an old instance asks REST for each changed project's languages too
        assert stats["requests"] < rest.cost.requests / (1.5 if mode == "old" else 2)


def _config(tmp_path, forge):
    return load_config(write_config(tmp_path, [f"{HOST}:", "  forge: gitlab", f"  api_url: {forge.api_url(HOST)}",
                                               "  owners:", "    g:"]))


def _run(engine, tmp_path, forge, **kw):
    graphql.forget_probes()
    return run_crawl(engine, _config(tmp_path, forge), adapters={"gitlab": lambda: GitLabAdapter(clock=FakeClock(NOW), **kw)})


def test_a_detail_that_keeps_failing_is_stale_kept_and_fetched_first_next_time(tmp_path):
    """Commits answer 503 whatever the retries: the crawl still ends ok, the repositories' activity stays as the
    index had it and is flagged stale; the next run fetches those first and clears the flag."""
    world = varied_world()
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    with running(world) as forge:
        _run(engine, tmp_path, forge)
    before = repositories_by(engine)
    active = world.host(HOST).repos[1002]
    active.pushed_at = NOW - dt.timedelta(hours=1)
    active.commits.insert(0, SimCommit("e" * 40, NOW - dt.timedelta(hours=1), "Ed", "ed@x.org"))
    with running(world) as forge:
        forge.faults.append(Fault("503", path_contains="/repository/commits"))
        summary = _run(engine, tmp_path, forge, max_retries=1)
    after = repositories_by(engine)
    assert summary.status == "partial" and summary.stale_repositories == 1
    pushed = after["g/p00001"]
    assert pushed.stale_details == "activity"
    assert pushed.commits_365d == before["g/p00001"].commits_365d  # kept, not blanked
    assert pushed.license_spdx == before["g/p00001"].license_spdx
    with running(world) as forge:
        summary = _run(engine, tmp_path, forge, detail_workers=1)
        sent = forge.stats()[HOST]
    healed = repositories_by(engine)["g/p00001"]
    assert summary.status == "ok" and summary.stale_repositories == 0 and healed.stale_details is None
    assert healed.commits_365d == before["g/p00001"].commits_365d + 1
    # the group, one listing page, the stale project's commits: no probe, the index remembers what GitLab supports
    assert sent["requests"] == 1 + 1 + 1


def test_what_an_instance_supports_is_remembered_a_week_and_asked_again_when_it_changed():
    world = world_with({"g": 3})
    day = dt.timedelta(days=1)
    with running(world) as forge:
        first = crawl(forge)
        memo = {v.key: v for v in first.validators}
        assert graphql.CAPABILITIES_KEY in memo
        graphql.forget_probes()
        forge.reset_stats()
        GitLabAdapter(clock=FakeClock(NOW + 6 * day)).crawl(target(forge, "g"), KnownState(validators=memo))
        assert forge.stats()[HOST]["graphql_queries"] == 1  # the listing: no probe within the week
        forge.reset_stats()
        GitLabAdapter(clock=FakeClock(NOW + 8 * day)).crawl(target(forge, "g"), KnownState(validators=memo))
        assert forge.stats()[HOST]["graphql_queries"] == 2  # asked again after a week
    with running(world, gitlab_graphql="none") as forge:  # GraphQL switched off since the memo was written
        graphql.forget_probes()
        result = GitLabAdapter(clock=FakeClock(NOW)).crawl(target(forge, "g"), KnownState(validators=memo))
    assert result.status is OutcomeStatus.OK and len(result.repositories) == 3
    assert '"graphql": false' in {v.key: v for v in result.validators}[graphql.CAPABILITIES_KEY].memo


def test_a_first_crawl_leaves_a_failed_detail_unknown_never_wrong():
    world = varied_world()
    with running(world) as forge:
        forge.faults.append(Fault("502", path_contains="/api/v4/projects/1001"))  # its licence and publiccode.yml
        result = crawl(forge, max_retries=1)
    assert result.status is OutcomeStatus.OK
    assert result.error.startswith("1 repository keeps older details") and "licence (1), publiccode (1)" in result.error
    licensed = by_name(result)["g/p00000"]
    assert licensed.stale == {"licence", "publiccode"} and licensed.license_spdx is None
    assert licensed.signals.publiccode is None
    assert licensed.signals.has_license is True and licensed.signals.releases_count == 1  # the listing's details


def test_a_refused_complexity_or_a_timeout_halves_the_page():
    world = world_with({"g": 30})
    with running(world, gitlab_graphql_tree_limit=8) as forge:
        result = crawl(forge)
        stats = forge.stats()[HOST]
    assert result.status is OutcomeStatus.OK and len(result.repositories) == 30
    assert stats["status_503"] >= 1  # 100 → 50 → 25 → 12 → 6 projects a page
    with running(world, gitlab_graphql_max_complexity=60) as forge:
        small = crawl(forge)
    assert small.status is OutcomeStatus.OK and comparable(small) == comparable(result)


def test_the_warm_crawl_of_an_unchanged_gitlab_asks_no_licence_and_no_commits():
    world = varied_world()
    with running(world) as forge:
        cold = crawl(forge)
        forge.reset_stats()
        warm = crawl(forge, known=known_from(cold, NOW))
        paths = forge.stats()[HOST]
    assert warm.status is OutcomeStatus.OK
    assert paths["requests"] == 1 + 1 + 1  # probe (forgotten on purpose), group, one listing page
    assert all(not r.stale for r in warm.repositories)


def test_no_graphql_probe_result_is_shared_by_the_accounts_of_one_instance():
    world = world_with({"a": 1, "b": 1})
    with running(world, gitlab_graphql="none") as forge:
        graphql.forget_probes()
        adapter = GitLabAdapter(clock=FakeClock(NOW))
        first = adapter.crawl(target(forge, "a"), KnownState())
        second = adapter.crawl(target(forge, "b"), KnownState())
        stats = forge.stats()[HOST]
    assert first.status is second.status is OutcomeStatus.OK
    assert stats["status_404"] == 1  # one probe for the instance, then REST for both


@pytest.mark.slow  # the CLI's real clock waits out the retries' backoff
def test_crawl_json_and_exit_status_three_when_details_are_stale(tmp_path):
    world = varied_world()
    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    with running(world) as forge:
        config = write_config(tmp_path, [f"{HOST}:", "  forge: gitlab", f"  api_url: {forge.api_url(HOST)}",
                                         "  owners:", "    g:"])
        forge.faults.append(Fault("503", path_contains="/repository/commits"))
        graphql.forget_probes()
        stale = CliRunner().invoke(main, ["--db", db, "--config", str(config), "crawl", "--json"])
        forge.faults.clear()
        graphql.forget_probes()
        fine = CliRunner().invoke(main, ["--db", db, "--config", str(config), "crawl", "--json"])
    summary = json.loads(stale.stdout)
    assert stale.exit_code == 3 and summary["status"] == "partial" and summary["stale_repositories"] >= 1
    assert summary["accounts_ok"] == 1 and "keep older details" in summary["failures"][0]
    assert fine.exit_code == 0 and json.loads(fine.stdout)["stale_repositories"] == 0


def test_an_unchanged_gitlab_recrawl_rewrites_no_repository_row(tmp_path):
    """The GraphQL listing carries files and releases at every crawl: found as stored, a row is only touched."""
    from sqlalchemy import event

    world = varied_world()
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    with running(world) as forge:
        _run(engine, tmp_path, forge)
        before = {name: row.signals_at for name, row in repositories_by(engine).items()}
        statements: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda c, cur, sql, *a: statements.append(sql))
        summary = _run(engine, tmp_path, forge)
    after = repositories_by(engine)
    assert summary.status == "ok" and summary.repos_updated == 0 and summary.repos_new == 0
    assert not [s for s in statements if s.lstrip().upper().startswith("INSERT INTO REPOSITORIES")]
    assert all(after[name].signals_at >= before[name] for name in before if before[name] is not None)


@pytest.mark.parametrize("mode", ["auto", "never"])
@pytest.mark.parametrize("kind", ["invalid_json", "truncated"])
def test_a_proxy_page_instead_of_a_raw_file_is_retried_not_parsed(kind, mode):
    """publiccode.yml comes as a raw file, not JSON: a 200 carrying a proxy's HTML page is still no publiccode.yml."""
    world = varied_world()
    with running(world) as forge:
        clean = crawl(forge, mode=mode)
    with running(world, **STALL) as forge:
        forge.faults.append(Fault(kind, path_contains="/raw", times=2))
        noisy = crawl(forge, mode=mode)
        fired = forge.stats()[HOST].get(f"fault_{kind}", 0)
    assert fired == 2 and noisy.status is OutcomeStatus.OK
    assert comparable(noisy) == comparable(clean)
