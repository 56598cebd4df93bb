"""publiccode.yml parsing: real examples are read; broken or hostile files give valid=False, never raise."""

from importlib import resources

import pytest

from crawler.forges.publiccode import MAX_BYTES, parse_publiccode


def data(name: str) -> str:
    return resources.files("simforge").joinpath("data", name).read_text("utf-8")


def test_full_example():
    info = parse_publiccode(data("publiccode.full.yml"))
    assert info.valid and info.error is None
    assert info.name == "Medusa"
    assert info.license == "AGPL-3.0-or-later"
    assert info.maintenance_type == "contract"
    assert info.description


def test_minimal_example_prefers_french_then_english():
    info = parse_publiccode(data("publiccode.minimal.yml"))
    assert info.valid
    assert info.description.startswith("A rather short description")
    text = data("publiccode.minimal.yml").replace("description:\n  en:", "description:\n  fr:\n    shortDescription: Court\n  en:")
    assert parse_publiccode(text).description == "Court"


def test_funded_by_names():
    text = data("publiccode.minimal.yml") + "\nfundedBy:\n  - name: DINUM\n    uri: https://x\n  - Région\n"
    assert parse_publiccode(text).funded_by == ("DINUM", "Région")


@pytest.mark.parametrize("text", [
    "name: [unclosed\n  - : :", "", "just a string", "- a\n- list", "!!python/object/apply:os.system ['ls']",
    "a: &a [*a]", "{" * 300, b"\xff\xfe\x00garbage", "x" * (MAX_BYTES + 1), None,
    "name: 12\nlegal: 3\nmaintenance: [1]\ndescription: {fr: [x]}\nfundedBy: {a: 1}",
])
def test_hostile_input_is_invalid_not_an_exception(text):
    info = parse_publiccode(text)
    assert info.valid is False
    assert info.error


def test_missing_keys_are_named():
    info = parse_publiccode("publiccodeYmlVersion: '0.2'\nname: X\nurl: https://x\n")
    assert not info.valid
    assert "legal.license" in info.error and "maintenance.type" in info.error
    assert info.name == "X"
