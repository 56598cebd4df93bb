"""`codeindex status` and `codeindex check` on the scenario index: every reason in human and JSON output, the
YAML proposed for an account that is not configured (and that it loads), URL forms, exit codes."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from crawler.cli import Context
from crawler.cli.status import check_command, status_command
from crawler.config import load_config
from crawler.referencing import URLProblem, apply_proposal, parse_forge_url, propose
from tests.index.test_status_scenario import EXPECTED, build_scenario, validate_against

CONFIG = """\
github.com:
  forge: github
  owners:
    etalab:
      name: Département Etalab
      ministry: Premier ministre
    someuser:
    ghost:
    tokenless:
    limited:
    old-org:
      ignored_since: 2026-01-01
    newbie:
    emptyorg:
    broken:
    stopped:
    newcomer:
    retired:
      ignored_since: 2020-01-01
gitlab.com:
  forge: gitlab
  owners:
    dinum/sub:
git.down.example.org:
  forge: gitlab
gitea.example.org:
  forge: gitea
"""


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    """The scenario built once on SQLite (the index tests run it on PostgreSQL too); tests copy it."""
    from index.db import open_index

    folder = tmp_path_factory.mktemp("status-cli")
    engine = open_index(f"sqlite:///{folder / 'index.sqlite'}")
    build_scenario(engine)
    engine.dispose()
    return folder / "index.sqlite"


@pytest.fixture
def env(scenario_file, tmp_path):
    database = tmp_path / "index.sqlite"
    shutil.copy(scenario_file, database)
    config = tmp_path / "organisations.yml"
    config.write_text(CONFIG, encoding="utf-8")
    return Context(f"sqlite:///{database}", config, "text", 0)


def run(env, command, *args):
    return CliRunner().invoke(command, list(args), obj=env, catch_exceptions=False)


def run_json(env, command, *args):
    result = run(env, command, *args, "--json")
    doc = json.loads(result.output)
    validate_against("status.schema.json" if command is status_command else "check.schema.json", doc)
    return result.exit_code, doc


def _target(key):
    host, _, login = key.partition("/")
    return host if login == host else f"https://{key}"


# status ------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_status_of_each_account_human_and_json(env, key):
    reason, listed = EXPECTED[key]
    code, doc = run_json(env, status_command, _target(key))
    account = next(a for a in doc["accounts"] if f"{a['forge']}/{a['login']}" == key)
    assert (account["reason"], account["listed"]) == (reason, listed)
    assert code == (0 if listed else 1)
    human = run(env, status_command, _target(key)).output
    assert f"{'LISTED' if listed else 'NOT LISTED'}: {account['label']}" in human or (
        account["label"] in human and key in human)
    assert account["explanation"].split(" (")[0][:40] in human


def test_status_account_detail_shows_coverage_and_changes(env):
    human = run(env, status_command, "https://github.com/etalab/").output
    assert "licence: 7/9 (78%) with an SPDX licence; without: etalab/nolicence, etalab/void" in human
    assert "invalid: etalab/badpc: legal.license: missing <b>key</b>" in human
    assert "without description: etalab/nolicence" in human
    assert "new: etalab/fresh; gone: etalab/deleted; renamed: etalab/renamed-before -> etalab/renamed-now" in human
    assert "not exported: gone 1, private 1, internal 1; flagged: fork 1, archived 1, empty 1" in human


def test_status_summary_of_everything(env):
    result = run(env, status_command)
    assert result.exit_code == 0
    assert "By ministry" in result.output and "Premier ministre" in result.output
    lines = result.output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("account "))
    assert set(lines[header + 1]) <= {"-", " "}  # an aligned table with its rule
    row = next(line for line in lines if line.startswith("github.com/old-org "))
    assert " NO " in row and "ignored" in row
    code, doc = run_json(env, status_command)
    assert doc["summary"]["accounts"] == len(EXPECTED)
    assert doc["summary"]["by_reason"]["ok"] == 2
    assert [e["login"] for e in doc["unindexed"]] == ["newcomer"]  # configured after the last crawl
    assert doc["unindexed"][0]["reason"] == "never_crawled"
    assert "repository_list" not in doc["accounts"][0]


@pytest.mark.parametrize("target, logins", [
    ("education", {"someuser", "old-org", "newbie", "dinum/sub", "git.down.example.org"}),
    ("MINISTÈRE DE L'EDUCATION", {"someuser", "old-org", "newbie", "dinum/sub", "git.down.example.org"}),
    ("premier", {"etalab", "ghost", "tokenless", "limited", "emptyorg", "dropped"}),
    ("a515667c-6dc0-4544-a1a8-2cf13d7da23b", {"etalab", "ghost", "tokenless", "limited", "emptyorg", "dropped"}),
    ("gitlab.com", {"dinum/sub"}),
])
def test_status_selects_by_ministry_pso_id_or_host(env, target, logins):
    code, doc = run_json(env, status_command, target)
    assert {a["login"] for a in doc["accounts"]} == logins and code == 0


def test_status_of_nothing_known(env):
    result = run(env, status_command, "ministère de la magie")
    assert result.exit_code == 1 and "no account matches" in result.output


def test_status_not_configured_proposes_yaml_that_loads(env):
    code, doc = run_json(env, status_command, "https://github.com/Unknown-Org")
    assert code == 1 and doc["accounts"] == []
    entry = doc["unindexed"][0]
    assert entry["reason"] == "not_configured" and entry["login"] == "Unknown-Org"
    assert entry["proposed_yaml"].startswith("github.com:\n  owners:\n    Unknown-Org:\n      pso_id: ")
    assert entry["after_line"] == 3
    human = run(env, status_command, "https://github.com/Unknown-Org").output
    assert "NOT LISTED: not in the configuration" in human and "    Unknown-Org:" in human


def test_status_configured_but_not_crawled_and_ignored_in_config(env):
    _, doc = run_json(env, status_command, "https://github.com/newcomer")
    assert doc["unindexed"][0]["reason"] == "never_crawled" and "line 17" in doc["unindexed"][0]["explanation"]
    code, doc = run_json(env, status_command, "https://github.com/retired")
    assert code == 1 and doc["unindexed"][0]["reason"] == "ignored"
    assert "ignored since 2020-01-01" in doc["unindexed"][0]["explanation"]


def test_status_without_configuration_still_answers_from_the_index(env, tmp_path):
    env.config_path = tmp_path / "missing.yml"
    result = CliRunner().invoke(status_command, ["https://github.com/etalab"], obj=env)
    assert result.exit_code == 0 and "LISTED: listed" in result.output
    assert "warning: configuration" in result.output  # stderr is mixed in by CliRunner


# proposals ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, login, host_line", [
    ("https://github.com/new-org/some-repo", "new-org", "github.com:"),
    ("https://gitlab.com/newgroup/sub/project", "newgroup", "gitlab.com:"),
    ("https://git.new.example.net/team/app.git", "team", "git.new.example.net:"),
    ("https://github.com/1024", "1024", "github.com:"),
])
def test_proposed_yaml_inserted_in_the_file_loads(env, tmp_path, url, login, host_line):
    config = load_config(env.config_path)
    proposal = propose(config, parse_forge_url(url), account=False)
    assert proposal.yaml.startswith(host_line + "\n")
    updated = tmp_path / "updated.yml"
    updated.write_text(apply_proposal(env.config_path.read_text(), proposal), encoding="utf-8")
    reloaded = load_config(updated)
    forge = reloaded.forge(parse_forge_url(url).host)
    assert forge.owner(login) is not None
    assert len(reloaded.forges) == len(config.forges) + (0 if host_line[:-1] in {"github.com", "gitlab.com"} else 1)


# check -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "https://github.com/etalab/good", "https://github.com/etalab/good.git", "https://github.com/etalab/good/",
    "http://www.github.com/Etalab/Good", "github.com/etalab/good", "git@github.com:etalab/good.git",
    "https://github.com/etalab/good/tree/main/src",
])
def test_check_url_forms_find_the_repository(env, url):
    code, doc = run_json(env, check_command, url)
    assert code == 0 and doc["reason"] == "exported" and doc["record"]["full_name"] == "etalab/good"
    assert doc["url"] == url


def test_check_human_output(env):
    result = run(env, check_command, "https://gitlab.com/dinum/sub/project/-/tree/main")
    assert result.exit_code == 0
    assert result.output.startswith("https://gitlab.com/dinum/sub/project/-/tree/main: EXPORTED")
    assert "account: gitlab.com/dinum/sub (group), ministry Ministère de l'Éducation" in result.output
    assert "exported record:" in result.output and "full_name" in result.output


@pytest.mark.parametrize("url, reason, text", [
    ("https://github.com/etalab/secret", "private", "NOT exported — it is private"),
    ("https://github.com/etalab/deleted", "gone", "since 2026-11-01T18:00:00Z"),
    ("https://github.com/etalab/renamed-before", "renamed", "now at etalab/renamed-now"),
    ("https://github.com/old-org/legacy", "ignored", "ignored since 2026-01-01"),
    ("https://github.com/someuser/dotfiles", "exported", "EXPORTED"),
    ("https://github.com/newbie/app", "never_crawled", "no crawl has reached it yet"),
    ("https://github.com/newcomer/app", "never_crawled", "not yet in the index"),
    ("https://git.down.example.org/team/x", "unreachable", "connection refused"),
    ("https://gitea.example.org/team/x", "unsupported", "not supported"),
    ("https://github.com/tokenless/x", "auth", "401 Bad credentials"),
    ("https://github.com/limited/other", "not_seen", "was not among its public repositories"),
])
def test_check_reasons(env, url, reason, text):
    code, doc = run_json(env, check_command, url)
    assert doc["reason"] == reason
    assert code == (0 if reason == "exported" else 1)
    human = run(env, check_command, url).output
    assert text in human


def test_check_not_configured_shows_the_yaml(env):
    code, doc = run_json(env, check_command, "https://gitlab.com/newgroup/sub/project")
    assert code == 1 and doc["reason"] == "not_configured" and not doc["found"]
    assert "    newgroup:" in doc["proposed_yaml"]
    human = run(env, check_command, "https://gitlab.com/newgroup/sub/project").output
    assert "proposed lines for the configuration:" in human and "gitlab.com:" in human


@pytest.mark.parametrize("url", ["not a url", "ftp://github.com/etalab", "https://github.com", "https:///etalab"])
def test_check_usage_errors_exit_2(env, url):
    result = CliRunner().invoke(check_command, [url], obj=env)
    assert result.exit_code == 2 and "error:" in result.output


@pytest.mark.parametrize("text", ["not a url", "https://github.com/", "mailto:x@y"])
def test_parse_rejects(text):
    with pytest.raises(URLProblem):
        parse_forge_url(text)


def test_forge_text_cannot_drive_the_terminal(env):
    from index.db import open_index
    from index.records import OutcomeStatus
    from index.upsert import record_account_crawl, start_run
    from tests.index.test_status_scenario import NOW, _crawl

    engine = open_index(env.db_url)
    run_id = start_run(engine)
    record_account_crawl(engine, run_id, _crawl("broken", status=OutcomeStatus.FAILED,
                                                error="boom\x1b[2J\x1b]0;pwned\x07\rfake line"), now=NOW)
    engine.dispose()
    for args in (["https://github.com/broken"], []):
        output = run(env, status_command, *args).output
        assert "\x1b" not in output and "\x07" not in output and "\r" not in output
        assert "boom" in output


def test_status_usage_error_exit_2(env):
    result = CliRunner().invoke(status_command, ["https://github.com/"], obj=env)
    assert result.exit_code == 2 and "names a forge, not an account" in result.output


EDUCATION = "Ministère de l'Éducation nationale et de la Jeunesse"
EDUCATION_LOGINS = {"someuser", "old-org", "newbie", "dinum/sub", "git.down.example.org"}


@pytest.mark.parametrize("target", [EDUCATION, "menj", "3ed2f725-e077-4973-a531-498e13fc7861",
                                    "3ED2F725-E077-4973-A531-498E13FC7861"])
def test_status_names_a_ministry_by_name_acronym_or_id(env, tmp_path, target):
    from crawler.annuaire import update_directory
    from index.db import open_index
    from tests.annuaire_support import roae_service, roae_zip
    from tests.support import ROOT

    shutil.copy(ROOT / "config" / "ministries.yml", tmp_path / "ministries.yml")
    directory = tmp_path / "dila.zip"
    directory.write_bytes(roae_zip([roae_service("3ed2f725-e077-4973-a531-498e13fc7861", EDUCATION, sigle="MENJ")]))
    engine = open_index(env.db_url)
    update_directory(engine, str(directory))
    engine.dispose()
    code, doc = run_json(env, status_command, target)
    assert doc["scope"] == {"kind": "ministry", "value": EDUCATION}
    assert {a["login"] for a in doc["accounts"]} == EDUCATION_LOGINS
    assert {a["ministry"] for a in doc["accounts"]} == {EDUCATION}
