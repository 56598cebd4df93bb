"""GitLabAdapter end to end: real python-gitlab against the simulated GitLab over loopback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket

import pytest

from crawler.forges.base import KnownState, Target
from crawler.forges.gitlab.adapter import GitLabAdapter
from index.records import DETAILS, AccountKind, OutcomeStatus, Visibility
from simforge.server import Fault
from simforge.world import SimCommit, SimRelease, SimRepo
from tests.crawler.gitlab_support import HOST, NOW, known_from, running, target, world_with
from tests.support import FakeClock, Gate, forge_fixture

FIXTURE_HOST = "gitlab.example.org"


# the shared fixture world, read-only here: one server for the module
fixture_forge = forge_fixture(NOW, scope="module", gitlab_tokens={"glpat-s3cret"})


def adapter(clock: FakeClock | None = None, **kw) -> GitLabAdapter:
    return GitLabAdapter(clock=clock or FakeClock(NOW), timeout=5, max_retries=1, **kw)


def by_name(crawl):
    return {r.full_name: r for r in crawl.repositories}


def test_nested_subgroups_each_project_once_and_shared_not_attributed(fixture_forge):
    forge = fixture_forge
    crawl = adapter().crawl(target(forge, "ministere", host=FIXTURE_HOST), KnownState())
    assert crawl.status is OutcomeStatus.OK and crawl.complete
    names = [r.full_name for r in crawl.repositories]
    assert len(names) == len(set(names))
    assert set(names) == {"ministere/portail", "ministere/dsi/outils", "ministere/dsi/apps/app-mobile",
                          "ministere/dsi/apps/vide"}  # anonymous: no internal/private; shared one excluded
    assert crawl.account.kind is AccountKind.GROUP and crawl.account.repositories_count == 4
    records = by_name(crawl)
    assert records["ministere/dsi/apps/app-mobile"].owner_path == "ministere/dsi/apps"
    assert records["ministere/dsi/apps/app-mobile"].html_url == "https://gitlab.example.org/ministere/dsi/apps/app-mobile"


def test_deep_nesting_four_levels():
    world = world_with({"a": 2, "a/b": 3, "a/b/c": 4, "a/b/c/d": 5, "other": 3})
    with running(world) as forge:
        crawl = adapter().crawl(target(forge, "a/b"), KnownState())
    assert crawl.complete and len(crawl.repositories) == 12
    assert {r.owner_path for r in crawl.repositories} == {"a/b", "a/b/c", "a/b/c/d"}


def test_licence_language_signals_and_publiccode(fixture_forge):
    forge = fixture_forge
    crawl = adapter(FakeClock(NOW)).crawl(target(forge, "ministere", host=FIXTURE_HOST), KnownState())
    records = by_name(crawl)
    portail = records["ministere/portail"]
    assert portail.license_spdx == "EUPL-1.2" and portail.language == "Python" and portail.topics == ("portail",)
    assert records["ministere/dsi/outils"].license_spdx == "MIT"
    app = records["ministere/dsi/apps/app-mobile"]
    assert app.license_spdx == "AGPL-3.0-only" and app.language == "Kotlin"
    assert app.signals.has_publiccode and app.signals.publiccode.valid and app.signals.has_readme
    assert not app.signals.has_license
    assert app.signals.commits_365d == 4 and app.signals.contributors_365d >= 1
    assert app.signals.last_commit_at is not None and app.pushed_at is not None


def test_empty_project(fixture_forge):
    forge = fixture_forge
    crawl = adapter().crawl(target(forge, "ministere/dsi/apps", host=FIXTURE_HOST), KnownState())
    empty = by_name(crawl)["ministere/dsi/apps/vide"]
    assert empty.empty and empty.pushed_at is None and empty.default_branch is None
    assert empty.signals.commits_365d == 0 and empty.signals.has_readme is False


def test_private_and_internal_only_with_token_and_recorded_with_visibility(fixture_forge):
    forge = fixture_forge
    anonymous = adapter().crawl(target(forge, "ministere/dsi", host=FIXTURE_HOST), KnownState())
    authed = adapter().crawl(target(forge, "ministere/dsi", host=FIXTURE_HOST, token="glpat-s3cret"), KnownState())
    assert "ministere/dsi/prive" not in by_name(anonymous)
    records = by_name(authed)
    assert records["ministere/dsi/prive"].visibility is Visibility.PRIVATE
    assert records["ministere/dsi/interne"].visibility is Visibility.INTERNAL
    assert records["ministere/dsi/outils"].visibility is Visibility.PUBLIC


def test_refused_token_is_auth_and_never_leaks(fixture_forge):
    forge = fixture_forge
    crawl = adapter().crawl(target(forge, "ministere", host=FIXTURE_HOST, token="glpat-leaky"), KnownState())
    assert crawl.status is OutcomeStatus.AUTH and not crawl.complete
    assert "glpat-leaky" not in (crawl.error or "")


def test_unknown_group_and_user_is_not_found(fixture_forge):
    forge = fixture_forge
    crawl = adapter().crawl(target(forge, "nobody-here", host=FIXTURE_HOST), KnownState())
    assert crawl.status is OutcomeStatus.NOT_FOUND and not crawl.complete and crawl.repositories == ()


def test_user_namespace(fixture_forge):
    forge = fixture_forge
    crawl = adapter().crawl(target(forge, "jean.dupont", host=FIXTURE_HOST), KnownState())
    assert crawl.status is OutcomeStatus.OK and crawl.complete
    assert crawl.account.kind is AccountKind.USER and crawl.account.name == "Jean Dupont"
    assert [r.full_name for r in crawl.repositories] == ["jean.dupont/notes"]


def test_fork_flag_and_parent_url():
    world = world_with({"g": 1, "up": 1})
    sim = world.host(HOST)
    sim.add_repo(SimRepo(id=9, namespace="g", name="fork", fork=True, parent_full_name="up/p00000",
                         commits=[], pushed_at=NOW))
    with running(world) as forge:
        crawl = adapter().crawl(target(forge, "g"), KnownState())
    fork = by_name(crawl)["g/fork"]
    assert fork.fork and fork.parent_url == f"https://{HOST}/up/p00000"
    assert not by_name(crawl)["g/p00000"].fork


@pytest.mark.parametrize("graphql", ["auto", "never"])
def test_pagination_across_many_pages(graphql):
    world = world_with({"big": 50, "big/sub": 17})
    with running(world) as forge:
        crawl = adapter(per_page=10, graphql=graphql).crawl(target(forge, "big"), KnownState())
        stats = forge.stats()[HOST]
    assert crawl.complete and len({r.forge_id for r in crawl.repositories}) == 67
    if graphql == "auto":  # probe, group, 7 GraphQL pages; per project: licence, commits (all active)
        assert stats["requests"] == 1 + 1 + 7 + 67 * 2
    else:  # the group, 7 REST pages; per project: get, languages, commits, tree, releases
        assert stats["requests"] == 1 + 7 + 67 * 5
    assert stats["status_200"] == stats["requests"]


@pytest.mark.parametrize("graphql", ["auto", "never"])
def test_recrawl_skips_unchanged_projects_and_counts_requests(graphql):
    world = world_with({"g": 250})
    clock = FakeClock(NOW)
    with running(world) as forge:
        cold = adapter(clock, graphql=graphql).crawl(target(forge, "g"), KnownState())
        known = known_from(cold, NOW - dt.timedelta(hours=2))
        bumped = world.host(HOST).repos[1001]
        bumped.pushed_at = NOW - dt.timedelta(hours=1)
        bumped.commits = [SimCommit("d" * 40, NOW - dt.timedelta(hours=1), "Bo", "bo@example.org"),
                          *bumped.commits]
        warm = adapter(clock, graphql=graphql).crawl(target(forge, "g"), known)
        paths = forge.stats()[HOST]
    records = by_name(warm)
    assert records["g/p00000"].signals.commits_365d == 2
    if graphql == "auto":
        # probe, group, 3 GraphQL pages; per project: licence, commits. Warm: the pushed project's commits only
        # (its licence files did not change); the probe is asked once per instance and process
        assert cold.cost.requests == 1 + 1 + 3 + 250 * 2
        assert warm.cost.requests == 1 + 3 + 1
        assert records["g/p00001"].kept >= {"licence", "activity"} and not records["g/p00001"].stale
    else:
        assert cold.cost.requests == 1 + 3 + 250 * 5  # group, 3 pages; per project: get, languages, commits, tree, releases
        assert warm.cost.requests == 1 + 3 + 5  # only the pushed project is re-read
        assert records["g/p00001"].signals is None and records["g/p00001"].kept == frozenset(DETAILS)
    assert paths["status_200"] == paths["requests"]


def test_whole_instance_keyset():
    world = world_with({"a": 30, "b/c": 25}, users=("zoe",))
    world.host(HOST).add_repo(SimRepo(id=5, namespace="zoe", name="hidden", visibility="internal"))
    with running(world) as forge:
        crawl = adapter(per_page=20).crawl(target(forge, None, token="tok"), KnownState())
    assert crawl.status is OutcomeStatus.OK and crawl.complete
    assert crawl.account.kind is AccountKind.INSTANCE and crawl.login == HOST
    assert len(crawl.repositories) == 55 and 5 not in {r.forge_id for r in crawl.repositories}


def test_group_above_ten_thousand_without_totals():
    """The totals threshold is injected low: past it the listing must still be read whole through Link."""
    world = world_with({"big": 30, "big/x": 15})
    with running(world, gitlab_totals_limit=20) as forge:
        crawl = adapter(per_page=10).crawl(target(forge, "big"), KnownState(repos={}))
    assert crawl.complete and len(crawl.repositories) == 45


def test_rate_limit_budget_waits_for_the_reset_on_the_clock_without_a_429():
    """`RateLimit-Remaining: 0` is read before the next request: the crawl waits for `RateLimit-Reset` (30 s
    away, +1 s) on the injected clock instead of sending a request that would be refused."""
    world = world_with({"g": 3})
    clock = FakeClock(NOW.replace(second=30))
    with running(world, gitlab_limit_per_min=5, gitlab_clock=clock.time) as forge:
        crawl = adapter(clock, detail_workers=1).crawl(target(forge, "g"), KnownState())
        stats = forge.stats()[HOST]
    assert crawl.status is OutcomeStatus.OK and crawl.complete and len(crawl.repositories) == 3
    assert "status_429" not in stats and clock.sleeps and clock.sleeps[0] == 31.0


def test_rate_limit_429_waits_retry_after_on_the_clock():
    """A 429 the budget did not foresee (another client spent it): its `Retry-After` is waited on the clock."""
    world = world_with({"g": 1})
    clock = FakeClock(NOW)
    with running(world) as forge:
        forge.faults.append(Fault("429", times=1))
        crawl = adapter(clock).crawl(target(forge, "g"), KnownState())
        stats = forge.stats()[HOST]
    assert crawl.status is OutcomeStatus.OK and crawl.complete
    assert stats["fault_429"] == 1 and clock.sleeps == [1.0]


@pytest.mark.parametrize("workers", [1, 3])
def test_rate_limit_exhausted_is_rate_limited_and_blanks_nothing(workers):
    """The throttle's window never ends (its clock is frozen): the listing went through, the details did not.
    The account is RATE_LIMITED and every record is stale, so the index keeps what it had for them."""
    world = world_with({"g": 3})
    clock = FakeClock(NOW)
    with running(world, gitlab_limit_per_min=4, gitlab_clock=lambda: NOW.timestamp()) as forge:
        crawl = adapter(clock, detail_workers=workers).crawl(target(forge, "g"), KnownState())
    assert crawl.status is OutcomeStatus.RATE_LIMITED and not crawl.complete
    assert 1 <= len(clock.sleeps) <= workers * 4  # each worker in flight waits out its own 429s, then gives up
    assert len(crawl.repositories) == 3 and all(r.stale == frozenset(DETAILS) for r in crawl.repositories)


def test_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    crawl = GitLabAdapter(clock=FakeClock(NOW), timeout=1, max_retries=0).crawl(
        Target(HOST, "gitlab", f"http://127.0.0.1:{port}/{HOST}/api/v4", "g", token="t0ken"), KnownState())
    assert crawl.status is OutcomeStatus.UNREACHABLE and "t0ken" not in crawl.error


def test_releases_counted():
    world = world_with({"g": 1})
    repo = world.host(HOST).repos[1001]
    repo.releases = [SimRelease(f"v{i}", NOW - dt.timedelta(days=i)) for i in range(1, 4)]
    repo.files = {"README.md": "x", "LICENSE": "MIT", "CHANGELOG.md": "", "CONTRIBUTING.md": ""}
    with running(world) as forge:
        rec = adapter().crawl(target(forge, "g"), KnownState()).repositories[0]
    assert rec.signals.releases_count == 3 and rec.signals.latest_release_at == NOW - dt.timedelta(days=1)
    flags = dataclasses.asdict(rec.signals)
    assert all(flags[k] for k in ("has_readme", "has_license", "has_changelog", "has_contributing"))


def test_project_in_group_namespace_outside_is_dropped_even_if_server_lists_it():
    """A shared project whose namespace is outside the group is not attributed, whatever with_shared does."""
    world = world_with({"g": 2, "other": 1})
    world.host(HOST).account("g").shared_project_ids.append(1003)
    with running(world) as forge:
        crawl = adapter().crawl(target(forge, "g"), KnownState())
    assert {r.full_name for r in crawl.repositories} == {"g/p00000", "g/p00001"}


def _varied_world():
    """30 projects: some with files, publiccode, releases, several commits; two empty ones."""
    world = world_with({"g": 24, "g/sub": 6})
    for i, repo in enumerate(world.host(HOST).repos.values()):
        if i % 3 == 0:
            repo.files = {"README.md": "x", "LICENSE": "MIT", "publiccode.yml": "publiccodeYmlVersion: '0.4'\n"}
            repo.license_key = "mit"
        if i % 4 == 0:
            repo.releases = [SimRelease(f"v{k}", NOW - dt.timedelta(days=k)) for k in range(1, i % 5 + 2)]
            repo.language = "Python"
        if i % 5 == 0:
            repo.commits = [SimCommit(f"{k:040d}", NOW - dt.timedelta(days=k * 50), "Al", f"al{k % 2}@example.org")
                            for k in range(1, 10)]
        if i in (7, 19):
            repo.commits, repo.pushed_at, repo.default_branch, repo.files = [], None, None, {}
    return world


@pytest.mark.parametrize("graphql", ["auto", "never"])
def test_pooled_details_equal_sequential_and_overlap(graphql):
    """The detail pool changes neither the records, their order, nor the request count; it does overlap waits."""
    world = _varied_world()
    with running(world) as forge:
        sequential = adapter(FakeClock(NOW), detail_workers=1, graphql=graphql).crawl(target(forge, "g", token="t"),
                                                                                      KnownState())
        stats = forge.stats()[HOST]
    with running(world) as forge:
        # a project's detail request is answered only once another request is in flight with it (10 s at most):
        # overlapping details go through at once, sequential ones would leave the gate timed out
        gate = Gate(forge, hold=lambda path: "/projects/" in path and "/groups/" not in path,
                    until=lambda gate: gate.peak >= 2, timeout=10)
        pooled = adapter(FakeClock(NOW), detail_workers=8, graphql=graphql).crawl(target(forge, "g", token="t"),
                                                                                  KnownState())
        pooled_stats = forge.stats()[HOST]
    assert pooled.status is OutcomeStatus.OK and pooled.complete and len(pooled.repositories) == 30
    assert pooled.repositories == sequential.repositories  # same records, same (listing) order
    assert pooled.cost == sequential.cost and pooled.cost.requests == pooled_stats["requests"] == stats["requests"]
    if graphql == "never":
        # the two empty projects cost nothing past the listing (it says empty_repo), the 10 publiccode files one each
        assert stats["requests"] == 1 + 1 + 28 * 5 + 10
    else:  # probe, group, one page; 28 licences, 9 active projects' commits, 10 publiccode files
        active = sum(1 for r in pooled.repositories if r.pushed_at and r.pushed_at > NOW - dt.timedelta(days=365))
        assert stats["requests"] == 1 + 1 + 1 + 28 + active + 10
    assert gate.arrived.is_set() and gate.peak >= 2 and not gate.timed_out, "the details did not overlap"
