"""A fixture index covering every referencing reason, built through the real write path (sync + record crawl).

`build_scenario(engine)` is shared by the status tests (index, CLI, HTML, browser); the tests here check the
classification of each account and repository against it.
"""

from __future__ import annotations

import datetime as dt

import pytest

from index.db import transaction
from index.records import (
    AccountCrawl,
    AccountKind,
    AccountRecord,
    AccountSpec,
    ForgeSpec,
    OutcomeStatus,
    PubliccodeInfo,
    RepositorySignals,
    Visibility,
)
from index.status.report import load_status
from index.upsert import finish_run, record_account_crawl, start_run, sync_configuration
from tests.index.factories import PUBLICCODE, T0, repo

NOW = T0 + dt.timedelta(days=1)
PM = "Premier ministre"
EDU = "Ministère de l'Éducation nationale et de la Jeunesse"
PSO_PM = "a515667c-6dc0-4544-a1a8-2cf13d7da23b"
SCRIPT = "<script>alert(1)</script>"
IGNORED_ON = dt.date(2026, 1, 1)


def _spec(login: str, ministry: str | None = PM, **kw) -> AccountSpec:
    return AccountSpec(login=login, pso_id=PSO_PM if ministry == PM else None, ministry=ministry, **kw)


def configuration(removed: bool = False) -> list[ForgeSpec]:
    github = [
        _spec("etalab", name="Département Etalab"), _spec("someuser", EDU), _spec("ghost"), _spec("tokenless"),
        _spec("limited"), _spec("old-org", EDU, ignored_since=IGNORED_ON), _spec("newbie", EDU), _spec("emptyorg"),
        _spec("broken", None), _spec("stopped", None),
    ]
    if not removed:
        github.append(_spec("dropped"))
    return [
        ForgeSpec(host="github.com", kind="github", accounts=tuple(github)),
        ForgeSpec(host="gitlab.com", kind="gitlab", accounts=(_spec("dinum/sub", EDU),)),
        ForgeSpec(host="git.down.example.org", kind="gitlab", ministry=EDU, whole_forge=True,
                  accounts=(AccountSpec(login="git.down.example.org", kind=AccountKind.INSTANCE, ministry=EDU),)),
        ForgeSpec(host="gitea.example.org", kind="gitea", whole_forge=True,
                  accounts=(AccountSpec(login="gitea.example.org", kind=AccountKind.INSTANCE),)),
    ]


def _crawl(login, repos=(), status=OutcomeStatus.OK, host="github.com", kind=AccountKind.ORGANIZATION,
           error=None, complete=True) -> AccountCrawl:
    account = None if status != OutcomeStatus.OK else AccountRecord(
        login=login, kind=kind, html_url=f"https://{host}/{login}", name=login.title())
    return AccountCrawl(forge_host=host, login=login, status=status, account=account, repositories=tuple(repos),
                        complete=complete and status == OutcomeStatus.OK, error=error)


def _etalab_repos(second: bool):
    sig = RepositorySignals(has_publiccode=True, publiccode=PUBLICCODE)
    bad = RepositorySignals(has_publiccode=True,
                            publiccode=PubliccodeInfo(valid=False, error="legal.license: missing <b>key</b>", problems=(
                                ("legal.license", "missing <b>key</b>"), ("url", "url is a required field"),
                                ("platforms", "x"), ("softwareType", "y"), ("", "z"))))
    repos = [
        repo(1, "good", signals=sig),
        repo(2, "nolicence", license_spdx=None, description=""),
        repo(3, "forked", fork=True),
        repo(4, "old", archived=True),
        repo(5, "void", empty=True, license_spdx="Other"),
        repo(6, "secret", visibility=Visibility.PRIVATE),
        repo(7, "intranet", visibility=Visibility.INTERNAL),
        repo(9, "badpc", signals=bad),
        repo(10, "xss", description=SCRIPT),
    ]
    if second:
        repos.append(repo(8, "renamed-now"))
        repos.append(repo(11, "fresh"))
    else:
        repos.append(repo(8, "renamed-before"))
        repos.append(repo(12, "deleted"))
    return repos


def build_scenario(engine) -> None:
    """Two runs: the second renames, adds and deletes in etalab, and every other account gets its reason."""
    with transaction(engine) as session:
        sync_configuration(session, configuration())
    run = start_run(engine)
    record_account_crawl(engine, run, _crawl("etalab", _etalab_repos(False)), now=T0)
    record_account_crawl(engine, run, _crawl("limited", [repo(30, "kept", owner="limited")]), now=T0)
    record_account_crawl(engine, run, _crawl("dropped", [repo(40, "x", owner="dropped")]), now=T0)
    record_account_crawl(engine, run, _crawl("old-org", [repo(50, "legacy", owner="old-org")]), now=T0)
    finish_run(engine, run)
    with transaction(engine) as session:
        sync_configuration(session, configuration(removed=True))
    run = start_run(engine)
    later = T0 + dt.timedelta(hours=6)
    record_account_crawl(engine, run, _crawl("etalab", _etalab_repos(True)), now=later)
    record_account_crawl(engine, run, _crawl("someuser", [repo(20, "dotfiles", owner="someuser")],
                                             kind=AccountKind.USER), now=later)
    record_account_crawl(engine, run, _crawl("ghost", status=OutcomeStatus.NOT_FOUND, error="404 Not Found"),
                         now=later)
    record_account_crawl(engine, run, _crawl("tokenless", status=OutcomeStatus.AUTH, error="401 Bad credentials"),
                         now=later)
    record_account_crawl(engine, run, _crawl("limited", status=OutcomeStatus.RATE_LIMITED,
                                             error="rate limit exhausted until 13:00Z"), now=later)
    record_account_crawl(engine, run, _crawl("emptyorg"), now=later)
    record_account_crawl(engine, run, _crawl("broken", status=OutcomeStatus.FAILED, error="502 Bad Gateway"),
                         now=later)
    record_account_crawl(engine, run, _crawl("stopped", status=OutcomeStatus.INTERRUPTED), now=later)
    record_account_crawl(engine, run, _crawl(
        "dinum/sub", [repo(60, "project", owner="dinum/sub", host="gitlab.com")], host="gitlab.com",
        kind=AccountKind.GROUP), now=later)
    record_account_crawl(engine, run, _crawl("git.down.example.org", status=OutcomeStatus.UNREACHABLE,
                                             host="git.down.example.org", error="connection refused"), now=later)
    record_account_crawl(engine, run, _crawl("gitea.example.org", status=OutcomeStatus.UNSUPPORTED,
                                             host="gitea.example.org",
                                             error="forge kind 'gitea' is not supported by this crawler"), now=later)
    finish_run(engine, run)


EXPECTED = {
    "github.com/etalab": ("ok", True),
    "github.com/someuser": ("user_account", True),
    "github.com/ghost": ("not_found", True),
    "github.com/tokenless": ("auth", True),
    "github.com/limited": ("rate_limited", True),
    "github.com/old-org": ("ignored", False),
    "github.com/newbie": ("never_crawled", True),
    "github.com/emptyorg": ("no_public_repositories", True),
    "github.com/broken": ("failed", True),
    "github.com/stopped": ("interrupted", True),
    "github.com/dropped": ("removed_from_configuration", False),
    "gitlab.com/dinum/sub": ("ok", True),
    "git.down.example.org/git.down.example.org": ("unreachable", True),
    "gitea.example.org/gitea.example.org": ("unsupported", True),
}


@pytest.fixture
def scenario(engine):
    build_scenario(engine)
    return load_status(engine, now=NOW)


def _by_key(data):
    return {f"{a['forge']}/{a['login']}": a for a in data.accounts}


def test_every_account_gets_its_reason(scenario):
    got = {k: (a["reason"], a["listed"]) for k, a in _by_key(scenario).items()}
    assert got == EXPECTED


def test_explanations_carry_dates_and_errors(scenario):
    accounts = _by_key(scenario)
    assert "ignored since 2026-01-01" in accounts["github.com/old-org"]["explanation"]
    assert "401 Bad credentials" in accounts["github.com/tokenless"]["explanation"]
    limited = accounts["github.com/limited"]
    assert "still listed with what the crawl of 2026-11-01T12:00:00Z found" in limited["explanation"]
    assert limited["repositories"]["exported"] == 1  # data of the last success stays listed
    assert "never crawled successfully" in accounts["github.com/ghost"]["explanation"]
    user = accounts["github.com/someuser"]
    assert "still exported" in user["explanation"] and user["repositories"]["exported"] == 1
    assert accounts["github.com/old-org"]["repositories"]["excluded"]["account_not_listed"] == 1


def test_repositories_excluded_and_flagged(scenario):
    etalab = _by_key(scenario)["github.com/etalab"]
    assert etalab["repositories"] == {
        "seen": 12, "exported": 9,
        "excluded": {"account_not_listed": 0, "gone": 1, "private": 1, "internal": 1},
        "flagged": {"fork": 1, "archived": 1, "empty": 1},
    }
    by_name = {r["full_name"]: r for r in etalab["repository_list"]}
    assert by_name["etalab/deleted"]["excluded"] == "gone" and by_name["etalab/deleted"]["gone_at"]
    assert by_name["etalab/renamed-now"]["previous_full_names"] == ["etalab/renamed-before"]


def test_licence_publiccode_and_description_coverage(scenario):
    etalab = _by_key(scenario)["github.com/etalab"]
    assert etalab["licence"]["without"] == ["etalab/nolicence", "etalab/void"]  # "Other" is no SPDX id
    assert etalab["licence"]["share"] == round(7 / 9, 4)
    assert etalab["publiccode"]["valid"] == 1 and etalab["publiccode"]["invalid"] == 1
    assert etalab["publiccode"]["invalid_list"] == [
        {"full_name": "etalab/badpc", "error": "legal.license: missing <b>key</b>; url: url is a required field; "
                                               "platforms: x (and 2 more)"}]
    assert etalab["description"]["without"] == ["etalab/nolicence"]


def test_changes_come_from_the_latest_run(scenario):
    changes = _by_key(scenario)["github.com/etalab"]["changes"]
    assert changes["new"] == ["etalab/fresh"]
    assert changes["gone"] == ["etalab/deleted"]
    assert changes["renamed"] == ["etalab/renamed-before -> etalab/renamed-now"]


def test_listed_agrees_with_the_export_read_model(engine, scenario):
    from index.queries import read_model

    model = read_model(engine, NOW.date())
    exported_accounts = {f"{a.forge.host}/{a.login}" for a in model.accounts}
    assert exported_accounts == {k for k, a in _by_key(scenario).items() if a["listed"]}
    exported_repos = {r.full_name for r in model.repositories}
    ours = {r["full_name"] for a in scenario.accounts for r in a["repository_list"] if r["exported"]}
    assert ours == exported_repos


def validate_against(schema_name: str, document) -> None:
    """Validate against index/schemas/<schema_name>, resolving references to the other schemas there."""
    import json
    from pathlib import Path

    import jsonschema
    from referencing import Registry, Resource

    folder = Path(__file__).resolve().parents[2] / "index" / "schemas"
    resources = {p.name: Resource.from_contents(json.loads(p.read_text())) for p in folder.glob("*.schema.json")}
    registry = Registry().with_resources(
        [(r.contents["$id"], r) for r in resources.values()] + list(resources.items()))
    schema = resources[schema_name].contents
    validator = jsonschema.Draft202012Validator(schema, registry=registry,
                                                format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


def test_documents_match_the_schema(scenario):
    from index.status.report import document

    validate_against("status.schema.json", document(scenario, scenario.accounts))
    validate_against("status.schema.json", document(scenario, scenario.accounts, detail=False))


def test_the_schema_rejects_a_wrong_document(scenario):
    from index.status.report import document

    doc = document(scenario, scenario.accounts[:1])
    doc["accounts"][0]["reason"] = "because"
    with pytest.raises(AssertionError, match="because"):
        validate_against("status.schema.json", doc)
