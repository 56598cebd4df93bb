"""code.gouv.fr's frontend reads export/codegouvfr/ as is: every file it requests exists, and every key of every
record has one JSON type (its Organizations page sorts on `s` and throws on "Cannot compare 7 to ")."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from index.export.build import export_index
from index.export.codegouvfr import shorten
from tests.index.test_export import NOW, build_index

# what code.gouv.fr's frontend (codegouvfr-sources) requests under /data/
REQUESTED = ("repos_preprod.json", "owners.json", "awesome.json", "codegouvfr-forges.csv", "stats_preprod.json")
LISTINGS = ("codegouvfr-repositories.json", "codegouvfr-organizations.json", "repos_preprod.json", "owners.json")


def json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    return {str: "string", float: "number", list: "array", dict: "object", type(None): "null"}[type(value)]


def types_per_key(records: list[dict]) -> dict[str, set[str]]:
    seen: dict[str, set[str]] = {}
    for record in records:
        for key, value in record.items():
            seen.setdefault(key, set()).add(json_type(value))
    return seen


def assert_one_type_per_key(folder: Path) -> dict[str, dict[str, set[str]]]:
    for name in REQUESTED:
        assert (folder / name).is_file(), f"code.gouv.fr's frontend requests {name}"
    found = {}
    for name in LISTINGS:
        records = json.loads((folder / name).read_text(encoding="utf-8"))
        assert records, name
        keys = set(records[0])
        assert all(set(r) == keys for r in records), f"{name}: records with different keys"
        types = types_per_key(records)
        mixed = {k: t for k, t in types.items() if len(t) != 1}
        assert mixed == {}, f"{name}: keys with more than one JSON type: {mixed}"
        found[name] = types
    assert found["owners.json"]["s"] == {"integer"} and found["owners.json"]["r"] == {"integer"}
    assert found["codegouvfr-organizations.json"]["followers"] == {"integer"}
    assert found["repos_preprod.json"]["a"] == {"integer"} and found["repos_preprod.json"]["d"] == {"string"}
    stats = json.loads((folder / "stats_preprod.json").read_text(encoding="utf-8"))
    assert isinstance(stats["repos_cnt"], str) and isinstance(stats["orgas_cnt"], str)
    assert int(stats["repos_cnt"]) == len(json.loads((folder / "codegouvfr-repositories.json").read_bytes()))
    for name, n in stats["top_languages"] + stats["top_licenses"]:
        assert isinstance(name, str) and name and isinstance(n, int)
    assert all(name.lower() != "other" for name, _ in stats["top_licenses"])
    for (name, url), n in stats["top_orgs_by_repos"] + stats["top_orgs_by_stars"]:
        assert isinstance(name, str) and url.startswith("https://") and isinstance(n, int) and n > 1
    buckets = [int(label.split("-")[0]) for label, _ in stats["top_repos_by_score_range"]]
    assert buckets == sorted(buckets) and all(b % 100 == 0 for b in buckets)
    assert json.loads((folder / "awesome.json").read_bytes()) == []
    return found


def test_types_with_some_followers_known(engine, tmp_path):
    """The fixture index has accounts with followers and one (dgfip) without: all integers."""
    build_index(engine)
    export_index(engine, tmp_path / "out", now=NOW)
    folder = tmp_path / "out" / "codegouvfr"
    assert_one_type_per_key(folder)
    owners = {o["l"]: o for o in json.loads((folder / "owners.json").read_bytes())}
    assert owners["dgfip"]["s"] == 0 and owners["etalab"]["s"] == 7
    lines = (folder / "codegouvfr-forges.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "host,kind"  # its frontend drops the first line
    forges = dict(csv.reader(io.StringIO("\n".join(lines[1:]))))
    assert forges["github.com"] == "github" and forges["gitlab.com"] == "gitlab"
    repos = json.loads((folder / "codegouvfr-repositories.json").read_bytes())
    assert {r["platform"] for r in repos} <= set(forges)


def test_a_whole_forge_without_a_name_is_named_by_its_host(engine, tmp_path):
    """The frontend titles each organisation by `n`: a whole-forge account (login: the host) gets the host."""
    from sqlalchemy import update

    from index.db import transaction
    from index.models import Account

    build_index(engine)
    with transaction(engine) as session:
        session.execute(update(Account).where(Account.login == "forge.apps.education.fr")
                        .values(name=None, config_name=None))
    export_index(engine, tmp_path / "out", now=NOW)
    owners = {o["l"]: o for o in json.loads((tmp_path / "out" / "codegouvfr" / "owners.json").read_bytes())}
    assert owners["forge.apps.education.fr"]["n"] == "forge.apps.education.fr"
    assert owners["dgfip"]["n"] != "gitlab.com"  # a group keeps its own name (or none)


@pytest.mark.parametrize(("text", "expected"), [
    ("", ""), ("a" * 120, "a" * 120), ("a" * 121, "a" * 120 + "…"), ("é" * 130, "é" * 120 + "…")])
def test_descriptions_are_cut_as_code_gouv_fr_cuts_them(text, expected):
    assert shorten(text) == expected


@pytest.mark.slow
def test_types_over_the_whole_demo_export(demo_export):
    _, out = demo_export
    folder = out / "codegouvfr"
    assert_one_type_per_key(folder)
    full = {r["id"]: r for r in json.loads((folder / "codegouvfr-repositories.json").read_bytes())}
    short = json.loads((folder / "repos_preprod.json").read_bytes())
    cut = [r for r in short if len(r["d"]) > 120]
    assert cut and all(r["d"].endswith("…") for r in cut)
    owners = json.loads((folder / "owners.json").read_bytes())
    assert len(owners) == 220 and len(full) >= len(short) > 8000
    assert sum(1 for o in owners if o["m"]) > 50  # the ministry filter has something to offer
