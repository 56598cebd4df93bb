"""The pure project JSON → RepositoryRecord mapping, from bodies recorded on gitlab.com and GitLab's docs."""

from __future__ import annotations

import datetime as dt
import json

from crawler.forges.common import parse_time, tree_flags
from crawler.forges.gitlab.mapping import licence_of, main_language, project_to_record
from index.records import Visibility
from tests.support import shared_file


def load(name: str):
    return json.loads(shared_file("forgedata", name).read_text(encoding="utf-8"))


def test_real_gitlab_com_project_2017():
    record = project_to_record(load("gitlab-real/perceval-gitlab-project-fdroid-data.json"))
    assert (record.forge_id, record.full_name, record.owner_path) == (36528, "fdroid/fdroiddata", "fdroid")
    assert record.html_url == "https://gitlab.com/fdroid/fdroiddata" and record.default_branch == "master"
    assert (record.stars, record.forks) == (295, 789) and record.visibility is Visibility.PUBLIC
    assert record.created_at == dt.datetime(2014, 3, 19, 13, 18, 45, tzinfo=dt.UTC)
    assert record.pushed_at == dt.datetime(2017, 12, 12, 10, 32, 26, 906000, tzinfo=dt.UTC)
    assert not record.fork and not record.empty and record.license_spdx is None and record.watchers is None


def test_real_project_from_publiccode_crawler():
    record = project_to_record(load("gitlab-real/publiccode-crawler-metadata-repo-gitlab.json"))
    assert record.full_name == "blockheads/afk-plus" and record.topics == ()


def test_docs_project_with_license_true():
    data = load("gitlab-docs-examples/project-get-license-true.json")
    record = project_to_record(data)
    assert record.license_spdx == "LGPL-3.0-only" and licence_of(data) == "LGPL-3.0-only"
    assert record.visibility is Visibility.PRIVATE and record.topics == ("example", "disapora project")
    assert record.open_issues == 1 and record.archived is False


def test_docs_shared_project_list_item():
    (item,) = load("gitlab-docs-examples/group-shared-projects-list.json")
    record = project_to_record(item)
    assert record.owner_path == "h5bp" and record.open_issues == 10 and record.updated_at is not None


def test_docs_group_projects_list():
    for item in load("gitlab-docs-examples/group-projects-list.json"):
        record = project_to_record(item)
        assert record.full_name == item["path_with_namespace"] and record.forge_id == item["id"]


def test_fork_and_empty_and_unknown_licence():
    base = load("gitlab-docs-examples/project-get-license-true.json")
    fork = project_to_record({**base, "forked_from_project": {"id": 1, "web_url": "https://gitlab.com/up/x"}})
    assert fork.fork and fork.parent_url == "https://gitlab.com/up/x"
    empty = project_to_record({**base, "empty_repo": True, "default_branch": None})
    assert empty.empty and empty.pushed_at is None
    odd = project_to_record({**base, "license": {"key": "other", "name": "Other"}})
    assert odd.license_spdx == "Other"
    assert project_to_record({**base, "license": None}).license_spdx is None


def test_helpers():
    assert main_language({"Python": 12.5, "JavaScript": 80.1, "Shell": 7.4}) == "JavaScript"
    assert main_language({}) is None
    assert parse_time("2024-06-28T03:44:20-07:00") == dt.datetime(2024, 6, 28, 10, 44, 20, tzinfo=dt.UTC)
    assert parse_time(None) is None and parse_time("garbage") is None
    flags = tree_flags(["README.md", "COPYING", "CHANGELOG", "publiccode.yml", "src"])
    assert flags == {"has_readme": True, "has_license": True, "has_contributing": False, "has_changelog": True,
                     "has_publiccode": True}


def test_commit_dates_from_recorded_commits():
    commits = load("gitlab-real/perceval-gitlab-commits_1.json")
    assert all(parse_time(c["committed_date"]).tzinfo is dt.UTC for c in commits)
