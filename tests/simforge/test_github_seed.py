"""Seeds: the real 2021 export becomes a deterministic world on its real hosts; the fixture holds every quirk."""

from __future__ import annotations

import datetime as dt

from simforge.seed import fixture_world, seed_from_codegouvfr
from tests.support import shared_file

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def test_codegouvfr_seed_is_complete_and_deterministic():
    csv = shared_file("data", "codegouvfr", "repositories-2021-11-15.csv")
    world = seed_from_codegouvfr(csv, now=NOW)
    repos = [r for h in world.hosts.values() for r in h.repos.values()]
    assert len(repos) == 9066
    assert world.host("github.com").kind == "github" and world.host("gitlab.inria.fr").kind == "gitlab"
    grenoble = world.host("gricad-gitlab.univ-grenoble-alpes.fr")
    nested = [r for r in grenoble.repos.values() if r.namespace.count("/") >= 2]
    assert nested and all(grenoble.account(r.namespace) for r in nested)
    assert all(a.kind == "group" for a in grenoble.accounts.values())
    assert any(r.commits and r.commits[0].authored_at > NOW - dt.timedelta(days=365) for r in repos)
    again = seed_from_codegouvfr(csv, now=NOW)
    assert [r.version() for h in again.hosts.values() for r in h.repos.values()] == [r.version() for r in repos]


def test_fixture_world_has_every_quirk():
    world = fixture_world(now=NOW)
    gh = world.host("github.com")
    assert len(gh.repos_of("bigorg")) > 250
    names = {r.name: r for r in gh.repos.values()}
    assert names["empty-repo"].empty and names["odd-licence"].license_key == "other"
    assert names["new-name"].previous_full_names and gh.account("dinum").previous_paths
    assert {names["secret-repo"].visibility, names["internal-repo"].visibility} == {"private", "internal"}
    gl = world.host("gitlab.example.org")
    assert gl.account("ministere/dsi/apps") and gl.account("ministere").shared_project_ids
