"""The export: what is published, in which shape, and the same bytes every time."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import gc
import gzip
import io
import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from index.db import open_index, transaction
from index.export.build import SCHEMAS, export_index
from index.export.format import gzip_bytes
from index.records import (
    AccountCrawl,
    AccountKind,
    AccountRecord,
    AccountSpec,
    ForgeSpec,
    OutcomeStatus,
    RepositorySignals,
    Visibility,
)
from index.upsert import record_account_crawl, start_run, sync_configuration
from tests.index.factories import PUBLICCODE, T0, repo

NOW = T0 + dt.timedelta(days=1)
GOLDEN = Path(__file__).parent / "golden"
PM = "a515667c-6dc0-4544-a1a8-2cf13d7da23b"
ECO = "c4195774-f535-4d82-b03f-d5f0c6b08635"
# PostgreSQL refuses NUL in text, so the index cannot hold it; every other control character can come through
HOSTILE = "\u202eevil\u202c <script>alert(1)</script>\x01\x07\x1b[31m\n\"quoted\", ;\u2028\U0001F600" + "x" * 5_000


# a realistic small index -----------------------------------------------------------------------------------------
def _config(*, ignore: bool) -> list[ForgeSpec]:
    """The configuration; with ignore=True, a later version that ignores or drops some entries."""
    gone_day = dt.date(2026, 6, 1) if ignore else None
    github = [
        AccountSpec("etalab", name="Etalab", pso_id=PM, ministry="Premier ministre",
                    floss_policy="https://etalab.example/policy", ospo_url="https://etalab.example/ospo"),
        AccountSpec("hostile-org", pso_id="00000000-0000-0000-0000-000000000000"),
        AccountSpec("jdupont"),
        AccountSpec("later-ignored", ministry="Premier ministre", ignored_since=dt.date(2027, 1, 1)),
        AccountSpec("old-ignored", ministry="Premier ministre", ignored_since=gone_day),
    ]
    if not ignore:
        github.append(AccountSpec("dropped", ministry="Premier ministre"))
    forges = [
        ForgeSpec("github.com", "github", accounts=tuple(github)),
        ForgeSpec("gitlab.com", "gitlab", accounts=(
            AccountSpec("dgfip", name="DGFiP", pso_id=ECO, ministry="Ministère de l'Économie"),
        )),
        ForgeSpec("forge.apps.education.fr", "gitlab", pso_id="3ed2f725-e077-4973-a531-498e13fc7861",
                  ministry="Ministère de l'Éducation nationale", whole_forge=True,
                  accounts=(AccountSpec("forge.apps.education.fr", kind=AccountKind.INSTANCE),)),
        ForgeSpec("old.forge.fr", "gitlab", ignored_since=gone_day, whole_forge=True,
                  accounts=(AccountSpec("old.forge.fr", kind=AccountKind.INSTANCE),)),
    ]
    if not ignore:
        forges.append(ForgeSpec("removed.forge.fr", "gitlab", accounts=(AccountSpec("team"),)))
    return forges


def _crawl(host: str, login: str, kind: AccountKind, repos, **kw) -> AccountCrawl:
    account = AccountRecord(login=login, kind=kind, html_url=kw.pop("html_url", f"https://{host}/{login}"),
                            name=kw.pop("name", login.title()), description=kw.pop("description", "An account"),
                            followers=kw.pop("followers", 7), created_at=T0 - dt.timedelta(days=3000))
    return AccountCrawl(forge_host=host, login=login, status=kw.pop("status", OutcomeStatus.OK), account=account,
                        repositories=tuple(repos), complete=True, **kw)


def _crawls() -> list[AccountCrawl]:
    org, group, user, instance = (AccountKind.ORGANIZATION, AccountKind.GROUP, AccountKind.USER,
                                  AccountKind.INSTANCE)
    awesome = repo(10, "codegouvfr", stars=120, forks=30, watchers=15, topics=("france", "gouv", "open-data"),
                   homepage="https://code.gouv.fr",
                   signals=RepositorySignals(commits_365d=300, contributors_365d=9, last_commit_at=T0,
                                             releases_count=12, latest_release_at=T0, has_readme=True,
                                             has_license=True, has_contributing=True, has_changelog=True,
                                             has_publiccode=True, publiccode=PUBLICCODE))
    edu = "forge.apps.education.fr"
    return [
        _crawl("github.com", "etalab", org, [
            awesome,
            repo(11, "old-fork", fork=True, archived=True, description=None, license_spdx=None,
                 parent_url="https://github.com/upstream/old-fork", signals=None),
            repo(12, "secret-private", visibility=Visibility.PRIVATE),
            repo(13, "secret-internal", visibility=Visibility.INTERNAL),
            repo(14, "will-be-gone"),
            repo(15, "renamed-before", license_spdx="GPL-3.0-or-later"),
            repo(16, "unidentified-licence", license_spdx="Other", language=None, topics=()),
        ], html_url="https://github.com/etalab"),
        _crawl("github.com", "hostile-org", org, [
            repo(20, "=cmd", owner="hostile-org", description=HOSTILE, homepage="+33 1 23 45 67 89",
                 topics=("@mention", "-rf"), language="-lang"),
            repo(21, "tpl", owner="hostile-org", template=True, empty=True, pushed_at=None, default_branch=None,
                 license_spdx="AGPL-3.0-only", description="  "),
        ], name="@SUM(1+1)", description="=1+1"),
        _crawl("github.com", "jdupont", user, [repo(30, "dotfiles", owner="jdupont", license_spdx=None)]),
        _crawl("github.com", "later-ignored", org, [repo(40, "still-listed", owner="later-ignored")]),
        _crawl("github.com", "old-ignored", org, [repo(41, "secret-ignored", owner="old-ignored")]),
        _crawl("github.com", "dropped", org, [repo(42, "secret-dropped", owner="dropped")]),
        _crawl("gitlab.com", "dgfip", group, [
            repo(50, "impots", owner="dgfip/apps", host="gitlab.com", watchers=None, license_spdx="EUPL-1.2"),
            repo(51, "lib", owner="dgfip", host="gitlab.com", watchers=None, stars=0, forks=0),
        ], html_url="https://gitlab.com/groups/dgfip", followers=None),
        _crawl(edu, edu, instance, [repo(60, "manuel", owner="profs/lycee", host=edu, license_spdx="CC-BY-SA-4.0")],
               html_url=f"https://{edu}", name="La Forge des communs numériques éducatifs"),
        _crawl("old.forge.fr", "old.forge.fr", instance, [repo(70, "secret-old-forge", owner="x", host="old.forge.fr")]),
        _crawl("removed.forge.fr", "team", group, [repo(80, "secret-removed", owner="team", host="removed.forge.fr")]),
    ]


def build_index(engine, *, reverse: bool = False) -> None:
    """Crawl everything, then apply the later configuration and the crawls that rename and lose repositories."""
    def ordered(items):
        return list(reversed(items)) if reverse else list(items)

    with transaction(engine) as session:
        sync_configuration(session, ordered(_config(ignore=False)))
    run = start_run(engine)
    for item in ordered(_crawls()):
        item = dataclasses.replace(item, repositories=tuple(ordered(item.repositories)))
        record_account_crawl(engine, run, item, now=T0)
    # next day: etalab's listing no longer has will-be-gone, and renamed-before got a new name
    etalab = next(c for c in _crawls() if c.login == "etalab")
    kept = [dataclasses.replace(r, full_name="etalab/renamed-after", name="renamed-after",
                                html_url="https://github.com/etalab/renamed-after")
            if r.forge_id == 15 else r for r in etalab.repositories if r.forge_id != 14]
    record_account_crawl(engine, run, dataclasses.replace(etalab, repositories=tuple(ordered(kept))), now=NOW)
    failed = AccountCrawl(forge_host="github.com", login="jdupont", status=OutcomeStatus.FAILED,
                          error="502 Bad Gateway")
    record_account_crawl(engine, run, failed, now=NOW)
    with transaction(engine) as session:
        sync_configuration(session, ordered(_config(ignore=True)))


# helpers ---------------------------------------------------------------------------------------------------------
def _load(out: Path, name: str):
    return json.loads((out / name).read_text(encoding="utf-8"))


def _all_json(out: Path) -> list[Path]:
    """The data files (status/ has schemas of its own, checked in test_status_*)."""
    return sorted(p for p in out.rglob("*.json")
                  if p.parent.name != "schemas" and "status" not in p.relative_to(out).parts)


def _normalised(data: bytes) -> bytes:
    """generated_at is the only field allowed to change between two exports of the same index."""
    text = data.decode("utf-8")
    start = text.find('"generated_at"')
    if start < 0:
        return data
    end = text.find("Z", start)
    return (text[:start] + '"generated_at":"…' + text[end + 1:]).encode("utf-8")


@pytest.fixture
def exported(engine, tmp_path):
    build_index(engine)
    out = tmp_path / "export"
    report = export_index(engine, out, now=NOW)
    return out, report


# content ---------------------------------------------------------------------------------------------------------
def test_every_file_validates_against_its_schema(exported):
    out, report = exported
    schemas = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    used = set()
    for path in _all_json(out):
        schema_name = path.name.replace(".json", ".schema.json")
        if path.parent.relative_to(out).as_posix() == "stats/ministries":
            schema_name = "ministry-history.schema.json"
        assert schema_name in schemas, f"{path} has no schema"
        used.add(schema_name)
        validator = Draft202012Validator(schemas[schema_name])
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(_load(out, path.relative_to(out)))]
        assert errors == [], f"{path.name}: {errors[:5]}"
        twin = (out / f"{path.relative_to(out)}.gz").read_bytes()
        assert twin == gzip_bytes(path.read_bytes()), f"{path.name}.gz is not its JSON, deterministically packed"
        assert json.loads(gzip.decompress(twin)) == _load(out, path.relative_to(out))
    assert used == {"repositories.schema.json", "organisations.schema.json", "ministries.schema.json",
                    "stats.schema.json", "codegouvfr-repositories.schema.json",
                    "codegouvfr-organizations.schema.json", "repos_preprod.schema.json", "owners.schema.json",
                    "stats_preprod.schema.json", "awesome.schema.json",
                    "ministry-history.schema.json"}
    assert (out / "schemas" / "repositories.schema.json").read_bytes() == (SCHEMAS / "repositories.schema.json").read_bytes()
    assert {f.path for f in report.files} == {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}


def test_exclusions(exported):
    out, report = exported
    repos = _load(out, "repositories.json")["repositories"]
    assert [r["full_name"] for r in repos] == [
        "profs/lycee/manuel", "etalab/codegouvfr", "etalab/old-fork", "etalab/renamed-after",
        "etalab/unidentified-licence", "hostile-org/=cmd", "hostile-org/tpl", "jdupont/dotfiles",
        "later-ignored/still-listed", "dgfip/apps/impots", "dgfip/lib",
    ]
    assert report.repositories == len(repos) == 11
    logins = [(o["forge"], o["login"]) for o in _load(out, "organisations.json")["organisations"]]
    assert logins == [("forge.apps.education.fr", "forge.apps.education.fr"), ("github.com", "etalab"),
                      ("github.com", "hostile-org"), ("github.com", "jdupont"), ("github.com", "later-ignored"),
                      ("gitlab.com", "dgfip")]
    # nothing excluded leaks anywhere: not in any file, compressed or not
    for path in out.rglob("*"):
        if path.is_file() and path.parent.name != "schemas":
            if "status" in path.relative_to(out).parts:
                continue  # the status report names unlisted accounts on purpose: it says why they are not listed
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            for secret in (b"secret-", b"old-ignored", b"dropped", b"old.forge.fr", b"removed.forge.fr",
                           b"will-be-gone"):
                assert secret not in data, f"{secret!r} leaked into {path.name}"
    stats = _load(out, "stats.json")
    assert set(stats["by_forge"]) == {"forge.apps.education.fr", "github.com", "gitlab.com"}


def test_repository_fields(exported):
    out, _ = exported
    repos = {r["full_name"]: r for r in _load(out, "repositories.json")["repositories"]}
    awesome = repos["etalab/codegouvfr"]
    assert awesome["score"] == 1000 + 1000 + 100 + 100 + 10 + 100 + 100 and awesome["stars"] == 120
    assert awesome["publiccode"] == {"valid": True, "error": None, "name": "App", "description": "An app",
                                     "license": "EUPL-1.2", "maintenance_type": "internal", "funded_by": ["DINUM"],
                                     "problems": [], "warnings": []}
    assert awesome["files"]["contributing"] is True and awesome["activity"]["commits_365d"] == 300
    assert awesome["owner"] == {"login": "etalab", "kind": "organization", "url": "https://github.com/etalab"}
    assert awesome["ministry"] == "Premier ministre" and awesome["pso_id"] == PM
    assert awesome["first_seen"] == "2026-11-01T12:00:00Z" and awesome["last_seen"] == "2026-11-02T12:00:00Z"
    assert repos["etalab/renamed-after"]["previous_full_names"] == ["etalab/renamed-before"]
    old_fork = repos["etalab/old-fork"]
    assert old_fork["description"] is None and old_fork["files"]["readme"] is None and old_fork["score"] < 0
    assert repos["hostile-org/tpl"]["description"] is None and repos["hostile-org/tpl"]["pushed_at"] is None
    assert repos["hostile-org/=cmd"]["description"] == HOSTILE and repos["hostile-org/=cmd"]["pso_id"] is None
    manuel = repos["profs/lycee/manuel"]  # a whole forge: the instance account inherits the forge's ministry
    assert manuel["ministry"] == "Ministère de l'Éducation nationale" and manuel["owner"]["kind"] == "instance"
    assert repos["dgfip/apps/impots"]["owner_path"] == "dgfip/apps" and repos["dgfip/apps/impots"]["watchers"] is None


def test_organisations_ministries_stats(exported):
    out, _ = exported
    orgs = {o["login"]: o for o in _load(out, "organisations.json")["organisations"]}
    assert orgs["etalab"]["repositories_count"] == 4 and orgs["etalab"]["stars"] == 120 + 3 * 3
    assert orgs["etalab"]["organisation"] == "Etalab" and orgs["etalab"]["floss_policy"].endswith("/policy")
    assert orgs["jdupont"]["crawl"]["status"] == "failed" and orgs["jdupont"]["crawl"]["error"] == "502 Bad Gateway"
    assert orgs["jdupont"]["crawl"]["last_success_at"] == "2026-11-01T12:00:00Z"
    ministries = {m["name"]: m for m in _load(out, "ministries.json")["ministries"]}
    assert list(ministries)[-1] is None  # accounts without a ministry come last
    assert ministries[None]["accounts"] == ["github.com/hostile-org", "github.com/jdupont"]
    assert ministries["Premier ministre"]["repositories_count"] == 5
    assert ministries["Premier ministre"]["pso_id"] is None  # not known without the ministries table
    stats = _load(out, "stats.json")
    assert stats["totals"] == {"repositories": 11, "accounts": 6, "accounts_with_repositories": 6, "forges": 3,
                               "stars": sum(r["stars"] for r in _load(out, "repositories.json")["repositories"]),
                               "forks": 30 + 1 * 9 + 0}
    assert stats["by_licence"]["none"] == 2 and stats["by_licence"]["Other"] == 1
    assert stats["by_language"]["none"] == 1
    assert stats["licence_coverage"] == round(9 / 11, 4)
    histogram = stats["score_histogram"]
    assert sum(b["repositories"] for b in histogram) == 11
    assert all(b["to"] == b["from"] + 99 for b in histogram)
    assert [b["from"] for b in histogram] == list(range(histogram[0]["from"], histogram[-1]["from"] + 100, 100))


def test_ministry_ids_given(engine, tmp_path):
    build_index(engine)
    export_index(engine, tmp_path, now=NOW, ministry_ids={"Premier ministre": PM})
    ministries = {m["name"]: m for m in _load(tmp_path, "ministries.json")["ministries"]}
    assert ministries["Premier ministre"]["pso_id"] == PM


def test_codegouvfr_formats(exported):
    out, _ = exported
    cg = out / "codegouvfr"
    repos = {r["full_name"]: r for r in _load(cg, "codegouvfr-repositories.json")}
    assert set(repos["etalab/codegouvfr"]) == {
        "awesome-score", "archived", "updated_at", "description", "id", "fork", "template", "contributing",
        "publiccode", "language", "license", "full_name", "repo_name", "forks_count", "platform", "owner"}
    assert {name: r["license"] for name, r in repos.items()} == {
        "profs/lycee/manuel": "cc-by-sa-4.0", "etalab/codegouvfr": "mit", "etalab/old-fork": "",
        "etalab/renamed-after": "gpl-3.0", "etalab/unidentified-licence": "other", "hostile-org/=cmd": "mit",
        "hostile-org/tpl": "agpl-3.0", "jdupont/dotfiles": "", "later-ignored/still-listed": "mit",
        "dgfip/apps/impots": "eupl-1.2", "dgfip/lib": "mit"}
    assert repos["dgfip/apps/impots"]["owner"] == "https://gitlab.com/groups/dgfip"
    assert repos["dgfip/apps/impots"]["platform"] == "gitlab.com"
    short = _load(cg, "repos_preprod.json")
    assert "etalab/old-fork" not in {r["fn"] for r in short} and len(short) == len(repos) - 1
    assert max(len(r["d"]) for r in short) == 121 and all(len(r["d"]) <= 120 or r["d"].endswith("…") for r in short)
    orgs = _load(cg, "codegouvfr-organizations.json")
    assert [o["login"] for o in orgs] == ["forge.apps.education.fr", "etalab", "hostile-org", "later-ignored",
                                          "dgfip"]  # no user account
    dgfip = orgs[-1]
    assert dgfip["followers"] == 0 and dgfip["email"] == "" and dgfip["repositories_count"] == 2
    owners = _load(cg, "owners.json")
    assert [o["l"] for o in owners] == [o["login"] for o in orgs]
    assert owners[1]["ps"] == "Etalab" and owners[1]["m"] == "Premier ministre" and owners[1]["r"] == 4


def test_csv_is_rfc4180_and_neutralises_formulas(exported):
    out, _ = exported
    raw = (out / "repositories.csv").read_bytes()
    assert raw.endswith(b"\r\n") and not raw.startswith(b"\xef\xbb\xbf")
    rows = {r["full_name"]: r for r in csv.DictReader(io.StringIO(raw.decode("utf-8"), newline=""))}
    assert len(rows) == 11
    hostile = rows["hostile-org/=cmd"]
    assert hostile["name"] == "'=cmd" and hostile["homepage"] == "'+33 1 23 45 67 89"
    assert hostile["language"] == "'-lang" and hostile["topics"] == "'-rf;@mention"
    assert hostile["description"] == HOSTILE.translate({1: None, 7: None, 0x1b: None})  # controls dropped, rest kept
    assert hostile["full_name"] == "hostile-org/=cmd"  # does not start with a formula character: untouched
    assert rows["etalab/old-fork"]["score"].startswith("-")  # numbers are never prefixed
    assert rows["etalab/codegouvfr"]["topics"] == "france;gouv;open-data"
    assert rows["etalab/codegouvfr"]["archived"] == "false" and rows["etalab/old-fork"]["files_readme"] == ""
    orgs = {r["login"]: r for r in csv.DictReader(io.StringIO((out / "organisations.csv").read_text(), newline=""))}
    assert orgs["hostile-org"]["name"] == "'@SUM(1+1)" and orgs["hostile-org"]["description"] == "'=1+1"
    for path in (out / "repositories.csv", out / "organisations.csv"):
        for cells in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")):
            assert not any(cell[:1] in ("=", "+", "@", "\t", "\r") for cell in cells), cells
            assert not any(cell[:1] == "-" and not cell.lstrip("-").isdigit() for cell in cells), cells


def test_hostile_text_keeps_json_valid(exported):
    out, _ = exported
    for path in _all_json(out):
        data = path.read_bytes()
        data.decode("utf-8")  # strict UTF-8
        assert "\u2028".encode() not in data and b"\x1b" not in data and b"\x07" not in data
        json.loads(data)


# determinism -----------------------------------------------------------------------------------------------------
def test_same_index_same_bytes(engine, tmp_path):
    build_index(engine)
    first, second, later = tmp_path / "1", tmp_path / "2", tmp_path / "3"
    export_index(engine, first, now=NOW)
    export_index(engine, second, now=NOW)
    export_index(engine, later, now=NOW + dt.timedelta(hours=5))
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(later) for p in later.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name  # .gz included
        if name.suffix != ".gz" and "status" not in name.parts:  # the status report shows its date in prose
            assert _normalised((first / name).read_bytes()) == _normalised((later / name).read_bytes()), name
    assert b"2026-11-02T17:00:00Z" in (later / "repositories.json").read_bytes()


def test_insertion_order_does_not_matter(engine, tmp_path):
    """Rows inserted in the opposite order, in another database: the same files."""
    build_index(engine)
    other = open_index(f"sqlite:///{tmp_path / 'other.sqlite'}")
    try:
        build_index(other, reverse=True)
        export_index(engine, tmp_path / "a", now=NOW)
        export_index(other, tmp_path / "b", now=NOW)
    finally:
        other.dispose()
    names = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize("name", ["repositories.json", "codegouvfr/codegouvfr-repositories.json"])
def test_golden(exported, name):
    """Compare with the reviewed file; regenerate with CODEINDEX_UPDATE_GOLDEN=1 (then review the diff)."""
    out, _ = exported
    actual = _normalised((out / name).read_bytes())
    golden = GOLDEN / Path(name).name
    if os.environ.get("CODEINDEX_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(exist_ok=True)
        golden.write_bytes(actual)
    assert golden.is_file(), f"no golden file {golden}: run with CODEINDEX_UPDATE_GOLDEN=1"
    assert actual == golden.read_bytes(), f"{name} differs from {golden} (CODEINDEX_UPDATE_GOLDEN=1 to accept)"


def test_empty_index(engine, tmp_path):
    report = export_index(engine, tmp_path, now=NOW, gzip=False)
    assert report.repositories == 0 and not list(tmp_path.rglob("*.gz"))
    schemas = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    for path in _all_json(tmp_path):
        Draft202012Validator(schemas[path.name.replace(".json", ".schema.json")]).validate(json.loads(path.read_bytes()))
    assert _load(tmp_path, "repositories.json") == {"schema_version": "1.0", "generated_at": "2026-11-02T12:00:00Z",
                                                     "repositories": []}
    assert _load(tmp_path, "stats.json")["score_histogram"] == []
    assert _load(tmp_path, "codegouvfr/owners.json") == []
    assert (tmp_path / "repositories.csv").read_bytes().count(b"\r\n") == 1  # the header only


def test_naive_now_refused(engine, tmp_path):
    with pytest.raises(ValueError, match="timezone-aware"):
        export_index(engine, tmp_path, now=dt.datetime(2026, 1, 1))  # noqa: DTZ001


def test_ignored_from_ignored_since_day_on(engine, tmp_path):
    """later-ignored has ignored_since 2027-01-01: published on Dec 31st, not from Jan 1st (UTC)."""
    build_index(engine)
    export_index(engine, tmp_path / "before", now=dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
    export_index(engine, tmp_path / "on", now=dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    before = {o["login"] for o in _load(tmp_path / "before", "organisations.json")["organisations"]}
    on = {o["login"] for o in _load(tmp_path / "on", "organisations.json")["organisations"]}
    assert before - on == {"later-ignored"}
    assert "later-ignored/still-listed" not in (tmp_path / "on" / "repositories.csv").read_text()


def test_non_public_repositories_never_named_anywhere(exported):
    """Private and internal repositories are counted in the status report, never named, in any file."""
    out, _ = exported
    for path in out.rglob("*"):
        if path.is_file() and path.parent.name != "schemas":
            data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
            assert b"secret-private" not in data and b"secret-internal" not in data, path


def test_status_report_from_a_second_process_is_the_same_export(exported, engine, tmp_path):
    """A big index builds status/ in a child process (index.export.status_job): same files, same bytes."""
    out, inline = exported
    child = export_index(engine, tmp_path / "child", now=NOW, status_process=True)
    assert [(f.path, f.size, f.rows) for f in child.files] == [(f.path, f.size, f.rows) for f in inline.files]
    assert any(f.path.startswith("status/accounts/") for f in child.files)
    for f in inline.files:
        assert (tmp_path / "child" / f.path).read_bytes() == (out / f.path).read_bytes(), f.path
    assert not [p for p in (tmp_path / "child").rglob("*") if p.name.endswith(".tmp")]


def test_failed_export_removes_what_the_status_process_wrote(engine, tmp_path, monkeypatch):
    build_index(engine)
    import index.export.build as export_module

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_module, "write_files", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        export_index(engine, tmp_path / "out", now=NOW, status_process=True)
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []


def test_timestamps_formatted_by_the_database_as_iso_would(engine, tmp_path):
    """The read model takes timestamps as text from the database (SQLite strftime, PostgreSQL to_char): the same
    text as export_format.iso, sub-seconds truncated (never rounded up), a non-UTC time converted."""
    from index.export.format import iso

    instants = [
        dt.datetime(2026, 11, 1, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 2, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),  # 2026-11-01T23:30:00Z
        dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    ]
    with transaction(engine) as session:
        sync_configuration(session, [ForgeSpec("github.com", "github", accounts=(AccountSpec("etalab"),))])
    run = start_run(engine)
    record_account_crawl(engine, run, _crawl("github.com", "etalab", AccountKind.ORGANIZATION, [
        repo(i + 1, f"r{i}", created_at=when, pushed_at=when) for i, when in enumerate(instants)]), now=NOW)
    export_index(engine, tmp_path, now=NOW, gzip=False, status=False)
    rows = {r["name"]: r for r in _load(tmp_path, "repositories.json")["repositories"]}
    for i, when in enumerate(instants):
        assert rows[f"r{i}"]["created_at"] == rows[f"r{i}"]["pushed_at"] == iso(when)
    assert rows["r0"]["created_at"] == "2026-11-01T23:59:59Z" and rows["r1"]["created_at"] == "2026-11-01T23:30:00Z"


def test_half_of_the_files_from_a_forked_process_are_the_same_export(exported, engine, tmp_path):
    """A big index writes half of its files in a forked copy of the process: the same bytes."""
    out, inline = exported
    forked = export_index(engine, tmp_path / "forked", now=NOW, fork=True)
    assert [(f.path, f.size, f.rows) for f in forked.files] == [(f.path, f.size, f.rows) for f in inline.files]
    for f in inline.files:
        assert (tmp_path / "forked" / f.path).read_bytes() == (out / f.path).read_bytes(), f.path
    assert not [p for p in (tmp_path / "forked").rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("where", ["child", "parent"])
def test_failure_on_either_side_of_the_fork_keeps_the_previous_export(engine, tmp_path, monkeypatch, where):
    """The forked child failing (its file set discards its files) or the parent failing while the child writes
    (the parent removes what the child handed over): the previous export stays, and no temporary file."""
    import index.export.build as export_module
    from index.export.fork import ForkedFiles

    build_index(engine)
    export_index(engine, tmp_path, now=NOW, fork=False)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    # the export forks only when this is the process's one thread; earlier tests may leave one alive (a pool, a
    # server's), and then no child would fail: fork anyway (the child raises at once and exits)
    monkeypatch.setattr(ForkedFiles, "possible", classmethod(lambda cls: True))

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_module, "write_repository_files" if where == "child" else "write_codegouvfr_files",
                        broken)
    message = "part of the export could not be written: RuntimeError: disk on fire" if where == "child" else "disk"
    with pytest.raises(RuntimeError, match=message):
        export_index(engine, tmp_path, now=NOW + dt.timedelta(days=1), fork=True)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    assert gc.isenabled()  # collector_paused restored it


def test_garbage_collector_paused_during_the_export_then_as_it_was(engine, tmp_path, monkeypatch):
    """The cyclic collector is off while the export builds its files (its full passes walked the whole read
    model), and afterwards as the caller had it."""
    import index.export.build as export_module

    build_index(engine)
    seen = []
    original = export_module.write_summary_files

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(export_module, "write_summary_files", spy)
    export_index(engine, tmp_path / "on", now=NOW, fork=False)
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        export_index(engine, tmp_path / "off", now=NOW, fork=False)
        assert not gc.isenabled()  # the caller had turned it off: left so
    finally:
        gc.enable()


def test_row_builders_write_keys_in_sorted_order():
    """Rows are encoded without sorting (json_sorted_bytes): every dict they hold must be built sorted."""
    from types import SimpleNamespace

    from index.export.codegouvfr import repository_entry, short_repository_entry
    from index.export.rows import repository_json
    from index.queries import (
        REPOSITORY_COLUMNS,
        Baseline,
        ExportedAccount,
        ExportedForge,
        ExportedRepository,
        _trend,
    )

    forge = ExportedForge("github.com", "github", PM, "Premier ministre", False)
    account = ExportedAccount(1, forge, *(["x"] * 25))
    values = {name: "1" for name in REPOSITORY_COLUMNS} | {"score": 1, "stars": 1, "forks": 1, "license_spdx": "MIT",
        "publiccode": {"valid": True, "error": None, "name": "n", "description": "d", "license": "MIT",
                       "maintenance_type": "internal", "funded_by": ["b", "a"]},
        "previous_full_names": ["a/b"], "topics": ["t"], "full_name": "a/b", "last_seen": "2026-11-02T00:00:00Z"}
    trend = _trend(SimpleNamespace(stars=3, forks=2, commits_365d=1, last_seen="2026-11-02T00:00:00Z"),
                   Baseline("2026-10-01", stars=1, forks=1, commits_365d=1))
    repository = ExportedRepository(account, **values, trend=trend)

    def dicts(value):
        if isinstance(value, dict):
            yield value
            for item in value.values():
                yield from dicts(item)

    row, entry = repository_json(repository), repository_entry(repository)
    found = list(dicts(row)) + list(dicts(entry)) + list(dicts(short_repository_entry(entry)))
    assert len(found) == 8  # row, activity, files, owner, publiccode, trend_30d; two code.gouv.fr entries
    for value in found:
        assert list(value) == sorted(value), list(value)


def test_rows_hold_no_float(engine):
    """json_sorted_bytes encodes rows with orjson, which writes floats in another notation than the json module
    (1e-5, not 1e-05) and NaN as null: no row of a full index holds one, even with a stored publiccode.yml
    summary holding numbers (the crawler stores text; an older or edited index might not)."""
    from sqlalchemy import update

    from index.export.build import ExportOrder
    from index.export.codegouvfr import repository_entry, short_repository_entry
    from index.export.rows import repository_json
    from index.models import Repository
    from index.queries import read_model

    build_index(engine)
    with engine.begin() as connection:
        connection.execute(update(Repository).values(publiccode={
            "valid": 1, "error": None, "name": 1.5e-07, "description": 1e16, "license": 2.0,
            "maintenance_type": None, "funded_by": [0.5]}))

    def values(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from values(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from values(item)
        else:
            yield value

    repos = ExportOrder.of(read_model(engine, NOW.date())).repos
    assert repos
    for exported in repos:
        row, entry = repository_json(exported), repository_entry(exported)
        for value in (*values(row), *values(entry), *values(short_repository_entry(entry))):
            assert type(value) in (str, int, bool, type(None)), (exported.full_name, value)
        assert row["publiccode"]["name"] == "1.5e-07"


def test_no_fork_beside_other_threads(tmp_path):
    """A thread may hold a lock a forked child would wait on forever (the scheduler exports from one): the
    export then writes everything itself."""
    import threading

    from index.export.fork import ForkedFiles

    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert ForkedFiles.start(tmp_path, False, lambda writer: None) is None
    finally:
        release.set()
        other.join()
