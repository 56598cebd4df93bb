"""The score's file inputs are found as code.gouv.fr finds them, and no licence points come without a file read."""

import pytest

from crawler.forges.common import tree_flags
from index.score import score


@pytest.mark.parametrize(("name", "found"), [
    ("LICENSE", True), ("LICENSE.md", True), ("license.txt", True), ("COPYING", True), ("COPYING.LESSER", True),
    ("MIT-LICENSE", True), ("LICENCE", False), ("UNLICENSE", False), ("docs", False), ("MY-LICENSE", False),
])
def test_licence_file_as_codegouvfr_matches_it(name, found):
    assert tree_flags([name])["has_license"] is found


def test_no_licence_points_until_the_files_are_read():
    unread = {"license_spdx": "MIT", "has_license": None, "description": "x"}
    assert score(unread) == 0
    assert score({**unread, "has_license": True}) == 1000
    assert score({**unread, "has_license": False}) == 0
