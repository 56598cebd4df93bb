"""The published status folder: files where docs/status.md says, valid JSON, HTML that shows hostile text as text."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser

import pytest

from index.records import Visibility
from index.status.html import build_files, h, is_web_url, link, write_status
from index.status.report import load_status, safe_name
from index.upsert import record_account_crawl, start_run
from tests.index.factories import repo
from tests.index.test_status_scenario import EXPECTED, NOW, SCRIPT, _crawl, build_scenario, validate_against


class Tags(HTMLParser):
    """Every start tag with its attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    return parser


@pytest.fixture
def written(engine, tmp_path):
    build_scenario(engine)
    paths = write_status(engine, tmp_path, now=NOW)
    return tmp_path / "status", paths


def test_files_are_where_documented(written):
    root, paths = written
    names = {p.relative_to(root).as_posix() for p in paths}
    assert {"index.json", "index.html", "accounts/github.com/etalab.json", "accounts/gitlab.com/dinum~2fsub.json",
            "ministries/premier-ministre.json", "ministries/premier-ministre.html",
            "ministries/ministere-de-l-education-nationale-et-de-la-jeunesse.html",
            "ministries/no-ministry.html"} <= names
    assert len([n for n in names if n.startswith("accounts/")]) == len(EXPECTED)
    assert all(p.is_file() for p in paths)


def test_every_json_file_matches_the_schema(written):
    root, paths = written
    for path in paths:
        if path.suffix == ".json":
            validate_against("status.schema.json", json.loads(path.read_text(encoding="utf-8")))
    overview = json.loads((root / "index.json").read_text())
    assert {m["slug"] for m in overview["ministries"]} == {
        "premier-ministre", "ministere-de-l-education-nationale-et-de-la-jeunesse", "no-ministry"}
    etalab = json.loads((root / "accounts/github.com/etalab.json").read_text())
    assert etalab["accounts"][0]["repository_list"][0]["full_name"] == "etalab/badpc"


def test_html_shows_the_why_column_and_links_ministry_pages(written):
    root, _ = written
    page = (root / "index.html").read_text()
    tags = parse(page)
    hrefs = [a.get("href") for t, a in tags.tags if t == "a"]
    assert "ministries/premier-ministre.html" in hrefs
    assert "why not referenced" in page
    text = " ".join(tags.text)
    assert "ignored since 2026-01-01" in text and "401 Bad credentials" in text
    ministry = (root / "ministries/ministere-de-l-education-nationale-et-de-la-jeunesse.html").read_text()
    assert "../index.html" in ministry and "../accounts/github.com/old-org.json" in ministry


def test_script_in_a_description_is_shown_as_text(written):
    root, _ = written
    page = (root / "ministries/premier-ministre.html").read_text()
    assert SCRIPT not in page
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in page
    assert "legal.license: missing &lt;b&gt;key&lt;/b&gt;" in page
    tags = parse(page)
    assert [t for t, _ in tags.tags if t in ("script", "b", "img", "iframe")] == []


def test_hostile_names_and_urls_are_neutralised(engine, tmp_path):
    build_scenario(engine)
    evil = '"><img src=x onerror=alert(1)>'
    run = start_run(engine)
    record_account_crawl(engine, run, _crawl("etalab", [
        repo(70, evil, html_url="javascript:alert(1)", description=SCRIPT, topics=(SCRIPT,)),
        repo(71, "ok", visibility=Visibility.PUBLIC),
    ]), now=NOW)
    files = build_files(load_status(engine, now=NOW))
    for name, data in files.items():
        if not name.endswith(".html"):
            json.loads(data)  # hostile text stays valid JSON
            continue
        tags = parse(data.decode())
        for tag, attrs in tags.tags:
            assert tag not in ("script", "img", "iframe"), (name, tag)
            assert not [k for k in attrs if k.startswith("on")], (name, tag, attrs)
            assert not (attrs.get("href") or "").lower().startswith("javascript:"), (name, attrs)
    page = files["ministries/premier-ministre.html"].decode()
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize(("url", "web"), [
    ("https://github.com/etalab", True), ("HTTP://example.org", True), ("http://x", True),
    ("javascript:alert(1)", False), ("JavaScript://%0aalert(1)", False), (" javascript:alert(1)", False),
    ("\thttps://x", False), ("https:x", False), ("data:text/html,<b>", False), ("", False), (None, False),
])
def test_only_web_urls_become_links(url, web):
    assert is_web_url(url) is web
    assert ("<a " in link(url, "text")) is web


def test_escaping_matches_html_escape():
    for text in ("plain", "a&b", "<tag>", 'say "hi"', "it's", "", "é—"):
        assert h(text) == html.escape(text, quote=True)
    assert h(None) == "—" and h(3) == "3"


def test_safe_names():
    assert safe_name("dinum/sub") == "dinum~2fsub"
    assert safe_name("..") == "~2e."
    assert safe_name("Étalab") == "~c3~a9talab"
    assert safe_name("127.0.0.1:8080") == "127.0.0.1~3a8080"


def test_rewrite_replaces_and_removes_stale_files(written, engine, tmp_path):
    root, _ = written
    stale = root / "ministries" / "renamed-ministry.html"
    stale.write_text("old")
    foreign = root / "README.txt"
    foreign.write_text("kept")
    write_status(engine, tmp_path, now=NOW)
    assert not stale.exists() and foreign.exists()
    assert not list(root.rglob(".*.tmp"))
