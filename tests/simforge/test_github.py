"""The simulated GitHub is indistinguishable from api.github.com for PyGithub and httpx (forge-api-notes §5)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from github import Auth, Github, GithubException, UnknownObjectException

from simforge.github.graphql import query_cost
from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.support import forge_fixture

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


forge = forge_fixture(NOW, scope="module")


def gh(forge, token: str | None = "tok") -> Github:
    return Github(base_url=forge.api_url("github.com"), auth=Auth.Token(token) if token else None, per_page=100,
                  seconds_between_requests=0, timeout=5, retry=None)


def rest(forge, path: str, token: str | None = "tok", **headers: str) -> httpx.Response:
    if token:
        headers["Authorization"] = f"token {token}"
    return httpx.get(forge.api_url("github.com") + path, headers=headers)


def gql(forge, query: str, token: str = "tok", **variables: object) -> httpx.Response:
    return httpx.post(f"{forge.base_url}/github.com/api/graphql", json={"query": query, "variables": variables},
                      headers={"Authorization": f"bearer {token}"})


def test_pygithub_paginates_an_org_over_three_pages(forge):
    repos = list(gh(forge).get_organization("bigorg").get_repos())
    assert len(repos) == 260 and len({r.id for r in repos}) == 260
    assert repos[0].license.spdx_id in {"MIT", "AGPL-3.0", "Apache-2.0", "EUPL-1.2", "GPL-3.0"} or repos[0].license is None


def test_link_header_is_absolute_with_port_and_no_next_on_last_page(forge):
    first = rest(forge, "/orgs/bigorg/repos?per_page=100")
    assert f"127.0.0.1:{forge.port}" in first.headers["link"]
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    assert "per_page=100" in first.headers["link"]
    last = httpx.get(first.links["last"]["url"], headers={"Authorization": "token tok"})
    assert len(last.json()) == 60
    assert 'rel="next"' not in last.headers["link"] and 'rel="prev"' in last.headers["link"]
    assert len(rest(forge, "/orgs/bigorg/repos?per_page=500").json()) == 100  # capped


def test_every_answer_carries_rate_limit_headers_and_rate_limit_is_free(forge):
    before = rest(forge, "/orgs/etalab", token="headers")
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset",
            "x-ratelimit-resource"} <= set(before.headers)
    used = int(before.headers["x-ratelimit-used"])
    body = rest(forge, "/rate_limit", token="headers").json()
    assert body["resources"]["core"]["used"] == used
    assert int(rest(forge, "/orgs/etalab", token="headers").headers["x-ratelimit-used"]) == used + 1
    assert rest(forge, "/orgs/etalab", token=None).headers["x-ratelimit-limit"] == "60"


def test_authenticated_304_is_free_and_counted(forge):
    first = rest(forge, "/repos/etalab/xss-repo", token="etag")
    assert first.headers["etag"].startswith('W/"') and "last-modified" in first.headers
    before = forge.stats()["github.com"].get("not_modified", 0)
    again = rest(forge, "/repos/etalab/xss-repo", token="etag", **{"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-used"] == first.headers["x-ratelimit-used"]
    assert forge.stats()["github.com"]["not_modified"] == before + 1
    anon = rest(forge, "/repos/etalab/xss-repo", token=None)
    anon_again = rest(forge, "/repos/etalab/xss-repo", token=None, **{"If-None-Match": anon.headers["etag"]})
    assert anon_again.status_code == 304
    assert int(anon_again.headers["x-ratelimit-used"]) == int(anon.headers["x-ratelimit-used"]) + 1


def test_renamed_repo_and_account_redirect(forge):
    g = gh(forge)
    repo = g.get_repo("etalab/old-name")
    assert repo.full_name == "etalab/new-name"
    moved = rest(forge, "/repos/etalab/old-name")
    assert moved.status_code == 301 and moved.headers["location"].endswith(f"/repositories/{repo.id}")
    assert g.get_organization("disic").login == "dinum"
    assert rest(forge, "/users/disic").headers["location"].split("/api/v3")[1].startswith("/user/")


def test_not_found_bodies(forge):
    with pytest.raises(UnknownObjectException):
        gh(forge).get_organization("nobody")
    body = rest(forge, "/repos/etalab/nope").json()
    assert body["message"] == "Not Found" and body["status"] == "404"
    assert rest(forge, "/orgs/jdupont").status_code == 404  # a user is not an org


def test_empty_repository_quirks(forge):
    repo = gh(forge).get_repo("etalab/empty-repo")
    assert repo.pushed_at is None
    with pytest.raises(GithubException) as info:
        list(repo.get_commits())
    assert info.value.status == 409 and "empty" in info.value.data["message"]
    assert rest(forge, "/repos/etalab/empty-repo/contributors").status_code == 204
    assert rest(forge, "/repos/etalab/empty-repo/license").status_code == 404


def test_repository_details(forge):
    g = gh(forge)
    fork = g.get_repo("etalab/forked-lib")
    assert fork.fork and fork.parent.full_name == "bigorg/repo-001"
    assert g.get_repo("etalab/odd-licence").license.spdx_id == "NOASSERTION"
    pc = g.get_repo("etalab/with-publiccode")
    assert b"publiccodeYmlVersion" in pc.get_contents("publiccode.yml").decoded_content
    assert pc.get_latest_release().tag_name == "v2.0"
    assert pc.get_license().license.spdx_id == "EUPL-1.2"
    assert {"README.md", "publiccode.yml"} <= {c.name for c in pc.get_contents("")}
    assert pc.get_topics() == [] and pc.subscribers_count == 0
    since = NOW - dt.timedelta(days=365)
    assert pc.get_commits(since=since).totalCount == 3
    assert len(list(pc.get_contributors())) >= 1
    with pytest.raises(UnknownObjectException):
        g.get_repo("etalab/template-repo").get_latest_release()
    assert rest(forge, "/repos/etalab/xss-repo").json()["description"].startswith("Outil <script>")


def test_private_and_internal_need_a_token(forge):
    names = {r.name for r in gh(forge).get_organization("etalab").get_repos()}
    assert {"secret-repo", "internal-repo"} <= names
    anonymous = {r.name for r in gh(forge, None).get_organization("etalab").get_repos()}
    assert not {"secret-repo", "internal-repo"} & anonymous
    assert rest(forge, "/repos/etalab/secret-repo", token=None).status_code == 404
    assert rest(forge, "/repos/etalab/internal-repo").json()["visibility"] == "internal"


def test_primary_limit_403_when_budget_exhausted():
    with SimForge(fixture_world(now=NOW), options={"github_rest_limit": 2}) as small:
        assert rest(small, "/orgs/etalab").status_code == 200
        assert rest(small, "/orgs/etalab").status_code == 200
        over = rest(small, "/orgs/etalab")
        assert over.status_code == 403 and "rate limit exceeded" in over.json()["message"]
        assert over.headers["x-ratelimit-remaining"] == "0"
        assert small.stats()["github.com"]["status_403"] == 1


def test_graphql_runs_any_valid_query(forge):
    query = """query($o: String!) { repository(owner: $o, name: "forked-lib") {
        nameWithOwner isFork parent { nameWithOwner } owner { login __typename }
        codeOfConduct { name } mentionableUsers(first: 3) { totalCount nodes { login } }
        object(expression: "HEAD:README.md") { ... on Blob { text byteSize } } }
      viewer { login } user(login: "jdupont") { login name repositories(first: 5) { totalCount } } }"""
    body = gql(forge, query, o="etalab").json()
    assert "errors" not in body
    repo = body["data"]["repository"]
    assert repo["parent"]["nameWithOwner"] == "bigorg/repo-001" and repo["codeOfConduct"] is None
    assert repo["mentionableUsers"] == {"totalCount": 0, "nodes": []}
    assert repo["object"]["text"].startswith("# forked-lib")
    assert body["data"]["user"]["repositories"]["totalCount"] == 2


def test_graphql_cursor_pagination_and_owner_type(forge):
    query = """query($c: String) { repositoryOwner(login: "bigorg") { __typename
        repositories(first: 100, after: $c) { totalCount pageInfo { hasNextPage endCursor } nodes { databaseId } } } }"""
    seen, cursor = [], None
    while True:
        data = gql(forge, query, c=cursor).json()["data"]["repositoryOwner"]
        assert data["__typename"] == "Organization"
        seen += [n["databaseId"] for n in data["repositories"]["nodes"]]
        if not data["repositories"]["pageInfo"]["hasNextPage"]:
            break
        cursor = data["repositories"]["pageInfo"]["endCursor"]
    assert len(seen) == len(set(seen)) == 260


def test_graphql_limits_and_errors(forge):
    assert gql(forge, '{ organization(login: "bigorg") { repositories(first: 101) { totalCount } } }').json()[
        "errors"][0]["type"] == "EXCESSIVE_PAGINATION"
    missing = gql(forge, '{ organization(login: "nope") { login } }').json()
    assert missing["data"]["organization"] is None and missing["errors"][0]["type"] == "NOT_FOUND"
    assert httpx.post(f"{forge.base_url}/github.com/api/graphql", json={"query": "{ viewer { login } }"}).status_code == 401
    assert "errors" in gql(forge, "{ nope }").json()


def test_graphql_cost_follows_the_documented_formula():
    from graphql import parse

    doc = parse("""{ organization(login: "x") { repositories(first: 100) { nodes {
        issues(first: 50) { nodes { labels(first: 60) { totalCount } } } } } } }""")
    assert query_cost(doc, {}, None)[:2] == (51, 100 + 5000 + 300000)


def test_graphql_rate_limited_inside_200():
    with SimForge(fixture_world(now=NOW), options={"github_graphql_limit": 3}) as small:
        ok = gql(small, '{ rateLimit { cost remaining } organization(login: "etalab") { login } }')
        assert ok.json()["data"]["rateLimit"] == {"cost": 1, "remaining": 2}
        for _ in range(2):
            gql(small, '{ viewer { login } }')
        limited = gql(small, '{ viewer { login } }')
        assert limited.status_code == 200 and limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.json()["errors"][0]["type"] == "RATE_LIMITED"
        assert small.stats()["github.com"]["graphql_points"] == 3
