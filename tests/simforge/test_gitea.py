"""The simulated Gitea/Gogs front end speaks each dialect as the real servers do (formats, pagination, auth)."""

from __future__ import annotations

import datetime as dt

import httpx

from simforge.seed import fixture_world
from simforge.server import SimForge
from tests.support import forge_fixture

NOW = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
HOST = "git.example.fr"
AUTH = {"Authorization": "token sim-token"}


forge = forge_fixture(NOW, scope="module")


def client(forge: SimForge, kind: str) -> tuple[httpx.Client, str]:
    forge.world.host(HOST).kind = kind
    return httpx.Client(timeout=5), forge.api_url(HOST)


def test_gitea_search_wraps_data_and_pages_with_link_and_total(forge):
    http, api = client(forge, "gitea")
    first = http.get(f"{api}/repos/search", params={"limit": 50, "sort": "id", "private": "false"})
    body = first.json()
    assert body["ok"] is True and len(body["data"]) == 50
    assert first.headers["x-total-count"] == "126"
    nxt = first.links["next"]["url"]
    assert "private=false" in nxt and "limit=50" in nxt and "page=2" in nxt  # the query is kept
    last = http.get(first.links["last"]["url"])
    assert len(last.json()["data"]) == 26 and "next" not in last.links
    ids = [r["id"] for r in body["data"]]
    assert ids == sorted(ids)
    repo = body["data"][0]
    for key in ("language", "topics", "licenses", "release_counter", "archived", "template", "internal", "empty"):
        assert key in repo
    assert repo["created_at"].endswith("+01:00")  # server-local times, as Gitea renders them


def test_gitea_limit_is_capped_at_fifty_and_defaults_to_thirty(forge):
    http, api = client(forge, "gitea")
    assert len(http.get(f"{api}/orgs/univ/repos", params={"limit": 500}).json()) == 50
    assert len(http.get(f"{api}/orgs/univ/repos").json()) == 30


def test_gogs_search_keyword_quirk_and_link_without_query(forge):
    http, api = client(forge, "gogs")
    empty_q = http.get(f"{api}/repos/search", params={"limit": 50}).json()
    assert empty_q == {"ok": True, "data": []}  # q="" is path.Base → ".": no name here has a dot
    wildcard = http.get(f"{api}/repos/search", params={"q": "_", "limit": 50})
    assert len(wildcard.json()["data"]) == 50 and "x-total-count" not in wildcard.headers
    nxt = wildcard.links["next"]["url"]
    assert nxt.endswith("/api/v1/repos/search?page=2")  # Gogs drops q and limit
    followed = http.get(nxt).json()["data"]
    assert followed == []  # …so following it naively finds nothing
    repo = wildcard.json()["data"][0]
    assert "language" not in repo and "licenses" not in repo and repo["created_at"].endswith("Z")


def test_gogs_token_only_routes(forge):
    http, api = client(forge, "gogs")
    assert http.get(f"{api}/orgs/univ/repos").status_code == 401
    assert http.get(f"{api}/repos/univ/catalogue/contents").status_code == 401
    assert http.get(f"{api}/repos/univ/catalogue/releases").status_code == 200
    listing = http.get(f"{api}/orgs/univ/repos", headers=AUTH)
    assert listing.status_code == 200 and len(listing.json()) == 125 and "link" not in listing.headers
    assert http.get(f"{api}/version").status_code == 404
    assert http.get(f"{api}/orgs/mdupuis").status_code == 200  # Gogs does not check the account is an org


def test_gitea_private_and_empty_answers(forge):
    http, api = client(forge, "gitea")
    assert http.get(f"{api}/repos/univ/prive").status_code == 404
    assert http.get(f"{api}/repos/univ/prive", headers=AUTH).json()["private"] is True
    empty = http.get(f"{api}/repos/univ/vide/commits")
    assert empty.status_code == 409 and empty.json()["message"] == "Git Repository is empty."
    assert http.get(f"{api}/orgs/mdupuis").status_code == 404
    assert http.get(f"{api}/version").json()["version"].startswith("1.")


def test_refused_token_and_counters():
    with SimForge(fixture_world(now=NOW), options={"gitea_tokens": {"good"}}) as forge:
        http, api = client(forge, "gitea")
        assert http.get(f"{api}/orgs/univ", headers={"Authorization": "token bad"}).status_code == 401
        assert http.get(f"{api}/orgs/univ", headers={"Authorization": "token good"}).status_code == 200
        stats = forge.stats()[HOST]
        assert (stats["requests"], stats["rest_points"], stats["status_401"], stats["status_200"]) == (2, 2, 1, 1)
