"""The Gitea/Forgejo/Gogs adapter against the simulated forge over loopback, in both dialects."""

from __future__ import annotations

import datetime as dt
import math
import socket

import pytest

from crawler.forges.base import KnownRepo, KnownState, Target
from crawler.forges.common import EMPTY_SIGNALS, parse_time
from crawler.forges.gitea.adapter import GiteaAdapter
from crawler.forges.gitea.mapping import licence_of, main_language
from index.records import AccountCrawl, AccountKind, OutcomeStatus, Visibility
from simforge.seed import fixture_world
from simforge.server import Fault, SimForge
from tests.support import FakeClock, by_name, forge_fixture

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
HOST = "git.example.fr"
TOKEN = "gitea-test-token-0123456789abcdef"


forge = forge_fixture(NOW)


def crawl(forge: SimForge, kind: str, login: str | None, token: str | None = None,
          known: KnownState | None = None, **kw: object) -> AccountCrawl:
    forge.world.host(HOST).kind = kind
    adapter = GiteaAdapter(clock=FakeClock(NOW), **kw)  # type: ignore[arg-type]
    return adapter.crawl(Target(HOST, kind, forge.api_url(HOST), login, token), known or KnownState())


def expected_detail_requests(forge: SimForge, namespace: str | None, *, private: bool) -> int:
    """Gitea: root listing + one commit page per non-empty repository, + releases and publiccode when present."""
    total = 0
    for repo in forge.world.host(HOST).repos.values():
        if (namespace and repo.namespace != namespace) or (repo.visibility != "public" and not private):
            continue
        if not repo.empty:
            total += 2 + (1 if repo.releases else 0) + (1 if "publiccode.yml" in repo.files else 0)
    return total


# pure mapping ---------------------------------------------------------------------------------------------------
def test_licences_are_current_spdx_ids():
    assert licence_of({"licenses": ["MIT"]}) == "MIT"
    assert licence_of({"licenses": ["GPL-3.0-or-later"]}) == "GPL-3.0-or-later"
    assert licence_of({"licenses": ["AGPL-3.0-only", "MIT"]}) == "AGPL-3.0-only"
    assert licence_of({"licenses": ["etalab-2.0"]}) == "etalab-2.0"
    assert licence_of({"licenses": ["CECILL-2.1"]}) == "CECILL-2.1"
    assert licence_of({"licenses": ["LicenseRef-Custom"]}) == "Other"
    assert licence_of({"licenses": ["Nonsense-1.0"]}) == "Other"
    assert licence_of({"licenses": []}) is None
    assert licence_of({}) is None  # Gogs, or Gitea before licence detection: unknown


def test_times_and_languages():
    assert parse_time("2024-05-02T10:00:00+02:00") == dt.datetime(2024, 5, 2, 8, tzinfo=dt.UTC)
    assert parse_time("0001-01-01T00:00:00Z") is None  # Go's zero time
    assert main_language({"Go": 10, "Python": 30, "C": 30}) == "C"


# listing --------------------------------------------------------------------------------------------------------
def test_gitea_org_follows_link_pages_and_maps_every_field(forge):
    result = crawl(forge, "gitea", "univ", TOKEN)
    assert result.status == OutcomeStatus.OK and result.complete
    assert result.account.kind == AccountKind.ORGANIZATION and result.account.repositories_count == 125
    assert result.account.name == "Université du Littoral" and result.account.location == "Dunkerque"
    pages = math.ceil(125 / 50)
    assert result.cost.requests == 1 + pages + expected_detail_requests(forge, "univ", private=True)
    assert forge.stats()[HOST]["requests"] == result.cost.requests
    repos = by_name(result)
    catalogue = repos["catalogue"]
    assert (catalogue.license_spdx, catalogue.language) == ("EUPL-1.2", "Python")
    signals = catalogue.signals
    assert (signals.has_readme, signals.has_license, signals.has_contributing, signals.has_changelog) == (
        True, True, True, True)
    assert signals.publiccode.valid and signals.publiccode.name == "Medusa"
    assert signals.releases_count == 2 and signals.latest_release_at == NOW - dt.timedelta(days=3)
    assert signals.commits_365d >= 1 and signals.last_commit_at is not None
    p3 = repos["projet-003"]
    assert (p3.license_spdx, p3.language, p3.topics, p3.stars, p3.open_issues) == (
        "CECILL-2.1", "C", ("recherche",), 3, 3)
    assert repos["projet-001"].license_spdx == "GPL-3.0-or-later"  # as the forge says
    assert repos["projet-002"].license_spdx is None
    assert repos["archive"].archived is True
    assert repos["projet-003"].updated_at == repos["projet-003"].pushed_at == NOW - dt.timedelta(days=11)


def test_empty_repository_costs_nothing_and_says_so(forge):
    result = crawl(forge, "gitea", "univ")
    empty = by_name(result)["vide"]
    assert empty.empty and empty.pushed_at is None and empty.default_branch is None
    assert empty.signals == EMPTY_SIGNALS
    assert forge.stats()[HOST].get("status_409", 0) == 0  # its commits were never asked for


def test_private_repository_needs_a_token_and_is_recorded_private(forge):
    anonymous = by_name(crawl(forge, "gitea", "univ"))
    assert "prive" not in anonymous and len(anonymous) == 124
    with_token = by_name(crawl(forge, "gitea", "univ", TOKEN))
    assert with_token["prive"].visibility == Visibility.PRIVATE
    assert all(r.visibility == Visibility.PUBLIC for n, r in with_token.items() if n != "prive")
    gogs = by_name(crawl(forge, "gogs", "univ", TOKEN))
    assert gogs["prive"].visibility == Visibility.PRIVATE


def test_fork_parent_and_mirror_origin(forge):
    user = crawl(forge, "gitea", "mdupuis")
    assert user.status == OutcomeStatus.OK and user.account.kind == AccountKind.USER
    fork = by_name(user)["projet-000"]
    assert fork.fork and fork.parent_url == f"{forge.base_url}/{HOST}/univ/projet-000"
    assert fork.owner_path == "mdupuis"
    mirror = by_name(crawl(forge, "gitea", "univ"))["miroir-upstream"]
    assert mirror.fork and mirror.parent_url == "https://github.com/etalab/codegouvfr"
    assert mirror.license_spdx == "AGPL-3.0-only"


@pytest.mark.parametrize("kind", ["gitea", "forgejo", "gogs"])
def test_whole_instance_lists_every_public_repository(forge, kind):
    result = crawl(forge, kind, None, TOKEN)
    assert result.status == OutcomeStatus.OK and result.complete
    assert result.account.kind == AccountKind.INSTANCE and result.login == HOST
    public = [r for r in forge.world.host(HOST).repos.values() if r.visibility == "public"]
    assert {r.forge_id for r in result.repositories} == {r.id for r in public}


def test_gogs_without_token_lists_through_search_and_reads_releases_only(forge):
    result = crawl(forge, "gogs", "univ")
    assert result.status == OutcomeStatus.OK and len(result.repositories) == 124
    stats = forge.stats()[HOST]
    assert stats.get("status_401", 0) == 0  # never asked what Gogs refuses to anonymous callers
    repos = by_name(result)
    catalogue = repos["catalogue"]
    assert catalogue.signals.releases_count == 2 and catalogue.signals.has_readme is None
    assert catalogue.license_spdx is None and catalogue.language is None  # Gogs reports neither
    # pages built here: 1 org + 3 search pages of 50 + one releases request per non-empty repository
    non_empty = sum(1 for r in forge.world.host(HOST).repos_of("univ") if r.visibility == "public" and not r.empty)
    assert result.cost.requests == 1 + 3 + non_empty


def test_gogs_with_token_reads_the_unpaginated_listing_and_files(forge):
    result = crawl(forge, "gogs", "univ", TOKEN)
    assert result.status == OutcomeStatus.OK and len(result.repositories) == 125
    catalogue = by_name(result)["catalogue"]
    assert catalogue.signals.has_publiccode and catalogue.signals.publiccode.valid
    assert catalogue.signals.commits_365d >= 1


# re-crawl -------------------------------------------------------------------------------------------------------
def _known(result: AccountCrawl, signals_at: dt.datetime) -> KnownState:
    return KnownState(repos={r.forge_id: KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at, signals_at,
                                                   r.license_spdx, r.language)
                             for r in result.repositories})


def test_unchanged_recrawl_costs_only_the_listing(forge):
    first = crawl(forge, "gitea", "univ", TOKEN)
    known = _known(first, NOW - dt.timedelta(hours=2))
    second = crawl(forge, "gitea", "univ", TOKEN, known)
    assert second.cost.requests == 1 + 3
    assert all(r.signals is None for r in second.repositories if not r.empty)
    assert by_name(second)["catalogue"].license_spdx == "EUPL-1.2"
    # a push: only that repository is read again
    catalogue = by_name(first)["catalogue"]
    forge.world.push(HOST, catalogue.forge_id, NOW - dt.timedelta(hours=1))
    third = crawl(forge, "gitea", "univ", TOKEN, known)
    assert third.cost.requests == 1 + 3 + 4  # contents, commits, releases, publiccode.yml
    assert by_name(third)["catalogue"].signals.last_commit_at == NOW - dt.timedelta(hours=1)
    # signals older than a day are refreshed even without a change
    stale = crawl(forge, "gitea", "univ", TOKEN, _known(first, NOW - dt.timedelta(hours=30)))
    assert stale.cost.requests == first.cost.requests


def test_unchanged_gogs_recrawl_hands_back_known_licence_and_language(forge):
    first = crawl(forge, "gogs", "univ", TOKEN)
    known = KnownState(repos={r.forge_id: KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at,
                                                    NOW - dt.timedelta(hours=1), "MIT", "Python")
                              for r in first.repositories})
    second = crawl(forge, "gogs", "univ", TOKEN, known)
    assert second.cost.requests == 2  # the organisation and its one-page listing
    some = by_name(second)["projet-003"]
    assert (some.license_spdx, some.language, some.signals) == ("MIT", "Python", None)


# failures -------------------------------------------------------------------------------------------------------
def test_unknown_account_is_not_found(forge):
    result = crawl(forge, "gitea", "nobody")
    assert result.status == OutcomeStatus.NOT_FOUND and not result.complete and result.repositories == ()


def test_refused_token_is_auth_and_never_echoed():
    with SimForge(fixture_world(now=NOW), options={"gitea_tokens": {"the-good-one"}}) as forge:
        for kind in ("gitea", "gogs"):
            result = crawl(forge, kind, "univ", TOKEN)
            assert result.status == OutcomeStatus.AUTH, kind
            assert TOKEN not in (result.error or "")


def test_closed_port_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    adapter = GiteaAdapter(clock=FakeClock(NOW), max_retries=1)
    result = adapter.crawl(Target(HOST, "gitea", f"http://127.0.0.1:{port}/{HOST}/api/v1", "univ", TOKEN),
                           KnownState())
    assert result.status == OutcomeStatus.UNREACHABLE and TOKEN not in (result.error or "")


def test_server_errors_fail_after_retries_on_the_clock():
    with SimForge(fixture_world(now=NOW), faults=[Fault("502", path_contains="/repos")]) as forge:
        clock = FakeClock(NOW)
        forge.world.host(HOST).kind = "gitea"
        adapter = GiteaAdapter(clock=clock, max_retries=2)
        result = adapter.crawl(Target(HOST, "gitea", forge.api_url(HOST), "univ", TOKEN), KnownState())
        assert result.status == OutcomeStatus.FAILED and "502" in result.error
        assert len(clock.sleeps) == 2 and result.cost.requests == 1 + 3


def test_too_many_requests_past_the_allowed_wait_is_rate_limited():
    with SimForge(fixture_world(now=NOW), faults=[Fault("429")]) as forge:
        forge.world.host(HOST).kind = "gitea"
        adapter = GiteaAdapter(clock=FakeClock(NOW), max_wait=0.5)
        result = adapter.crawl(Target(HOST, "gitea", forge.api_url(HOST), "univ"), KnownState())
        assert result.status == OutcomeStatus.RATE_LIMITED and not result.complete
