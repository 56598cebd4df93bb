"""A ministry's progress chart in a real headless chromium: inline SVG, no script, drawn where the page says, with
the table beside it holding the same numbers as stats/ministries/<slug>.json.

Skipped when no chromium is installed, unless CODEINDEX_REQUIRE_BROWSER=1 (CI), where its absence fails.
Set CODEINDEX_BROWSER_SCREENSHOTS=DIR to keep the screenshot it takes.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import json
import os
import shutil
from pathlib import Path

import pytest

from index.db import open_index, transaction
from index.export.build import export_index
from index.records import AccountSpec, ForgeSpec
from index.upsert import record_account_crawl, start_run, sync_configuration
from tests.browser.cdp import Browser
from tests.index.factories import T0, crawl, repo, signals
from tests.support import LoopbackServer

pytestmark = pytest.mark.slow  # a real chromium

CULTURE = "Ministère de la Culture"
DAYS = 12


def _growing_index(engine) -> None:
    """Two accounts of the Culture ministry crawled on DAYS days, a repository more every day, licences and
    publiccode.yml catching up; a third account configured but never crawled."""
    with transaction(engine) as session:
        sync_configuration(session, [ForgeSpec(host="github.com", kind="github", accounts=(
            AccountSpec(login="culturecommunication", ministry=CULTURE),
            AccountSpec(login="pass-culture", ministry=CULTURE),
            AccountSpec(login="not-yet", ministry=CULTURE),
        ))])
    run = start_run(engine)
    for day in range(DAYS):
        now = T0 + dt.timedelta(days=day)
        repos = [repo(n, f"r{n}", owner="culturecommunication",
                      license_spdx="EUPL-1.2" if n < day * 0.8 else None,
                      signals=signals(commits=n % 3, publiccode=n < day // 2))
                 for n in range(4 + day)]
        record_account_crawl(engine, run, crawl("culturecommunication", repos), now=now)
        if day >= 3:
            record_account_crawl(engine, run, crawl("pass-culture", [repo(100, "app", owner="pass-culture")]),
                                 now=now)


def test_ministry_page_draws_its_progress(chromium, tmp_path):
    engine = open_index(f"sqlite:///{tmp_path / 'index.sqlite'}")
    _growing_index(engine)
    out = tmp_path / "out"
    export_index(engine, out, now=T0 + dt.timedelta(days=DAYS - 1, hours=1))
    engine.dispose()
    stats = json.loads((out / "stats" / "ministries" / "ministere-de-la-culture.json").read_text())
    assert len(stats["days"]) == DAYS
    page = out / "status" / "ministries" / "ministere-de-la-culture.html"
    assert "<script" not in page.read_text()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code="-", size="-"):
            pass

    browser = Browser(chromium, tmp_path / "profile")
    with LoopbackServer(functools.partial(Handler, directory=str(out))) as server:
        try:
            browser.open(f"{server.url}/status/ministries/ministere-de-la-culture.html")
            assert browser.errors == []
            assert browser.evaluate("document.scripts.length") == 0
            charts = browser.evaluate(
                "Array.from(document.querySelectorAll('#progress ~ .progress svg[role=img]')).map(s => {"
                " const r = s.getBoundingClientRect();"
                " return [r.width, r.height, s.querySelectorAll('polyline').length, s.querySelector('title').textContent,"
                " s.querySelector('desc').textContent]; })")
            assert [c[2] for c in charts] == [4, 2]  # four repository series, two account series
            assert all(width > 300 and height > 100 for width, height, *_ in charts), charts
            assert charts[0][3] == f"{CULTURE}: repositories per crawl day"
            latest = stats["days"][-1]
            assert f"repositories listed {latest['repositories']}" in charts[0][4]
            # every line is inside its chart: the points were scaled, not clipped
            inside = browser.evaluate(
                "Array.from(document.querySelectorAll('.progress svg')).every(s => {"
                " const box = s.viewBox.baseVal; return Array.from(s.querySelectorAll('polyline')).every(p =>"
                " Array.from(p.points).every(q => q.x >= 0 && q.x <= box.width && q.y >= 0 && q.y <= box.height)); })")
            assert inside
            rows = browser.evaluate(
                "Array.from(document.querySelectorAll('.progress table tbody tr'))"
                ".map(r => Array.from(r.children).map(c => c.textContent))")
            assert len(rows) == DAYS
            newest = rows[0]
            assert newest == [latest["day"], *(str(latest[k]) for k in (
                "repositories", "approved_licence", "active_365d", "publiccode", "accounts_listed",
                "accounts_configured"))]
            assert latest["accounts_configured"] == 3 and latest["accounts_listed"] == 2
            browser.evaluate("document.getElementById('progress').scrollIntoView()")
            shot = tmp_path / "status-ministry-chart.png"
            browser.screenshot(shot)
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
            keep = os.environ.get("CODEINDEX_BROWSER_SCREENSHOTS")
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(shot, Path(keep) / shot.name)
        finally:
            browser.stop()
