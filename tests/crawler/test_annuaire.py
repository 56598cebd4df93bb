"""`codeindex annuaire update`: DILA's directory loaded whole or not at all, and the walk from pso_id to ministry."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from crawler.annuaire import AnnuaireError, parse_directory, update_directory
from crawler.cli import main
from crawler.config import load_config
from index.db import transaction
from index.directory import load_directory
from tests.annuaire_support import FIXTURE, fixture_services, roae_service, roae_zip
from tests.support import ROOT, Scripted

ECO = "c4195774-f535-4d82-b03f-d5f0c6b08635"
ESR = "4ca60afd-3886-434c-80bb-f6bc55581323"
CULTURE = "da1d6275-6710-485d-a249-282cac69dfe7"
INRIA_PARIS = "2c14601d-dbd0-418b-9b41-76512f31532e"
INRIA = "1774a61b-42e1-4272-b6bb-7ba4cc44b8ac"
MONTPELLIER = "16b86640-e14a-4997-bea0-1951b56ef676"
ONLY_OTHER = "f1c0de00-0000-0000-0000-000000000001"
CULTURE_SUB = "f1c0de00-0000-0000-0000-000000000003"
ROOT_KID = "f1c0de00-0000-0000-0000-000000000005"
ABSENT = "0b1ec7ed-0000-4000-8000-000000000000"
MINISTRIES_YML = ROOT / "config" / "ministries.yml"


@pytest.fixture
def tops():
    from crawler.config.build import load_ministries
    from crawler.config.checks import Problems

    return load_ministries(MINISTRIES_YML, Problems("ministries.yml"))


def _stored(engine):
    with transaction(engine) as session:
        return load_directory(session)


def test_fixture_walks_chains_of_several_levels(engine, tops):
    report = update_directory(engine, str(FIXTURE))
    assert (report.services, report.links, report.problems) == (18, 12, ())
    directory = _stored(engine)
    paris = directory.resolve(INRIA_PARIS, tops)
    assert paris.ministry == tops[ECO] and paris.chain[0] == INRIA_PARIS and len(paris.chain) == 4
    assert paris.organisation == "Centre de recherche INRIA - Paris"
    # INRIA hangs off Enseignement supérieur by "Autre hiérarchie" only: not followed, it stays under Économie
    assert directory.resolve(INRIA, tops).ministry == tops[ECO]
    assert directory.resolve(MONTPELLIER, tops).ministry == tops[ESR]
    culture = directory.resolve(CULTURE_SUB, tops)
    assert culture.ministry == "Ministère de la Culture" and len(culture.chain) == 3
    only_other = directory.resolve(ONLY_OTHER, tops)  # reachable only through "Autre hiérarchie": no ministry
    assert only_other.ministry is None and only_other.organisation is not None and only_other.chain == (ONLY_OTHER,)
    assert directory.resolve(ROOT_KID, tops).ministry is None  # a root that is not a top node
    absent = directory.resolve(ABSENT, tops)  # a body absent from the directory
    assert absent.ministry is None and absent.organisation is None
    assert directory.resolve("00000000-0000-0000-0000-000000000000", tops) is None
    inria = directory.services[INRIA]
    assert inria.acronym == "INRIA" and inria.url.endswith(INRIA) and inria.parent_id == "6edb10b0-aade-400c-b9b7-8fe63f601dec"
    grouping = directory.services["6edb10b0-aade-400c-b9b7-8fe63f601dec"]
    assert grouping.url is None and grouping.acronym is None


def test_ids_compare_ignoring_case(tops):
    services = [roae_service(ESR.upper(), "ESR", children=["AAAAAAAA-0000-4000-8000-000000000001"]),
                roae_service("aaaaaaaa-0000-4000-8000-000000000001", "Un organisme")]
    parsed = parse_directory(roae_zip(services), "upper.zip")
    assert {s.id for s in parsed.services} == {ESR, "aaaaaaaa-0000-4000-8000-000000000001"}
    directory = _directory(parsed)
    assert directory.resolve("AAAAAAAA-0000-4000-8000-000000000001", tops).ministry == tops[ESR]
    duplicate = [roae_service(ESR, "ESR"), roae_service(ESR.upper(), "ESR again")]
    with pytest.raises(AnnuaireError, match="appears twice"):
        parse_directory(roae_zip(duplicate), "dup.zip")


def _directory(parsed):
    from index.directory import Directory

    return Directory({s.id: s for s in parsed.services}, "test")


def test_a_utf8_byte_order_mark_is_accepted():
    services = fixture_services()
    parsed = parse_directory(roae_zip(services, bom=True), "bom.zip")
    assert len(parsed.services) == len(services)


def _bad_files():
    good = fixture_services()
    plain = json.dumps({"service": good}).encode()
    zipped = roae_zip(good)
    cycle = [roae_service("aaaaaaaa-0000-4000-8000-000000000001", "A", children=["aaaaaaaa-0000-4000-8000-000000000002"]),
             roae_service("aaaaaaaa-0000-4000-8000-000000000002", "B", children=["aaaaaaaa-0000-4000-8000-000000000003"]),
             roae_service("aaaaaaaa-0000-4000-8000-000000000003", "C", children=["aaaaaaaa-0000-4000-8000-000000000001"])]
    missing = [roae_service("aaaaaaaa-0000-4000-8000-000000000001", "A",
                            children=[f"bbbbbbbb-0000-4000-8000-00000000000{i}" for i in range(8)])]
    return {
        "not a zip": (plain, "not a zip archive"),
        "truncated": (zipped[: len(zipped) // 2], "not a zip archive, or a truncated one"),
        "damaged member": (zipped[:60] + bytes(b ^ 0xFF for b in zipped[60:90]) + zipped[90:], "damaged|not a zip"),
        "no json inside": (roae_zip(good, member="readme.txt"), "expected one JSON file"),
        "not json": (roae_zip(text='{"service": [{"id": "x",'), "not JSON"),
        "utf-16 bom": (roae_zip(text=json.dumps({"service": good}).encode("utf-16")), "UTF-16 byte-order mark"),
        "not utf-8": (roae_zip(text=b'{"service": [{"id": "\xe9"}]}'), "not UTF-8"),
        "wrong shape": (roae_zip(text='[{"id": "x"}]'), "the ROAE format"),
        "duplicate ids": (roae_zip([*good, good[3]]), "appears twice"),
        "cycle": (roae_zip(cycle), "a cycle"),
        "missing ids": (roae_zip(missing), "point to ids missing"),
    }


@pytest.mark.parametrize("kind", list(_bad_files()))
def test_a_bad_file_exits_2_and_keeps_the_stored_directory(kind, index_url, tmp_path, tops):
    runner = CliRunner()
    base = ["--db", index_url, "--config", str(tmp_path / "none.yml"), "annuaire", "update"]
    loaded = runner.invoke(main, [*base, "--from", str(FIXTURE)])
    assert loaded.exit_code == 0, loaded.output
    data, message = _bad_files()[kind]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(data)
    result = runner.invoke(main, [*base, "--from", str(bad)])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.output), result.output
    assert "the directory already stored is kept" in result.output
    assert len(result.output.strip().splitlines()) <= 2
    from index.db import open_index

    engine = open_index(index_url)
    directory = _stored(engine)
    engine.dispose()
    assert len(directory) == 18 and directory.resolve(INRIA_PARIS, tops).ministry == tops[ECO]


def test_one_bad_link_is_reported_and_skipped(tops):
    services = fixture_services()
    esr = next(s for s in services if s["id"] == ESR)
    esr["hierarchie"].append({"type_hierarchie": "Service Fils", "service": ABSENT})
    esr["hierarchie"].append({"type_hierarchie": "Service Fils", "service": INRIA})  # INRIA's second parent
    parsed = parse_directory(roae_zip(services), "one-bad-link.zip")
    assert len(parsed.services) == 18 and len(parsed.problems) == 2
    assert any(ABSENT in p and "missing" in p for p in parsed.problems)
    assert any(INRIA in p and "second parent" in p for p in parsed.problems)
    assert _directory(parsed).resolve(INRIA_PARIS, tops).ministry == tops[ECO]  # the first parent is kept


def test_a_much_smaller_file_needs_force(engine, tmp_path):
    update_directory(engine, str(FIXTURE))
    small = tmp_path / "small.zip"
    small.write_bytes(roae_zip(fixture_services()[:5]))
    with pytest.raises(AnnuaireError, match="fewer than half"):
        update_directory(engine, str(small))
    assert len(_stored(engine)) == 18
    assert update_directory(engine, str(small), force=True).services == 5
    assert len(_stored(engine)) == 5


def test_download_from_a_url(engine):
    body = FIXTURE.read_bytes()
    with Scripted([(200, {"Content-Type": "application/zip"}, body)]) as server:
        report = update_directory(engine, f"{server.url}/dila_refOrga_admin_Etat_fr_latest.zip")
    assert report.services == 18 and server.seen[0]["user-agent"] == "codeindex-annuaire"
    with Scripted([(404, {}, b"gone")]) as server, pytest.raises(AnnuaireError, match="HTTP 404"):
        update_directory(engine, f"{server.url}/latest.zip")
    assert len(_stored(engine)) == 18


def _covering_file(config, tops, tmp_path):
    """A directory in DILA's format that places every pso_id of `config`: the excerpt's real chains where it knows
    them, else under a grouping node of a ministry (made up, for the count only)."""
    import csv

    excerpt = {r["pso_id"]: r for r in csv.DictReader((ROOT / "config" / "pso-ministry-excerpt.csv").open())}
    children: dict[str, list[str]] = {}
    names: dict[str, str] = dict(tops)
    for row in excerpt.values():
        chain = row["chain"].split(" > ")
        names[chain[0]] = row["name"]
        for child, parent in zip(chain, chain[1:], strict=False):
            children.setdefault(parent, [])
            if child not in children[parent]:
                children[parent].append(child)
            names.setdefault(child, child)
    grouping = "f1c0de00-0000-0000-0000-00000000ffff"
    names[grouping] = "Groupement (test)"
    children.setdefault(next(iter(tops)), []).append(grouping)
    pso_ids = {(o or f).pso_id for f, o in config.accounts()} - {None, "00000000-0000-0000-0000-000000000000"}
    for pso_id in sorted(pso_ids - set(names)):
        names[pso_id] = f"Organisme {pso_id[:8]}"
        children.setdefault(grouping, []).append(pso_id)
    services = [roae_service(i, n, children=children.get(i, ())) for i, n in names.items()]
    path = tmp_path / "covering.zip"
    path.write_bytes(roae_zip(services))
    return path, len(pso_ids)


def test_config_check_with_a_directory_covering_every_id(tmp_path, tops):
    config_path = ROOT / "config" / "organisations.yml"
    db = f"sqlite:///{tmp_path / 'index.sqlite'}"
    runner = CliRunner()
    before = runner.invoke(main, ["--db", db, "config", "check", str(config_path)])
    assert before.exit_code == 0, before.output
    match = re.search(r"with a ministry: (\d+) of (\d+) units.*?(\d+) of the (\d+) units with a real pso_id",
                      before.output)
    assert match and int(match[3]) >= 197, before.output  # the shipped excerpt alone
    assert "pso_ids unknown to the directory" in before.output
    path, _ = _covering_file(load_config(config_path), tops, tmp_path)
    loaded = runner.invoke(main, ["--db", db, "--config", str(config_path), "annuaire", "update", "--from", str(path)])
    assert loaded.exit_code == 0, loaded.output
    after = runner.invoke(main, ["--db", db, "config", "check", str(config_path)])
    match = re.search(r"(\d+) of the (\d+) units with a real pso_id", after.output)
    assert match and match[1] == match[2], after.output
    assert "pso_ids unknown to the directory" not in after.output


def test_update_re_resolves_the_accounts_of_the_index(engine, tmp_path):
    from sqlalchemy import select

    from crawler.runner import forge_specs
    from index.models import Account
    from index.upsert import sync_configuration
    from tests.support import write_config

    path = write_config(tmp_path, [
        "gitlab.inria.fr:", "  forge: gitlab", f"  pso_id: {INRIA_PARIS}",
        "github.com:", "  forge: github", "  owners:",
        "    culture-bureau:", f"      pso_id: {CULTURE_SUB}",
        "    explicit:", f"      pso_id: {CULTURE_SUB}", "      ministry: Premier ministre",
    ])
    (tmp_path / "ministries.yml").write_text(MINISTRIES_YML.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_config(path)
    assert {(o or f).ministry for f, o in config.accounts()} == {None, "Premier ministre"}
    with transaction(engine) as session:
        sync_configuration(session, forge_specs(config))
    report = update_directory(engine, str(FIXTURE), config=config)
    assert report.accounts_updated == 3
    with transaction(engine) as session:
        rows = {a.login: (a.ministry, a.organisation) for a in session.scalars(select(Account))}
    eco = "Ministère de l'Économie, des Finances et de la Souveraineté industrielle et numérique"
    assert rows == {
        "gitlab.inria.fr": (eco, "Centre de recherche INRIA - Paris"),
        "culture-bureau": ("Ministère de la Culture", "Bureau d'un service à compétence nationale (fixture)"),
        "explicit": ("Premier ministre", "Bureau d'un service à compétence nationale (fixture)"),  # `ministry:` wins
    }
