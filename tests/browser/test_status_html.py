"""The status report in a real headless chromium: it loads, its links work, nothing errors, hostile text is text.

Skipped when no chromium is installed, unless CODEINDEX_REQUIRE_BROWSER=1 (CI), where its absence fails.
Set CODEINDEX_BROWSER_SCREENSHOTS=DIR to keep the screenshots it takes.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from index.db import open_index
from index.status.html import write_status
from tests.browser.cdp import Browser
from tests.index.test_status_scenario import NOW, build_scenario
from tests.support import LoopbackServer

pytestmark = pytest.mark.slow  # a real chromium


@pytest.fixture
def site(tmp_path):
    """The status folder of the scenario, served over loopback HTTP; yields (base URL, folder, requests seen)."""
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    build_scenario(engine)
    write_status(engine, tmp_path / "out", now=NOW)
    engine.dispose()
    seen: list[tuple[str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code="-", size="-"):
            seen.append((self.path, int(code) if str(code).isdigit() else 0))

    with LoopbackServer(functools.partial(Handler, directory=str(tmp_path / "out"))) as server:
        yield f"{server.url}/status/", tmp_path / "out" / "status", seen


def _keep(shot: Path) -> None:
    keep = os.environ.get("CODEINDEX_BROWSER_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_report_in_headless_chromium(chromium, site, tmp_path):
    base, folder, seen = site
    overview = json.loads((folder / "index.json").read_text())
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open(base + "index.html")
        assert browser.errors == []
        assert browser.evaluate("document.title") == "Referencing status"
        assert browser.evaluate("document.scripts.length") == 0
        headers = browser.evaluate("Array.from(document.querySelectorAll('th')).map(t => t.textContent)")
        assert "why not referenced" in headers
        shot = tmp_path / "status-index.png"
        browser.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
        _keep(shot)

        links = browser.evaluate(
            "Array.from(document.querySelectorAll('a[href*=\"ministries/\"]')).map(a => [a.href, a.textContent])")
        expected = {base + m["page"]: m["name"] or "(no ministry)" for m in overview["ministries"]}
        assert {href: text for href, text in links} == expected
        for href, name in sorted(expected.items()):
            browser.open(href)
            assert browser.errors == [], href
            assert browser.evaluate("document.querySelector('h1').textContent") == (
                name if name != "(no ministry)" else "Accounts without a ministry")
            # anchors to each account's section resolve; JSON links answer 200
            assert browser.evaluate(
                "Array.from(document.querySelectorAll('a[href^=\"#\"]'))"
                ".every(a => document.getElementById(decodeURIComponent(a.hash.slice(1))) !== null)")
            json_urls = browser.evaluate(
                "Array.from(document.querySelectorAll('a[href^=\"../accounts/\"]')).map(a => a.href)")
            assert json_urls
            for json_url in json_urls:
                with urllib.request.urlopen(json_url, timeout=5) as answer:
                    assert answer.status == 200 and json.load(answer)["schema_version"] == "1.0"
            back = browser.evaluate("document.querySelector('a[href=\"../index.html\"]').href")
            assert back == base + "index.html"

        browser.open(base + "ministries/premier-ministre.html")
        cells = browser.evaluate("Array.from(document.querySelectorAll('td')).map(t => t.textContent)")
        assert "<script>alert(1)</script>" in cells  # the description, shown as text
        assert browser.evaluate("typeof window.alert1") == "undefined" and browser.errors == []
        shot = tmp_path / "status-premier-ministre.png"
        browser.screenshot(shot)
        _keep(shot)

        assert [path for path, code in seen if code >= 400] == []  # nothing our pages asked for was missing
        browser.open(base + "missing.html")  # the harness itself sees a broken page
        assert any(error.startswith("HTTP 404") for error in browser.errors)
    finally:
        browser.stop()
    assert ("/status/missing.html", 404) in seen
