"""Each ministry follows its progress: per crawl day, repositories listed, under an approved licence, active,
with a publiccode.yml, and accounts listed vs configured (stats/ministries/<slug>.json)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from jsonschema import Draft202012Validator

from index.db import transaction
from index.export.build import SCHEMAS, export_index
from index.history import read_ministry_history
from index.licences import is_approved
from index.records import AccountSpec, ForgeSpec
from index.upsert import record_account_crawl, start_run, sync_configuration
from tests.index.factories import T0, crawl, repo, signals

CULTURE = "Ministère de la Culture"


def _index(engine):
    with transaction(engine) as session:
        sync_configuration(session, [ForgeSpec(host="github.com", kind="github", accounts=(
            AccountSpec(login="etalab", ministry="Premier ministre"),
            AccountSpec(login="culturecommunication", ministry=CULTURE),
            AccountSpec(login="newbie", ministry=CULTURE),  # configured, never crawled
            AccountSpec(login="orphan"),
        ))])
    run = start_run(engine)
    day0 = [repo(1, "a", owner="culturecommunication", license_spdx="GPL-3.0-or-later", signals=signals(0, False)),
            repo(2, "b", owner="culturecommunication", license_spdx="LicenseRef-proprietary", signals=signals(5, False)),
            repo(6, "f", owner="culturecommunication", license_spdx=None, signals=signals(0, False))]
    record_account_crawl(engine, run, crawl("culturecommunication", day0), now=T0)
    record_account_crawl(engine, run, crawl("etalab", [repo(3, "c")]), now=T0)
    record_account_crawl(engine, run, crawl("orphan", [repo(4, "d", owner="orphan")]), now=T0)
    day10 = [dataclasses.replace(day0[0], signals=signals(3, True)),
             dataclasses.replace(day0[1], license_spdx="EUPL-1.2"),
             repo(5, "e", owner="culturecommunication", license_spdx=None, signals=signals(1, True)),
             dataclasses.replace(day0[2], license_spdx="MIT")]  # licensed since: day 0 still counts it without
    record_account_crawl(engine, run, crawl("culturecommunication", day10), now=T0 + dt.timedelta(days=10))


def test_history_per_ministry_and_day(engine):
    _index(engine)
    history = read_ministry_history(engine, (T0 + dt.timedelta(days=10)).date())
    assert set(history) == {CULTURE, "Premier ministre", None}
    assert history[CULTURE] == [
        {"day": T0.date().isoformat(), "repositories": 3, "approved_licence": 1, "active_365d": 1, "publiccode": 0,
         "accounts_listed": 1, "accounts_configured": 2},
        {"day": (T0 + dt.timedelta(days=10)).date().isoformat(), "repositories": 4, "approved_licence": 3,
         "active_365d": 3, "publiccode": 2, "accounts_listed": 1, "accounts_configured": 2},
    ]
    assert [d["repositories"] for d in history["Premier ministre"]] == [1]
    assert history[None][0]["accounts_configured"] == 1


def test_history_files_validate(engine, tmp_path):
    _index(engine)
    export_index(engine, tmp_path, now=T0 + dt.timedelta(days=10, hours=1),
                 ministry_ids={CULTURE: "da1d6275-6710-485d-a249-282cac69dfe7"})
    files = sorted(p.name for p in (tmp_path / "stats" / "ministries").glob("*.json"))
    assert files == ["ministere-de-la-culture.json", "no-ministry.json", "premier-ministre.json"]
    schema = json.loads((SCHEMAS / "ministry-history.schema.json").read_text())
    for name in files:
        document = json.loads((tmp_path / "stats" / "ministries" / name).read_text())
        assert list(Draft202012Validator(schema).iter_errors(document)) == []
    culture = json.loads((tmp_path / "stats" / "ministries" / "ministere-de-la-culture.json").read_text())
    assert culture["ministry"] == CULTURE and culture["pso_id"] == "da1d6275-6710-485d-a249-282cac69dfe7"
    assert [d["approved_licence"] for d in culture["days"]] == [1, 3]
    # the status page of the same ministry draws the same series
    assert (tmp_path / "status" / "ministries" / "ministere-de-la-culture.html").is_file()


def test_approved_licences():
    assert is_approved("GPL-3.0-or-later") and is_approved("EUPL-1.2") and is_approved("CECILL-B")
    assert not is_approved("LicenseRef-proprietary") and not is_approved(None) and not is_approved("Other")


def test_organisation_and_ministry_in_every_export(engine, tmp_path):
    """The body's directory name is the account's organisation everywhere; owners.json fills `m` and `ps` so."""
    with transaction(engine) as session:
        sync_configuration(session, [ForgeSpec(host="github.com", kind="github", accounts=(
            AccountSpec(login="inria", name="Configured name", ministry="Ministère de l'Économie",
                        organisation="Institut national de recherche en sciences et technologies du numérique"),
            AccountSpec(login="other", name="Configured name only"),
        ))])
    run = start_run(engine)
    record_account_crawl(engine, run, crawl("inria", [repo(1, "a", owner="inria")]), now=T0)
    record_account_crawl(engine, run, crawl("other", [repo(2, "b", owner="other")]), now=T0)
    export_index(engine, tmp_path, now=T0 + dt.timedelta(hours=1))
    inria = "Institut national de recherche en sciences et technologies du numérique"
    owners = {o["l"]: o for o in json.loads((tmp_path / "codegouvfr" / "owners.json").read_text())}
    assert (owners["inria"]["m"], owners["inria"]["ps"]) == ("Ministère de l'Économie", inria)
    assert (owners["other"]["m"], owners["other"]["ps"]) == ("", "Configured name only")  # no directory name
    organisations = json.loads((tmp_path / "organisations.json").read_text())["organisations"]
    assert {o["login"]: o["organisation"] for o in organisations} == {"inria": inria, "other": "Configured name only"}
    repositories = json.loads((tmp_path / "repositories.json").read_text())["repositories"]
    assert {r["full_name"]: (r["ministry"], r["organisation"]) for r in repositories} == {
        "inria/a": ("Ministère de l'Économie", inria), "other/b": (None, "Configured name only")}
