"""publiccode.yml parsing: real examples are read; broken or hostile files give valid=False, never raise."""

from importlib import resources

import pytest

from crawler.forges.publiccode import MAX_BYTES, parse_publiccode


def data(name: str) -> str:
    return resources.files("simforge").joinpath("data", name).read_text("utf-8")


def test_full_example():
    info = parse_publiccode(data("publiccode.full.yml"))
    # the standard's own example names a video that no oEmbed provider serves: the reference parser rejects it too
    assert not info.valid
    assert info.problems == (("description.en.videos[0]",
                              "'https://youtube.com/xxxxxxxx' is not a valid video URL supporting oEmbed"),)
    assert info.error.startswith("description.en.videos[0]: ")
    fixed = parse_publiccode(data("publiccode.full.yml").replace("https://youtube.com/xxxxxxxx",
                                                                 "https://www.youtube.com/watch?v=RaHmGbBOP84"))
    assert fixed.valid and fixed.error is None and fixed.problems == ()
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
    keys = {key for key, _ in info.problems}
    assert {"legal.license", "maintenance.type", "platforms", "softwareType", "developmentStatus", "description",
            "localisation.localisationReady", "localisation.availableLanguages"} <= keys
    assert info.error.startswith("platforms: ") and f"and {len(info.problems) - 1} more" in info.error
    assert info.name == "X"
    assert info.warnings == (("publiccodeYmlVersion", "v0.2 is not the latest version, use '0'. Parsing this file as "
                              "v0.7."),)


def minimal_with(old: str, new: str) -> str:
    text = data("publiccode.minimal.yml")
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(("old", "new", "key"), [
    ('publiccodeYmlVersion: "0.2"', 'publiccodeYmlVersion: "1"', "publiccodeYmlVersion"),
    ('publiccodeYmlVersion: "0.2"', "publiccodeYmlVersion: 0.2", "publiccodeYmlVersion"),  # a number, not text
    ("url: ", "url: foobar\nx: ", "url"),
    ("license: AGPL-3.0-or-later", "license: Invalid License", "legal.license"),
    ("type: \"community\"", "type: no_such_type", "maintenance.type"),
    ("localisationReady: true", "localisationReady: yes", "localisation.localisationReady"),  # YAML 1.2: text
    ("name: Medusa", "name: []", "name"),
    ("name: Medusa", "name: Medusa\nname: Other", ""),
])
def test_each_rule_rejects(old, new, key):
    info = parse_publiccode(minimal_with(old, new))
    assert not info.valid
    assert key in {k for k, _ in info.problems}, info.problems


def test_not_utf8_and_several_documents_are_rejected():
    assert parse_publiccode(data("publiccode.minimal.yml").encode("latin-1") + "é".encode("latin-1")).problems == (
        ("", "Invalid UTF-8"),)
    assert not parse_publiccode(data("publiccode.minimal.yml") + "\n---\na: 1\n").valid


def test_licence_expressions_are_read_by_the_spdx_list():
    for licence in ("MIT OR Apache-2.0", "Apache-2.0 WITH LLVM-exception", "etalab-2.0", "CECILL-2.1", "EUPL-1.2"):
        assert parse_publiccode(minimal_with("AGPL-3.0-or-later", licence)).valid, licence
