"""`codeindex serve`: the API lists exactly what the export holds for the same filter (SQLite and PostgreSQL), the
files under /data/ revalidate, CORS is as configured, and hostile parameters get a 400 naming them, or a safe
answer; the server never writes."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import warnings
from collections import Counter

import pytest

from index.export.build import export_index
from index.serve.app import create_app, open_read_only
from index.serve.params import encode_cursor
from tests.index.test_export import NOW, build_index

warnings.filterwarnings("ignore", message=".*httpx.*")
from starlette.testclient import TestClient  # noqa: E402  (its deprecation notice about httpx is not ours)


@pytest.fixture
def served(engine, tmp_path):
    """The fixture index exported on NOW, and a client of the server on both, as of NOW."""
    build_index(engine)
    out = tmp_path / "export"
    export_index(engine, out, now=NOW)
    exported = json.loads((out / "repositories.json").read_bytes())["repositories"]
    app = create_app(open_read_only(str(engine.url.render_as_string(hide_password=False))), out, now=lambda: NOW,
                     cors_origins=["https://code.gouv.fr"])
    with TestClient(app) as client:
        yield client, exported, out


def walk(client, **params):
    """Every page of a listing, following next_cursor: (items, first page)."""
    first = page = client.get("/api/v1/repositories", params={**params, "limit": 2}).json()
    items = list(page["items"])
    while page["next_cursor"]:
        page = client.get("/api/v1/repositories", params={**params, "limit": 2, "cursor": page["next_cursor"]}).json()
        items += page["items"]
    return items, first


FILTERS = {
    "none": ({}, lambda r: True),
    "forge": ({"forge": "gitlab.com"}, lambda r: r["forge"] == "gitlab.com"),
    "licence": ({"license": "mit"}, lambda r: (r["license"] or "").lower() == "mit"),
    "no licence": ({"license": "none"}, lambda r: not r["license"]),
    "archived": ({"archived": "true"}, lambda r: r["archived"]),
    "not a fork": ({"fork": "false"}, lambda r: not r["fork"]),
    "publiccode": ({"publiccode": "true"}, lambda r: bool(r["files"]["publiccode"])),
    "ministry": ({"ministry": "Premier ministre"}, lambda r: r["ministry"] == "Premier ministre"),
    "no ministry": ({"ministry": "none"}, lambda r: r["ministry"] is None),
    "account": ({"account": "github.com/etalab"}, lambda r: r["forge"] == "github.com"
                and r["owner"]["login"].lower() == "etalab"),
    "language": ({"language": "python"}, lambda r: (r["language"] or "").lower() == "python"),
    "active": ({"active_days": "400"}, lambda r: (r["pushed_at"] or r["updated_at"] or "")
               >= (NOW.replace(microsecond=0) - __import__("datetime").timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")),
}


@pytest.mark.parametrize("sort", ["stars", "name", "activity", "score"])
@pytest.mark.parametrize("case", list(FILTERS))
def test_pages_to_the_end_hold_what_the_export_holds(served, case, sort):
    client, exported, _ = served
    params, keep = FILTERS[case]
    items, first = walk(client, sort=sort, **params)
    urls = [i["url"] for i in items]
    assert len(urls) == len(set(urls)), "a repository on two pages"
    expected = {r["html_url"] for r in exported if keep(r)}
    assert set(urls) == expected
    assert first["total"] == len(expected)
    keys = {"stars": lambda i: -i["stars"], "score": lambda i: -i["score"], "name": lambda i: i["name"],
            "activity": lambda i: "".join(chr(0x10FFFF - ord(c)) for c in (i["last_activity"] or ""))}
    if sort != "name":  # names compare by the database's collation
        assert [keys[sort](i) for i in items] == sorted(keys[sort](i) for i in items)


def test_facets_count_the_current_filter(served):
    client, exported, _ = served
    first = client.get("/api/v1/repositories", params={"fork": "false"}).json()
    kept = [r for r in exported if not r["fork"]]
    facets = first["facets"]
    assert {f["value"]: f["count"] for f in facets["forge"]} == Counter(r["forge"] for r in kept)
    assert {f["value"]: f["count"] for f in facets["ministry"]} == Counter(r["ministry"] for r in kept)
    assert {f["value"]: f["count"] for f in facets["fork"]} == {True: 0, False: len(kept)}
    assert {f["value"]: f["count"] for f in facets["license"]} == Counter(r["license"] for r in kept)


def _words(text):
    return re.findall(r"[^\W_]+", (text or "").casefold())


@pytest.mark.parametrize("q", ["gouv", "open data", "impots", "DATA", "zzzznothing"])
def test_search_finds_every_word_as_a_prefix(served, q):
    client, exported, _ = served
    items, first = walk(client, q=q)
    wanted = _words(q)

    def matches(r):
        tokens = _words(r["name"]) + _words(r["description"]) + [w for t in r["topics"] for w in _words(t)]
        return all(any(t.startswith(w) for t in tokens) for w in wanted)

    assert {i["url"] for i in items} == {r["html_url"] for r in exported if matches(r)}
    assert first["total"] == len(items)


def test_one_repository_accounts_ministries_openapi(served):
    client, exported, _ = served
    some = exported[0]
    found = client.get("/api/v1/repository", params={"url": some["html_url"].upper()}).json()
    assert found["url"] == some["html_url"] and found["full_name"] == some["full_name"]
    assert client.get("/api/v1/repository", params={"url": "https://github.com/no/such"}).status_code == 404
    accounts = client.get("/api/v1/accounts").json()["accounts"]
    listed = {(a["host"], a["login"]): a for a in accounts}
    assert listed[("github.com", "etalab")]["listed"] is True
    assert sum(a["repositories"] for a in accounts) == len(exported)
    assert all(a["status"].startswith("/data/status/accounts/") for a in accounts)
    ministries = client.get("/api/v1/ministries").json()["ministries"]
    assert sum(m["repositories"] for m in ministries) == len(exported)
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/v1/repositories" in spec["paths"]


def test_data_files_revalidate_and_compress(served):
    client, _, out = served
    first = client.get("/data/owners.json", headers={"accept-encoding": "identity"})
    assert first.status_code == 200 and first.content == (out / "codegouvfr" / "owners.json").read_bytes()
    assert first.headers["cache-control"].startswith("public") and first.headers["last-modified"]
    etag = first.headers["etag"]
    again = client.get("/data/owners.json", headers={"if-none-match": etag, "accept-encoding": "identity"})
    assert again.status_code == 304 and again.content == b""
    since = client.get("/data/owners.json", headers={"if-modified-since": first.headers["last-modified"],
                                                     "accept-encoding": "identity"})
    assert since.status_code == 304
    packed = client.get("/data/repositories.json", headers={"accept-encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"  # the export's twin, sent as is
    assert packed.content == (out / "repositories.json").read_bytes()  # (the client unpacks it)
    for path in ("stats_preprod.json", "codegouvfr-forges.csv", "awesome.json", "repos_preprod.json",
                 "stats.json", "status/index.html"):
        assert client.get(f"/data/{path}").status_code == 200, path
    for path in ("nothing.json", "../export/stats.json", "%2e%2e/secret", ".hidden", "codegouvfr/../../x"):
        assert client.get(f"/data/{path}").status_code == 404, path
    assert client.get("/no/such/page").status_code == 404


def test_cors_allows_the_configured_origins_only(served):
    client, _, _ = served
    allowed = client.get("/api/v1/ministries", headers={"origin": "https://code.gouv.fr"})
    assert allowed.headers["access-control-allow-origin"] == "https://code.gouv.fr"
    other = client.get("/api/v1/ministries", headers={"origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    preflight = client.options("/api/v1/repositories", headers={
        "origin": "https://code.gouv.fr", "access-control-request-method": "GET"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["access-control-allow-methods"]


@pytest.mark.parametrize(("params", "parameter"), [
    ({"limit": "1000"}, "limit"), ({"limit": "99999999999999999999"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"limit": "1e3"}, "limit"), ({"sort": "stars; DROP TABLE repositories"}, "sort"),
    ({"archived": "maybe"}, "archived"), ({"active_days": "0"}, "active_days"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"cursor": "W10"}, "cursor"),
    ({"q": "x" * 201}, "q"), ({"forge": "github.com' OR 1=1 --"}, "forge"),
    ({"license": "MIT' OR '1'='1"}, "license"), ({"account": "etalab"}, "account"),
    ({"ministry": "a\x00b"}, "ministry"), ({"orderby": "1"}, "orderby"),
    ({"sort": "activity", "cursor": encode_cursor("activity", "yesterday", 3)}, "cursor"),
    ({"sort": "activity", "cursor": encode_cursor("activity", "2024-13-45T99:99:99Z", 3)}, "cursor"),
])
def test_hostile_parameters_get_a_400_naming_them(served, params, parameter):
    client, _, _ = served
    answer = client.get("/api/v1/repositories", params=params)
    assert answer.status_code == 400
    assert answer.json()["parameter"] == parameter and answer.json()["error"].startswith(parameter)


def test_hostile_text_is_answered_safely(served):
    client, exported, out = served
    for q in ["' OR 1=1 --", '"; DROP TABLE repositories; --', "NEAR(a b)", "*", "ü😀 données", "a\" OR \"b",
              "<script>alert(1)</script>"]:
        answer = client.get("/api/v1/repositories", params={"q": q})
        assert answer.status_code == 200, q
        assert answer.json()["total"] < len(exported) or q == "*"
    page = client.get("/", params={"q": "<script>alert(1)</script>", "ministry": '"><img src=x onerror=alert(1)>'})
    assert page.status_code == 200 and "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text
    bad = client.get("/", params={"limit": "100000"})
    assert bad.status_code == 400 and "limit" in bad.text
    assert client.post("/api/v1/repositories").status_code == 405
    assert client.delete("/data/owners.json").status_code == 405
    ministry = client.get("/api/v1/repositories", params={"ministry": "' OR ''='"}).json()
    assert ministry["total"] == 0
    assert client.get("/api/v1/repositories", params={"q": "gouv"}).json()["total"] > 0  # still all there


def test_the_server_never_writes(tmp_path):
    from index.db import open_index

    url = f"sqlite:///{tmp_path / 'index.sqlite'}"
    engine = open_index(url)
    build_index(engine)
    engine.dispose()
    before = hashlib.sha256((tmp_path / "index.sqlite").read_bytes()).hexdigest()
    reader = open_read_only(url)
    with TestClient(create_app(reader, None, now=lambda: NOW)) as client:
        for path in ("/", "/api/v1/repositories?q=gouv", "/api/v1/accounts", "/api/v1/ministries"):
            assert client.get(path).status_code == 200
        assert client.get("/data/stats.json").status_code == 404  # no export given
    with reader.connect() as connection:
        with pytest.raises(Exception, match="readonly|read-only|query_only|attempt to write"):
            connection.exec_driver_sql("DELETE FROM repositories")
    reader.dispose()
    assert hashlib.sha256((tmp_path / "index.sqlite").read_bytes()).hexdigest() == before


def test_an_index_behind_the_code_is_refused(tmp_path):
    from index.db import IndexDatabaseError, open_index, upgrade

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = open_index(url, migrate=False)
    upgrade(engine, "0004")
    engine.dispose()
    with pytest.raises(IndexDatabaseError, match="codeindex db upgrade"):
        open_read_only(url)


def test_gzip_of_api_answers(served):
    client, _, _ = served
    answer = client.get("/api/v1/accounts", headers={"accept-encoding": "gzip"})
    assert answer.headers.get("content-encoding") == "gzip" and answer.json()["accounts"]
    assert gzip  # the client unpacks it
