"""The simulated GitLab speaks API v4 as gitlab.com does: headers, pagination, raw-path ids, errors, throttling."""

from __future__ import annotations

import time
import warnings

import gitlab
import httpx
import pytest

from crawler.forges.base import KnownRepo, KnownState
from crawler.forges.gitlab.adapter import GitLabAdapter
from tests.crawler.gitlab_support import HOST, NOW, running, target, world_with
from tests.support import FakeClock, forge_fixture

FIXTURE_HOST = "gitlab.example.org"


fixture_forge = forge_fixture(NOW, scope="module")


def api(forge, host=FIXTURE_HOST) -> str:
    return forge.api_url(host)


def client(forge, host=FIXTURE_HOST, **kw) -> gitlab.Gitlab:
    return gitlab.Gitlab(f"{forge.base_url}/{host}", timeout=5, **kw)


def test_offset_pagination_headers_and_links():
    world = world_with({"g": 45})
    with running(world) as forge:
        base = api(forge, HOST)
        first = httpx.get(f"{base}/groups/g/projects", params={"per_page": 20})
        last = httpx.get(f"{base}/groups/g/projects", params={"per_page": 20, "page": 3})
        prefix = f"{forge.base_url}/{HOST}/api/v4"
    h = first.headers
    assert (h["x-page"], h["x-per-page"], h["x-next-page"], h["x-prev-page"]) == ("1", "20", "2", "")
    assert (h["x-total"], h["x-total-pages"]) == ("45", "3")
    assert f'<{prefix}/groups/g/projects?per_page=20&page=2>; rel="next"' in h["link"]
    assert 'rel="last"' in h["link"] and 'rel="prev"' not in h["link"]
    assert len(last.json()) == 5 and 'rel="next"' not in last.headers["link"] and last.headers["x-next-page"] == ""


def test_default_per_page_20_and_max_100():
    world = world_with({"g": 130})
    with running(world) as forge:
        assert len(httpx.get(f"{api(forge, HOST)}/groups/g/projects").json()) == 20
        assert len(httpx.get(f"{api(forge, HOST)}/groups/g/projects?per_page=500").json()) == 100


def test_totals_dropped_above_threshold_and_python_gitlab_still_lists_all():
    world = world_with({"g": 30})
    with running(world, gitlab_totals_limit=25) as forge:
        response = httpx.get(f"{api(forge, HOST)}/groups/g/projects?per_page=10")
        assert "x-total" not in response.headers and "x-total-pages" not in response.headers
        assert 'rel="last"' not in response.headers["link"]
        listing = client(forge, HOST, per_page=10).groups.get("g", lazy=True).projects.list(iterator=True)
        assert listing.total is None and len(listing) == 0  # python-gitlab's len() reads x-total
        assert len(list(listing)) == 30


def test_group_of_more_than_ten_thousand_projects_real_threshold():
    world = world_with({"huge": 6000, "huge/a": 2500, "huge/a/b": 1600})
    total = 10_100
    with running(world) as forge:
        head = httpx.get(f"{api(forge, HOST)}/groups/huge/projects?include_subgroups=true&per_page=100")
        assert head.headers["x-next-page"] == "2" and "x-total" not in head.headers
        known = KnownState(repos={r.id: KnownRepo(r.id, r.full_name, r.pushed_at, r.updated_at, NOW)
                                  for r in world.host(HOST).repos.values()})
        crawl = GitLabAdapter(clock=FakeClock(NOW), timeout=10, graphql="never").crawl(target(forge, "huge"), known)
    assert crawl.complete and len(crawl.repositories) == total
    assert crawl.cost.requests == 1 + total // 100  # group + listing pages only: details skipped


def test_group_ids_numeric_or_url_encoded_path_and_raw_routing(fixture_forge):
    base = api(fixture_forge)
    by_path = httpx.get(f"{base}/groups/ministere%2Fdsi%2Fapps").json()
    assert by_path["full_path"] == "ministere/dsi/apps"
    assert httpx.get(f"{base}/groups/{by_path['id']}").json()["full_path"] == "ministere/dsi/apps"
    assert httpx.get(f"{base}/groups/ministere/dsi").status_code == 404  # unencoded slash: not a group id
    missing = httpx.get(f"{base}/groups/nope")
    assert missing.status_code == 404 and missing.json() == {"message": "404 Group Not Found"}


def test_subgroups_and_descendants(fixture_forge):
    gl = client(fixture_forge)
    group = gl.groups.get("ministere", lazy=True)
    assert [g.full_path for g in group.subgroups.list(get_all=True)] == ["ministere/dsi"]
    assert {g.full_path for g in group.descendant_groups.list(get_all=True)} == {"ministere/dsi",
                                                                                   "ministere/dsi/apps"}


def test_with_shared_default_true_and_include_subgroups(fixture_forge):
    gl = client(fixture_forge)
    group = gl.groups.get("ministere", lazy=True)
    direct = {p.path_with_namespace for p in group.projects.list(get_all=True)}
    assert direct == {"ministere/portail", "partenaire/bibliotheque-commune"}
    without = {p.path_with_namespace for p in group.projects.list(get_all=True, with_shared=False,
                                                                   include_subgroups=True)}
    assert "partenaire/bibliotheque-commune" not in without and "ministere/dsi/apps/vide" in without


def test_project_json_shape(fixture_forge):
    gl = client(fixture_forge)
    project = gl.projects.get("ministere/dsi/apps/app-mobile", license=True, statistics=True)
    body = project.attributes
    assert body["web_url"] == "https://gitlab.example.org/ministere/dsi/apps/app-mobile"
    assert body["_links"]["self"] == f"{fixture_forge.base_url}/{FIXTURE_HOST}/api/v4/projects/{body['id']}"
    assert body["license"]["key"] == "agpl-3.0" and "spdx_id" not in body["license"]
    assert body["namespace"]["kind"] == "group" and body["namespace"]["parent_id"] is not None
    assert body["topics"] == body["tag_list"] and "statistics" in body and body["empty_repo"] is False
    listed = gl.projects.list(get_all=False)[0].attributes
    assert "license" not in listed  # the list never carries the licence
    empty = gl.projects.get("ministere/dsi/apps/vide").attributes
    assert empty["default_branch"] is None and empty["empty_repo"] is True


def test_files_raw_encoded_path_and_404(fixture_forge):
    gl = client(fixture_forge)
    project = gl.projects.get("ministere/dsi/apps/app-mobile", lazy=True)
    assert b"publiccodeYmlVersion" in project.files.raw("publiccode.yml", ref="main")
    response = httpx.get(f"{api(fixture_forge)}/projects/ministere%2Fdsi%2Fapps%2Fapp-mobile"
                         "/repository/files/docs%2Fnone.md/raw")
    assert response.status_code == 404 and response.json() == {"message": "404 File Not Found"}


def test_commits_since_and_no_totals(fixture_forge):
    base = api(fixture_forge)
    pid = httpx.get(f"{base}/projects/ministere%2Fportail").json()["id"]
    everything = httpx.get(f"{base}/projects/{pid}/repository/commits")
    assert "x-total" not in everything.headers and len(everything.json()) == 4
    future = httpx.get(f"{base}/projects/{pid}/repository/commits", params={"since": "2100-01-01T00:00:00Z"})
    assert future.json() == []
    # python-gitlab sends datetimes as str(dt): space and +00:00, form-encoded
    gl = client(fixture_forge)
    assert len(gl.projects.get(pid, lazy=True).commits.list(get_all=True, since=str(NOW.replace(year=2020)))) == 4


def test_anonymous_sees_public_only_token_sees_all(fixture_forge):
    anonymous = {p.path for p in client(fixture_forge).groups.get("ministere/dsi", lazy=True).projects.list(get_all=True)}
    authed = {p.path for p in client(fixture_forge, private_token="x").groups.get(
        "ministere/dsi", lazy=True).projects.list(get_all=True)}
    assert "prive" not in anonymous and "interne" not in anonymous and {"prive", "interne"} <= authed
    assert httpx.get(f"{api(fixture_forge)}/projects/ministere%2Fdsi%2Fprive").status_code == 404


def test_version_needs_token_metadata_and_users(fixture_forge):
    base = api(fixture_forge)
    assert httpx.get(f"{base}/version").status_code == 401
    assert client(fixture_forge, private_token="x").version()[0].startswith("18.")
    assert httpx.get(f"{base}/metadata", headers={"PRIVATE-TOKEN": "x"}).json()["enterprise"] is True
    users = httpx.get(f"{base}/users", params={"username": "jean.dupont"}).json()
    assert [u["username"] for u in users] == ["jean.dupont"]
    projects = httpx.get(f"{base}/users/{users[0]['id']}/projects").json()
    assert [p["path_with_namespace"] for p in projects] == ["jean.dupont/notes"]
    assert httpx.get(f"{base}/namespaces/ministere%2Fdsi").json()["kind"] == "group"


def test_keyset_pagination_on_projects():
    world = world_with({"a": 25, "b": 10})
    with running(world) as forge:
        base = api(forge, HOST)
        page = httpx.get(f"{base}/projects", params={"pagination": "keyset", "order_by": "id", "sort": "asc",
                                                     "per_page": 20})
        assert set(page.headers) & {"x-total", "x-page", "x-next-page"} == set()
        assert page.headers["link"].endswith(f'id_after={page.json()[-1]["id"]}>; rel="next"')
        gl = client(forge, HOST, per_page=10, pagination="keyset", order_by="id")
        ids = [p.id for p in gl.projects.list(iterator=True, sort="asc")]
    assert ids == sorted(ids) and len(ids) == 35


def test_throttle_headers_and_429():
    world = world_with({"g": 1})
    clock = FakeClock(NOW.replace(second=50))
    with running(world, gitlab_limit_per_min=2, gitlab_clock=clock.time) as forge:
        url = f"{api(forge, HOST)}/groups/g"
        ok = httpx.get(url)
        assert ok.headers["ratelimit-limit"] == "2" and ok.headers["ratelimit-remaining"] == "1"
        assert ok.headers["ratelimit-name"] == "throttle_unauthenticated_api"
        httpx.get(url)
        refused = httpx.get(url)
        assert refused.status_code == 429 and refused.text.strip() == "Retry later"
        assert refused.headers["retry-after"] == "10" and "ratelimit-resettime" in refused.headers
        clock.sleep(10)
        assert httpx.get(url).status_code == 200
        assert forge.stats()[HOST]["status_429"] == 1 and forge.stats()[HOST]["rest_points"] == 4


def test_python_gitlab_obeys_retry_after():
    """python-gitlab's own 429 handling (the default) retries after Retry-After: the simulator looks real."""
    world = world_with({"g": 1})
    with running(world, gitlab_limit_per_min=1, gitlab_clock=lambda: (time.time() // 60) * 60 + 59.5) as forge:
        gl = client(forge, HOST)
        gl.groups.get("g")
        started = time.perf_counter()
        with pytest.raises(gitlab.exceptions.GitlabGetError) as caught:
            gl.groups.get("g", max_retries=0)
        assert caught.value.response_code == 429 and time.perf_counter() - started < 0.5


def test_no_base_url_warning_from_python_gitlab(fixture_forge):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        listing = client(fixture_forge, per_page=1).groups.get("ministere", lazy=True).projects.list(iterator=True)
        assert len(list(listing)) == 2


def test_moved_project_redirects(fixture_forge):
    world = world_with({"g": 1})
    world.host(HOST).repos[1001].previous_full_names.append("old/p")
    with running(world) as forge:
        response = httpx.get(f"{api(forge, HOST)}/projects/old%2Fp")
    assert response.status_code == 301 and response.headers["location"].endswith("/api/v4/projects/1001")


def test_listing_a_large_group_stays_fast():
    world = world_with({"g": 40_000})
    with running(world) as forge:
        url = f"{api(forge, HOST)}/groups/g/projects?include_subgroups=true&per_page=100"
        httpx.get(url)
        started = time.perf_counter()
        for page in (2, 200, 400):
            assert httpx.get(f"{url}&page={page}").status_code == 200
        assert time.perf_counter() - started < 1.5
