"""The GitHub adapter against the simulated GitHub over loopback: real httpx/PyGithub, no mocks of our code."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from crawler.forges.base import KnownRepo, KnownState, Target
from crawler.forges.github.adapter import GitHubAdapter
from index.records import AccountCrawl, AccountKind, OutcomeStatus, Visibility
from simforge.seed import fixture_world
from simforge.server import Fault, SimForge
from simforge.world import SimCommit
from tests.support import FakeClock, by_name, forge_fixture

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


forge = forge_fixture(NOW)


def crawl(forge, login, token="tok", known=None, clock=None, api_url=None) -> AccountCrawl:
    target = Target("github.com", "github", api_url or forge.api_url("github.com"), login, token)
    return GitHubAdapter(clock or FakeClock(NOW)).crawl(target, known or KnownState())


def known_from(result: AccountCrawl, signals_at=NOW, previous: KnownState | None = None) -> KnownState:
    repos = dict(previous.repos) if previous else {}
    for r in result.repositories:
        repos[r.forge_id] = KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at,
                                      signals_at if r.signals is not None else repos.get(r.forge_id, None) and
                                      repos[r.forge_id].signals_at)
    return KnownState({v.key: v for v in result.validators}, repos)


def test_cold_crawl_reads_everything_in_one_request_per_100_repos(forge):
    result = crawl(forge, "bigorg")
    assert result.status is OutcomeStatus.OK and result.complete
    assert len(result.repositories) == 260
    assert result.cost.requests == 3 and result.cost.rest_points == 0
    assert result.cost.graphql_points == forge.stats()["github.com"]["graphql_points"] == 15
    assert result.account.kind is AccountKind.ORGANIZATION and result.account.repositories_count == 260
    assert result.account.verified is True and result.account.email == "contact@big.example.org"
    repo = by_name(result)["repo-000"]
    assert repo.license_spdx == "MIT" and repo.topics == ("etat", "t0") and repo.watchers == 0
    assert repo.signals.commits_365d == 3 and repo.signals.has_readme and repo.signals.releases_count == 1
    assert repo.signals.contributors_365d >= 1 and repo.signals.last_commit_at is not None


def test_unchanged_recrawl_is_free_and_yields_unchanged_ids(forge):
    cold = crawl(forge, "bigorg")
    second = crawl(forge, "bigorg", known=known_from(cold))
    assert second.complete and second.cost.graphql_points == 0 and second.cost.rest_points == 4
    assert all(r.signals is None for r in second.repositories)  # fresh signals are kept, not refetched
    forge.reset_stats()
    third = crawl(forge, "bigorg", known=known_from(second, previous=known_from(cold)))
    assert third.status is OutcomeStatus.OK and third.complete
    assert third.repositories == () and len(third.unchanged_ids) == 260
    # the account and its 3 listing pages: four 304s, none of which costs budget
    assert third.cost.requests == third.cost.not_modified == 4
    assert third.cost.rest_points == 0 and third.cost.graphql_points == 0
    stats = forge.stats()["github.com"]
    assert stats["not_modified"] == stats["status_304"] == 4 and stats.get("rest_points", 0) == 0


def test_changed_page_refetches_only_the_pushed_repo(forge):
    cold = crawl(forge, "bigorg")
    known = known_from(crawl(forge, "bigorg", known=known_from(cold)), previous=known_from(cold))
    repo = forge.world.host("github.com").repo_by_path("bigorg/repo-005")
    repo.pushed_at = repo.updated_at = NOW
    repo.commits.insert(0, SimCommit("f" * 40, NOW - dt.timedelta(hours=1), "New Person", "new@example.org"))
    result = crawl(forge, "bigorg", known=known)
    assert result.complete and len(result.unchanged_ids) == 160
    assert len(result.repositories) == 100
    changed = [r for r in result.repositories if r.signals is not None]
    assert [r.name for r in changed] == ["repo-005"]
    assert changed[0].signals.commits_365d == 4 and changed[0].pushed_at == NOW
    assert result.cost.graphql_points == 1  # one aliased repository: 5 connections → minimum cost


def test_stale_signals_are_refreshed_after_a_day(forge):
    cold = crawl(forge, "etalab")
    stale = known_from(cold, signals_at=NOW - dt.timedelta(hours=25))
    result = crawl(forge, "etalab", known=stale)
    assert result.complete and all(r.signals is not None for r in result.repositories)


def test_every_quirk_is_recorded_faithfully(forge):
    repos = by_name(crawl(forge, "etalab"))
    empty = repos["empty-repo"]
    assert empty.empty and empty.pushed_at is None and empty.signals.commits_365d == 0
    assert empty.signals.has_readme is False
    assert repos["odd-licence"].license_spdx == "Other"
    assert repos["forked-lib"].fork and repos["forked-lib"].parent_url == "https://github.com/bigorg/repo-001"
    assert repos["template-repo"].template and repos["archived-repo"].archived
    assert repos["secret-repo"].visibility is Visibility.PRIVATE
    assert repos["internal-repo"].visibility is Visibility.INTERNAL
    good = repos["with-publiccode"].signals
    assert good.has_publiccode and good.publiccode.valid and good.publiccode.license == "AGPL-3.0-or-later"
    assert good.has_license and good.has_contributing and good.has_changelog and good.releases_count == 2
    bad = repos["bad-publiccode"].signals
    assert bad.has_publiccode and bad.publiccode.valid is False and bad.publiccode.error
    assert repos["xss-repo"].description == "Outil <script>alert(1)</script> — données publiques ✓ 日本語 🇫🇷"
    assert repos["xss-repo"].homepage == "https://example.org/?a=1&b=<2>"


def test_rename_keeps_forge_id(forge):
    before = by_name(crawl(forge, "etalab"))["new-name"]
    repo = forge.world.host("github.com").repos[before.forge_id]
    repo.previous_full_names.append(repo.full_name)
    repo.name = "newer-name"
    forge.world.touch()
    after = by_name(crawl(forge, "etalab"))["newer-name"]
    assert after.forge_id == before.forge_id and after.full_name == "etalab/newer-name"


def test_user_account_and_renamed_org(forge):
    user = crawl(forge, "jdupont")
    assert user.status is OutcomeStatus.OK and user.account.kind is AccountKind.USER
    assert {r.name for r in user.repositories} == {"dotfiles", "thesis"}
    renamed = crawl(forge, "disic")
    assert renamed.status is OutcomeStatus.OK and renamed.complete
    assert renamed.login == "disic" and renamed.account.login == "dinum"
    assert {r.full_name for r in renamed.repositories} == {"dinum/franceconnect", "dinum/tchap"}


def test_renamed_org_on_warm_path_follows_301(forge):
    cold = crawl(forge, "dinum")
    warm = crawl(forge, "dinum", known=known_from(cold))
    account = forge.world.host("github.com").account("dinum")
    account.previous_paths.append("dinum")
    account.path = "numerique"
    forge.world.host("github.com").accounts["numerique"] = forge.world.host("github.com").accounts.pop("dinum")
    for repo in forge.world.host("github.com").repos.values():
        if repo.namespace == "dinum":
            repo.namespace = "numerique"
    forge.world.touch()
    result = crawl(forge, "dinum", known=known_from(warm))
    assert result.status is OutcomeStatus.OK and result.account.login == "numerique"


def test_not_found_and_bad_token(forge):
    missing = crawl(forge, "nobody")
    assert missing.status is OutcomeStatus.NOT_FOUND and not missing.complete
    refused = crawl(forge, "etalab", token="bad-secret-123")
    assert refused.status is OutcomeStatus.AUTH and "bad-secret-123" not in (refused.error or "")


def test_unreachable_and_failed_never_leak_the_token(forge):
    clock = FakeClock(NOW)
    down = crawl(forge, "etalab", token="s3cret", clock=clock, api_url="http://127.0.0.1:9/github.com/api/v3")
    assert down.status is OutcomeStatus.UNREACHABLE and "s3cret" not in down.error and not clock.sleeps  # refused: at once
    with SimForge(fixture_world(now=NOW), faults=[Fault("500")]) as broken:
        failed = crawl(broken, "etalab", token="s3cret")
    assert failed.status is OutcomeStatus.FAILED and not failed.complete and "s3cret" not in failed.error


def test_graphql_budget_exhaustion_is_rate_limited():
    with SimForge(fixture_world(now=NOW), options={"github_graphql_limit": 7}) as small:
        result = crawl(small, "bigorg")
    assert result.status is OutcomeStatus.RATE_LIMITED and result.complete is False
    assert len(result.repositories) == 100  # the first page was read and is kept


def test_rest_budget_exhaustion_is_rate_limited():
    with SimForge(fixture_world(now=NOW), options={"github_rest_limit": 3}) as small:
        cold = crawl(small, "bigorg")
        result = crawl(small, "bigorg", known=known_from(cold))
    assert result.status is OutcomeStatus.RATE_LIMITED and not result.complete


def test_anonymous_crawl_uses_rest_and_sees_public_repos_only(forge):
    result = crawl(forge, "etalab", token=None)
    assert result.status is OutcomeStatus.OK and result.complete
    names = set(by_name(result))
    assert "secret-repo" not in names and "internal-repo" not in names and "xss-repo" in names
    assert by_name(result)["with-publiccode"].signals.publiccode.valid
    assert result.cost.rest_points == result.cost.requests and result.cost.graphql_points == 0
    again = crawl(forge, "etalab", token=None, known=known_from(result))
    assert len(again.unchanged_ids) == len(names) and again.cost.not_modified == 1


def test_anonymous_budget_exhaustion():
    with SimForge(fixture_world(now=NOW), options={"github_anon_limit": 5}) as small:
        result = crawl(small, "etalab", token=None)
    assert result.status is OutcomeStatus.RATE_LIMITED and not result.complete


def test_records_are_frozen_values(forge):
    repo = crawl(forge, "jdupont").repositories[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        repo.name = "x"  # type: ignore[misc]
