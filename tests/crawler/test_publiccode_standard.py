"""publiccode.yml validity agrees with the reference parser (italia/publiccode-parser-go) on its own labelled cases.

The cases are ../shared/forgedata/publiccode/parser-testdata (EUPL-1.2, from italia/publiccode-parser-go; see its
PROVENANCE.txt). A crawler validates without the network and without the repository's other files, so the cases
whose verdict hangs on those are listed below, each with the reason; every other case must agree.
"""

import json

import pytest

from crawler.forges.publiccode import parse_publiccode
from tests.support import shared_file

ROOT = shared_file("forgedata", "publiccode", "parser-testdata")
EXPECTED = json.loads(shared_file("forgedata", "publiccode", "parser-testdata", "expected.json").read_text("utf-8"))

# rejected by the parser only because a file next to publiccode.yml is missing or is not an image, or a URL answers 404
NEEDS_FILES_OR_NETWORK = {
    "invalid/description_en_screenshots_missing_file.yml": "screenshot file missing",
    "invalid/legal_authorsFile_missing_file.yml": "authors file missing",
    "invalid/logo_missing_file.yml": "logo file missing",
    "invalid/logo_missing_url.yml": "logo URL answers 404",
    "invalid/monochromeLogo_missing_file.yml": "logo file missing",
    "invalid/no-network/logo_invalid_png.yml": "logo is not a PNG image",
    "invalid/no-network/logo_missing_file.yml": "logo file missing",
    "invalid/no-network/monochromeLogo_invalid_png.yml": "logo is not a PNG image",
}
CASES = sorted(str(p.relative_to(ROOT / "v0")) for p in (ROOT / "v0").rglob("*.yml"))


def verdict_of(case: str) -> bool:
    return not case.startswith("invalid/")


def test_every_labelled_case_is_here():
    assert len(CASES) == 173
    assert {f"testdata/v0/{c}" for c in CASES} >= set(EXPECTED)
    assert set(NEEDS_FILES_OR_NETWORK) <= set(CASES)


@pytest.mark.parametrize("case", [c for c in CASES if c not in NEEDS_FILES_OR_NETWORK])
def test_verdict_agrees_with_the_reference_parser(case):
    info = parse_publiccode((ROOT / "v0" / case).read_bytes())
    assert info.valid is verdict_of(case), info.problems
    if not info.valid:
        assert info.problems and info.error


@pytest.mark.parametrize("case", sorted(NEEDS_FILES_OR_NETWORK))
def test_cases_that_need_files_or_network_are_otherwise_valid(case):
    info = parse_publiccode((ROOT / "v0" / case).read_bytes())
    assert info.valid, info.problems


def _expected(case: str, kind: str) -> set[str]:
    entries = EXPECTED.get(f"testdata/v0/{case}", {}).get("expected") or []
    return {e["key"] for e in entries if e["kind"] == kind}


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("invalid/") and c not in NEEDS_FILES_OR_NETWORK
                                  and EXPECTED.get(f"testdata/v0/{c}", {}).get("expected")])
def test_problems_name_a_key_the_parser_names(case):
    """Where the parser's table lists errors for the file itself, one of ours is on a key it names (the table's
    rows are sometimes shifted by one file, so the check is on the case or its neighbours). The parser places a
    type error on the line's key ("fundedBy.name" for a mapping given as fundedBy), so a key matches its parent."""
    index = CASES.index(case)
    keys: set[str] = set()
    for near in CASES[max(0, index - 1):index + 2]:
        keys |= _expected(near, "error")
    ours = {key for key, _ in parse_publiccode((ROOT / "v0" / case).read_bytes()).problems}
    assert not keys or any(a.startswith(b) or b.startswith(a) for a in ours for b in keys), (ours, keys)


@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("valid_with_warnings/")])
def test_warnings_match_the_parser(case):
    warned = {key for key, _ in parse_publiccode((ROOT / "v0" / case).read_bytes()).warnings}
    assert warned >= _expected(case, "warning")
    assert warned


def test_the_standards_full_example_is_invalid_for_its_video_url():
    info = parse_publiccode(shared_file("forgedata", "publiccode", "publiccode.full.yml").read_bytes())
    assert not info.valid
    assert [key for key, _ in info.problems] == ["description.en.videos[0]"]
