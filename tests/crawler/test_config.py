"""The configuration layer: the real code.gouv.fr list, every validation problem located, inheritance, the CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from crawler.cli.config import config_group
from crawler.config import (
    UNKNOWN_PSO_ID,
    ConfigError,
    ScheduleConfig,
    default_api_url,
    format_summary,
    load_config,
    summarize,
)
from tests.support import shared_file

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "config" / "organisations.yml"
FIXTURES = ROOT / "tests" / "fixtures" / "config"
MENJ = "3ed2f725-e077-4973-a531-498e13fc7861"
MENJ_NAME = "Ministère de l'Éducation nationale et de la Jeunesse"
ESR_NAME = "Ministère de l'Enseignement supérieur et de la Recherche"


def write(tmp_path: Path, text: str, name: str = "organisations.yml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs) -> list:
    with pytest.raises(ConfigError) as info:
        load_config(path, **kwargs)
    return info.value.problems


# ------------------------------------------------------------------------------------------------ the real list


@pytest.fixture(scope="module")
def real():
    return load_config(REAL)


def test_real_list_counts(real):
    summary = summarize(real, on=dt.date(2025, 10, 1))
    assert summary["forges"] == 93
    assert summary["forges_by_kind"] == {"gitlab": 91, "github": 1, "gogs": 1}
    assert summary["accounts"] == 300
    assert summary["whole_forge_entries"] == 87
    assert summary["units"] == 387
    assert summary["ignored_forges"] == 17
    assert summary["ignored_accounts"] == 0
    assert len(real.ministries) == 19
    per_forge = {f.host: len(f.owners) for f in real.forges if f.owners}
    assert per_forge == {
        "github.com": 250, "gitlab.com": 26, "gitlab.adullact.net": 13,
        "forge.apps.education.fr": 6, "framagit.org": 3, "gitlab.ow2.org": 2,
    }  # fmt: skip
    owners_unknown = sum(1 for _, o in real.accounts() if o is not None and o.pso_id == UNKNOWN_PSO_ID)
    assert owners_unknown == 18  # the figure code.gouv.fr's documentation gives


def test_real_list_ignored_since_applies_from_that_day_on(real):
    ignored = [f.host for f in real.forges if f.ignored_since == dt.date(2024, 8, 9)]
    assert len(ignored) == 17
    assert summarize(real, on=dt.date(2024, 8, 8))["ignored_forges"] == 0
    assert summarize(real, on=dt.date(2024, 8, 9))["ignored_forges"] == 17
    assert len(list(real.accounts(active_on=dt.date(2024, 8, 9)))) == 387 - 17


def test_real_list_education_owners_inherit_the_forge_pso_id_and_ministry(real):
    forge = real.forge("forge.apps.education.fr")
    assert forge.pso_id == MENJ and forge.ministry == MENJ_NAME
    assert [o.login for o in forge.owners] == [
        "reseau-certa", "iri", "incubateur", "drane-grenoble", "drane-lyon", "drane-ile-de-france",
    ]  # fmt: skip
    assert {(o.pso_id, o.ministry) for o in forge.owners} == {(MENJ, MENJ_NAME)}


def test_real_list_details(real):
    github = real.forge("github.com")
    assert github.kind == "github" and github.api_url == "https://api.github.com" and not github.whole_forge
    assert real.forge("gitlab.inria.fr").api_url == "https://gitlab.inria.fr/api/v4"
    assert real.forge("gogs.univ-littoral.fr").api_url == "https://gogs.univ-littoral.fr/api/v1"
    assert real.forge("gitlab.mim-libre.fr").pso_id == MENJ  # upstream's duplicate key: the last one, kept
    assert github.owner("SOCIALGOUV").login == "socialgouv"
    assert github.owner("etalab").name == "Département Etalab"
    assert sum(1 for _, o in real.accounts() if o is not None and o.name) == 184
    healthdatahub = real.forge("gitlab.com").owner("healthdatahub")
    assert healthdatahub.ospo_url == "https://www.health-data-hub.fr/open-source"
    assert healthdatahub.ministry == "Ministère de la Santé et de la Prévention"
    with pytest.raises(KeyError):
        real.forge("nowhere.example.org")
    with pytest.raises(dataclasses.FrozenInstanceError):
        github.kind = "gitlab"


def test_our_copy_differs_from_upstream_only_by_names_and_the_duplicate_key():
    upstream = shared_file("data", "codegouvfr", "comptes-organismes-publics.yml")
    ours = yaml.safe_load(REAL.read_text(encoding="utf-8"))
    for forge in ours.values():
        for login, meta in (forge.get("owners") or {}).items():
            if meta:
                meta.pop("name", None)
                forge["owners"][login] = meta or None
    assert ours == yaml.safe_load(upstream.read_text(encoding="utf-8"))
    problems = problems_of(upstream, ministries_path=ROOT / "config" / "ministries.yml")
    assert [(p.line, p.key_path) for p in problems] == [(773, "gitlab.mim-libre.fr.pso_id")]


# ------------------------------------------------------------------------------------------------ broken files

BROKEN = [
    (3, "gitlab.example.org.forge", "did you mean `gitlab`?"),
    (4, "https://git.example.org", "without scheme"),
    (6, "Git.Example.net", "lowercase host name ('git.example.net')"),
    (9, "numbers.example.org.forge", "one of github, gitlab"),
    (13, "lists.example.org.owners", "a mapping of account login"),
    (19, "github.com.owners.socialgouv", "'SocialGouv' is at line 17"),
    (21, "github.com.owners.etalab.pso_id", "a UUID"),
    (22, "github.com.owners.etalab.ignored_since", "a real calendar date"),
    (23, "github.com.owners.etalab.floss_policy", "an http(s) URL"),
    (24, "github.com.owners.etalab.pso-id", "did you mean `pso_id`?"),
    (27, "github.com.owners.etalab-2.pso_id", "each key once (first at line 26"),
    (28, "gitlab.com", "gitlab.com cannot be crawled whole"),
    (30, "gitlab.com.owner", "did you mean `owners`?"),
    (32, "gitlab.com.api_url", "an http(s) URL"),
    (33, "gitlab.com.token", "token_env: NAME"),
    (34, "gitlab.com.token_env", "an environment variable name"),
    (35, "gitlab.example.org", "each key once (first at line 2"),
    (39, "dates.example.org.ignored_since", "a date YYYY-MM-DD"),
    (40, "dates.example.org.ospo_url", "with a host"),
    (43, "empty.example.org.owners", "omit `owners` to crawl the whole forge"),
    (47, "gitea.example.org.owners.https://gitea.example.org/etalab", "not a URL"),
    (48, "gitea.example.org.owners.team/sub", "only GitLab has nested groups"),
    (49, "gitea.example.org.owners.dinum", "a mapping of owner metadata"),
    (51, "gitea.example.org.owners.dnum.ministry", "the pso_id of a top node"),
    (53, "schedule.interval_hours", "a positive number of hours"),
    (54, "schedule.export_after", "true or false"),
    (57, "schedule.forges.gitlab.example.org.cron", "5 fields"),
    (58, "schedule.forges.unknown.example.org", "a forge host listed in this file"),
]


def test_broken_file_reports_every_problem_with_its_line_and_key():
    problems = problems_of(FIXTURES / "broken.yml")
    assert [(p.line, p.key_path) for p in problems] == [(line, key) for line, key, _ in BROKEN]
    for problem, (_, _, expected) in zip(problems, BROKEN, strict=True):
        assert expected in problem.expected, problem
    # the comment on each broken line names the line the problem is reported on
    lines = (FIXTURES / "broken.yml").read_text(encoding="utf-8").splitlines()
    for line, _, _ in BROKEN:
        if "#" in lines[line - 1] and line not in (28, 35):
            assert f"# {line}:" in lines[line - 1]


def test_error_text_is_one_located_line_per_problem_and_never_shows_the_token():
    with pytest.raises(ConfigError) as info:
        load_config(FIXTURES / "broken.yml")
    text = str(info.value)
    assert len(text.splitlines()) == len(BROKEN)
    first = text.splitlines()[0]
    assert first == (
        f"{FIXTURES / 'broken.yml'}:3: gitlab.example.org.forge: found 'gitlabb'; expected one of github, gitlab, "
        "gitea, gogs, forgejo, sourcehut, bitbucket (did you mean `gitlab`?)"
    )
    assert all(re.match(r"^.+\.yml:\d+: \S+: found .+; expected .+$", line) for line in text.splitlines())
    assert "glpat-" not in text


def test_syntax_error_is_located():
    [problem] = problems_of(FIXTURES / "syntax_error.yml")
    assert (problem.line, problem.key_path, problem.expected) == (6, "(yaml)", "valid YAML")
    assert "flow sequence (from line 5)" in problem.found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("", "an empty file"),
        ("# only a comment\n", "an empty file"),
        ("- github.com\n", "a list"),
        ("42\n", "number 42"),
    ],
)
def test_empty_or_non_mapping_file(tmp_path, text, found):
    [problem] = problems_of(write(tmp_path, text))
    assert problem.found == found and problem.line == 1


def test_missing_file(tmp_path):
    [problem] = problems_of(tmp_path / "nope.yml")
    assert problem.found == "no such file" and str(problem).startswith(
        f"{tmp_path / 'nope.yml'}: (top level)"
    )


def test_token_looking_keys_and_values_anywhere(tmp_path):
    path = write(
        tmp_path,
        """\
        private_token: x
        git.example.org:
          forge: gitlab
          token_env: ghp_abcdefghijklmnopqrstuvwxyz0123456789
          owners:
            team:
              api_key: 123
              name: glpat-abcdefghijklmnopqrstuvwxyz
        """,
    )
    problems = problems_of(path)
    assert [(p.line, p.key_path) for p in problems] == [
        (1, "private_token"), (4, "git.example.org.token_env"),
        (7, "git.example.org.owners.team.api_key"), (8, "git.example.org.owners.team.name"),
    ]  # fmt: skip
    assert "never the token itself" in problems[1].expected
    text = "\n".join(map(str, problems))
    assert "ghp_abc" not in text and "glpat-abc" not in text and "token_env: NAME" in text


def test_owner_metadata_wrong_types(tmp_path):
    path = write(
        tmp_path,
        """\
        gitlab.example.org:
          forge: [gitlab]
          pso_id:
            - 3ed2f725-e077-4973-a531-498e13fc7861
          owners:
            group:
              pso_id: 3ED2F725-E077-4973-A531-498E13FC7861
              ignored_since: 2024-08-09T10:00:00Z
              name:
        """,
    )
    found = [(p.line, p.key_path, p.found, p.expected.split(" (")[0]) for p in problems_of(path)]
    assert found == [
        (
            2,
            "gitlab.example.org.forge",
            "a list",
            "one of github, gitlab, gitea, gogs, forgejo, sourcehut, bitbucket",
        ),
        (4, "gitlab.example.org.pso_id", "a list", "a single UUID from lannuaire.service-public.fr"),
        (
            7,
            "gitlab.example.org.owners.group.pso_id",
            "'3ED2F725-E077-4973-A531-498E13FC7861'",
            "a lowercase UUID",
        ),
        (
            8,
            "gitlab.example.org.owners.group.ignored_since",
            "date 2024-08-09T10:00:00Z",
            "a date YYYY-MM-DD",
        ),
        (9, "gitlab.example.org.owners.group.name", "nothing", "a readable name"),
    ]


def test_ministries_file_problems_name_that_file(tmp_path):
    config = write(tmp_path, "git.example.org:\n  forge: gitlab\n")
    ministries = write(tmp_path, "not-a-uuid: Ministère\n", name="ministries.yml")
    [problem] = problems_of(config)
    assert (problem.file, problem.line, problem.key_path) == (str(ministries), 1, "not-a-uuid")


# ------------------------------------------------------------------------------------------------ resolution


@pytest.fixture(scope="module")
def valid():
    return load_config(FIXTURES / "valid.yml")


def test_ministry_resolution_order(valid):
    github = valid.forge("github.com")
    assert github.owner("etalab").ministry == "Premier ministre"  # owner override
    assert github.owner("ministeresuprecherche").ministry == ESR_NAME  # own pso_id is a top node
    assert github.owner("1024").ministry is None
    education = valid.forge("forge.education.example.org")
    assert education.owner("drane-lyon").ministry == MENJ_NAME  # inherited pso_id is a top node
    assert education.owner("academie/sub-group").ministry is None  # own pso_id, unknown offline
    sim = valid.forge("sim.example.org")
    assert sim.ministry == "Ministère des essais" and sim.pso_id is None
    assert {o.ministry for o in sim.owners} == {"Ministère des essais"}  # forge-level fallback
    assert valid.forge("forgejo.example.org").ministry == MENJ_NAME  # override given as a top-node pso_id


def test_inheritance_and_ignored_since(valid):
    education = valid.forge("forge.education.example.org")
    drane, sub, other = education.owners
    assert drane.floss_policy == other.floss_policy == "https://example.org/policy"
    assert other.ospo_url == "https://ospo.example.org" and other.pso_id == MENJ
    assert drane.ignored_since == dt.date(2030, 1, 1)
    assert sub.ignored_since == dt.date(2025, 6, 1)  # the earlier of its own and the forge's
    assert not sub.is_ignored(dt.date(2025, 5, 31)) and sub.is_ignored(dt.date(2025, 6, 1))
    assert sub.is_ignored(dt.datetime(2025, 5, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))))
    with pytest.raises(ValueError, match="UTC-aware"):
        sub.is_ignored(dt.datetime(2025, 6, 1))  # noqa: DTZ001 -- the point of the test
    active = [(f.host, o and o.login) for f, o in valid.accounts(active_on=dt.date(2025, 7, 1))]
    assert ("forge.education.example.org", "academie/sub-group") not in active
    assert ("gitea.example.org", None) not in active and ("gogs.example.org", None) in active


def test_logins_keep_their_text_and_api_urls(valid):
    assert [o.login for o in valid.forge("github.com").owners] == [
        "etalab",
        "1024",
        "on",
        "MinistereSupRecherche",
    ]
    assert valid.forge("github.com").token_env == "GITHUB_TOKENS"
    assert valid.forge("ghe.example.org").api_url == "https://ghe.example.org/api/v3"
    assert valid.forge("sim.example.org").api_url == "http://127.0.0.1:8080/sim.example.org/api/v4"
    assert valid.forge("sr.example.org").api_url == "https://sr.example.org/query"


@pytest.mark.parametrize(
    ("kind", "host", "url"),
    [
        ("github", "github.com", "https://api.github.com"),
        ("github", "ghe.example.org", "https://ghe.example.org/api/v3"),
        ("gitlab", "gitlab.com", "https://gitlab.com/api/v4"),
        ("gitea", "h.example.org", "https://h.example.org/api/v1"),
        ("forgejo", "h.example.org", "https://h.example.org/api/v1"),
        ("gogs", "h.example.org", "https://h.example.org/api/v1"),
    ],
)
def test_default_api_url(kind, host, url):
    assert default_api_url(kind, host) == url


def test_schedule(valid, tmp_path):
    schedule = valid.schedule
    assert (schedule.interval_hours, schedule.export_after) == (6.0, False)
    assert schedule.for_forge("github.com").cron == "0 */4 * * *"
    assert schedule.for_forge("gitea.example.org").interval_hours == 0.5
    assert schedule.for_forge("gogs.example.org").interval_hours == 6.0
    assert load_config(write(tmp_path, "g.example.org:\n  forge: gogs\n")).schedule == ScheduleConfig()
    bad = write(
        tmp_path,
        """\
        g.example.org:
          forge: gogs
        schedule:
          forges:
            g.example.org: {cron: "61 * * * *", interval_hours: 1}
        shedule: {}
        """,
    )
    found = [(p.line, p.key_path, p.expected) for p in problems_of(bad)]
    assert found[0] == (5, "schedule.forges.g.example.org", "exactly one of cron or interval_hours")
    assert found[1][:2] == (6, "shedule") and "did you mean `schedule`?" in found[1][2]
    bad.write_text(
        'g.example.org:\n  forge: gogs\nschedule:\n  forges:\n    g.example.org: {cron: "61 * * * *"}\n'
    )
    [problem] = problems_of(bad)
    assert problem.line == 5 and problem.expected.startswith("a valid cron expression")


def test_summary_text(valid):
    summary = summarize(valid, on=dt.date(2025, 7, 1))
    assert (
        summary["unknown_pso_id"] == 1 and summary["ignored_forges"] == 1 and summary["ignored_accounts"] == 1
    )
    assert summary["missing_pso_id"] == 7 and summary["without_ministry"] == 7 and summary["units"] == 14
    text = format_summary(summary)
    assert "forges: 8 (github 2, gitlab 2, forgejo 1, gitea 1, gogs 1, sourcehut 1)" in text
    assert "whole-forge entries: 4" in text and "ignored on 2025-07-01: 1 forge, 1 account" in text


# ------------------------------------------------------------------------------------------------ CLI


def test_cli_check_ok_and_broken():
    runner = CliRunner()
    ok = runner.invoke(config_group, ["check", str(REAL)])
    assert ok.exit_code == 0, ok.output
    assert "forges: 93 (gitlab 91, github 1, gogs 1)" in ok.output
    assert "accounts: 300 on 6 forges; whole-forge entries: 87" in ok.output
    broken = runner.invoke(config_group, ["check", str(FIXTURES / "broken.yml")])
    assert broken.exit_code == 2
    lines = broken.output.splitlines()
    assert len(lines) == len(BROKEN) + 1 and lines[-1].endswith(f"{len(BROKEN)} problems, nothing done")
    syntax = runner.invoke(config_group, ["check", str(FIXTURES / "syntax_error.yml")])
    assert syntax.exit_code == 2 and "syntax_error.yml:6: (yaml)" in syntax.output


def test_cli_uses_the_main_group_config_path_when_no_file_is_given():
    result = CliRunner().invoke(
        config_group, ["check"], obj=SimpleNamespace(config_path=FIXTURES / "valid.yml")
    )
    assert result.exit_code == 0 and "valid.yml: OK" in result.output


def test_cli_show(valid):
    runner = CliRunner()
    result = runner.invoke(config_group, ["show", str(FIXTURES / "valid.yml"), "--json"])
    rows = json.loads(result.output)
    assert len(rows) == len(list(valid.accounts())) == 14
    assert rows[0] == {
        "host": "github.com", "kind": "github", "login": "etalab", "name": "Département Etalab",
        "pso_id": "db2b74d4-4dbc-4d7d-ba1b-5762e2cb06b8", "ministry": "Premier ministre", "organisation": None,
        "ignored_since": None, "ignored": False, "api_url": "https://api.github.com",
    }  # fmt: skip
    table = runner.invoke(config_group, ["show", str(FIXTURES / "valid.yml")]).output.splitlines()
    assert table[0].split() == ["host", "login", "pso_id", "ministry", "ignored"]
    assert any(line.startswith("gitea.example.org") and "(whole forge)" in line for line in table)
