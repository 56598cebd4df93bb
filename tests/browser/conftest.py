"""The browser tests' fixture: the chromium binary, or a skip (a failure under CODEINDEX_REQUIRE_BROWSER=1)."""

from __future__ import annotations

import os

import pytest

from tests.browser.cdp import find_chromium


@pytest.fixture
def chromium():
    binary = find_chromium()
    if binary is None:
        if os.environ.get("CODEINDEX_REQUIRE_BROWSER") == "1":
            pytest.fail("CODEINDEX_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH (set CODEINDEX_REQUIRE_BROWSER=1 to make this a failure)")
    return binary
