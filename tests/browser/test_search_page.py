"""The search page of `codeindex serve` in a real headless chromium, on the demo's 9,066 repositories: the listing
loads, a search narrows it, a ministry facet filters it, the next page loads, repository links point to their
forge, account links to their status file; no console error.

Skipped when no chromium is installed, unless CODEINDEX_REQUIRE_BROWSER=1 (CI), where its absence fails.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import warnings

import pytest

from index.serve.app import create_app, open_read_only
from tests.browser.cdp import Browser
from tests.support import wait_until

pytestmark = pytest.mark.slow  # the demo, a real server and a real chromium

warnings.filterwarnings("ignore", message=".*httpx.*")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(demo_export):
    import uvicorn

    url, out = demo_export
    port = _free_port()
    engine = open_read_only(url)
    instance = uvicorn.Server(uvicorn.Config(create_app(engine, out), host="127.0.0.1", port=port,
                                             log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    assert wait_until(lambda: instance.started, timeout=20)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(10)
    engine.dispose()


def _total(browser) -> int:
    text = browser.evaluate("document.getElementById('total').textContent")
    return int(text.split()[0].replace(",", ""))


def _go(browser, expression: str) -> None:
    """Run `expression` (which navigates) and wait for the new page."""
    before = browser.evaluate("location.href")
    browser.evaluate(expression)
    # one evaluation, in one document: two separate ones could read the old page's state and the new page's URL
    loaded = (f"document.readyState === 'complete' && location.href !== {json.dumps(before)} "
              "&& document.getElementById('total') !== null")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if browser.evaluate(loaded) is True:
            return
        time.sleep(0.05)
    raise AssertionError(f"no new page after {expression}")


def test_search_page_on_the_demo(chromium, server, tmp_path):
    browser = Browser(chromium, tmp_path / "profile")
    try:
        browser.open(server + "/")
        assert _total(browser) == 9066
        assert browser.evaluate("document.querySelectorAll('#results li').length") == 20
        assert browser.evaluate("document.querySelector('label[for=q]') !== null")
        _go(browser, "document.getElementById('q').value = 'data'; document.querySelector('form.search').submit()")
        searched = _total(browser)
        assert 0 < searched < 9066
        assert browser.evaluate("document.getElementById('q').value") == "data"
        ministry = browser.evaluate("document.querySelector('a[data-facet=ministry]').textContent")
        _go(browser, "document.querySelector('a[data-facet=ministry]').click()")
        filtered = _total(browser)
        assert 0 < filtered < searched and ministry.endswith(f"({filtered:,})")
        assert "ministry=" in browser.evaluate("location.search") and "q=data" in browser.evaluate("location.search")
        if filtered > 20:
            first = browser.evaluate("[...document.querySelectorAll('a.repo')].map(a => a.href)")
            _go(browser, "document.getElementById('next').click()")
            second = browser.evaluate("[...document.querySelectorAll('a.repo')].map(a => a.href)")
            assert second and not set(first) & set(second)
        links = browser.evaluate("[...document.querySelectorAll('a.repo')].map(a => a.href)")
        assert links and all(link.startswith("https://") and "127.0.0.1" not in link for link in links)
        status = browser.evaluate("document.querySelector('a.account').href")
        assert status.startswith(server + "/data/status/accounts/")
        assert browser.errors == []
    finally:
        browser.stop()
