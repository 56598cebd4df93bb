"""`status` on a large index stays readable: long lists are cut with "… and N more (see --json)", an account never
crawled successfully says so, and GitLab's /groups/ URLs (the export's own owner.url) name the group."""

from __future__ import annotations

import re

import pytest

from crawler.cli.status import check_command, status_command
from crawler.referencing import parse_forge_url
from tests.crawler.test_status_cli import env, run, run_json, scenario_file  # noqa: F401  (fixtures)


def test_long_lists_are_cut_and_point_at_json(env, monkeypatch):  # noqa: F811
    import crawler.cli.status as status

    full = run(env, status_command).output
    monkeypatch.setattr(status, "ROWS_SHOWN", 3)
    monkeypatch.setattr(status, "WHY_SHOWN", 2)
    monkeypatch.setattr(status, "NAMES_SHOWN", 1)
    _, doc = run_json(env, status_command)
    cut = run(env, status_command).output
    assert len(cut.splitlines()) < len(full.splitlines())
    assert f"… and {len(doc['accounts']) - 3} more (see --json)" in cut
    problems = [a for a in doc["accounts"] if a["reason"] != "ok"]
    assert f"  … and {len(problems) - 2} more (see --json)" in cut
    account = run(env, status_command, "https://github.com/etalab/").output
    assert re.search(r"; without: etalab/\w+ … and 1 more \(see --json\)", account), account


def test_an_account_never_crawled_successfully_says_nothing_crawled_yet(env):  # noqa: F811
    _, doc = run_json(env, status_command)
    never = [a for a in doc["accounts"] if a["listed"] and a["crawl"]["last_success_at"] is None
             and not a["repositories"]["seen"]]
    assert never, "the scenario holds a listed account no crawl has read"
    human = run(env, status_command, f"https://{never[0]['forge']}/{never[0]['login']}").output
    assert "LISTED, nothing crawled yet:" in human
    table = run(env, status_command).output
    row = next(line for line in table.splitlines() if line.startswith(f"{never[0]['forge']}/{never[0]['login']} "))
    assert "yes, nothing crawled yet" in row


@pytest.mark.parametrize("url, path", [
    ("https://gitlab.com/groups/cortext", "cortext"),
    ("https://gitlab.com/groups/dinum/sub", "dinum/sub"),
    ("https://gitlab.com/groups/dinum/sub/-/issues", "dinum/sub"),
    ("https://gitlab.com/users/jdupont", "jdupont"),
    ("https://gitlab.com/dinum/groups", "dinum/groups"),  # only a leading prefix is GitLab's
])
def test_gitlab_group_and_user_pages_name_the_account(url, path):
    assert parse_forge_url(url, "gitlab").path == path


def test_check_and_status_read_gitlab_group_urls(env):  # noqa: F811
    code, doc = run_json(env, check_command, "https://gitlab.com/groups/dinum/sub")
    assert doc["account"] and doc["account"]["login"] == "dinum/sub", doc
    code, doc = run_json(env, status_command, "https://gitlab.com/groups/dinum/sub")
    assert [a["login"] for a in doc["accounts"]] == ["dinum/sub"]
    code, doc = run_json(env, status_command, "https://gitlab.com/groups/cortext")
    assert code == 1 and doc["unindexed"][0]["login"] == "cortext"
    assert "    cortext:" in doc["unindexed"][0]["proposed_yaml"] and "groups" not in doc["unindexed"][0]["proposed_yaml"]
