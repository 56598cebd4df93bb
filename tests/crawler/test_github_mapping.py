"""GitHub JSON → records, from real recorded bodies (shared/forgedata) and the simulator's GraphQL shape."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

from crawler.forges.github import mapping as m
from index.records import AccountKind, Visibility
from tests.support import shared_file


def data(*parts: str) -> Path:
    """A recorded body under ../shared/forgedata; the test fails when it is missing."""
    return shared_file("forgedata", *parts)


def replay_body(name: str, index: int = 0) -> object:
    lines = data("pygithub-replay", name).read_text().split("\n")
    return json.loads(lines[index * 11 + 9])


def test_rest_full_repository_recorded_2025():
    item = replay_body("Repository.setUp.txt")
    record = m.repo_from_rest(item)
    assert record.full_name == "PyGithub/PyGithub" and record.owner_path == "PyGithub"
    assert record.license_spdx == "LGPL-3.0-only" and record.visibility is Visibility.PUBLIC
    assert record.pushed_at == dt.datetime(2024, 12, 19, 12, 1, 11, tzinfo=dt.UTC)
    assert "pygithub" in record.topics and record.stars == 7122 and record.signals is None


def test_rest_openapi_examples_and_null_pushed_at():
    items = json.loads(data("github-openapi-examples", "minimal-repository-items.json").read_text())
    record = m.repo_from_rest(items[0])
    assert record.forge_id == items[0]["id"] and record.html_url == items[0]["html_url"]
    full = json.loads(data("github-openapi-examples", "full-repository-default-response.json").read_text())
    assert m.repo_from_rest(full).watchers == full["subscribers_count"]
    old = replay_body("Organization.testGetRepos.txt")
    empties = [m.repo_from_rest(i) for i in old if i.get("pushed_at") is None]
    assert all(r.empty and r.pushed_at is None for r in empties)


def test_rest_account_recorded():
    org = m.account_from_rest(replay_body("Organization.setUp.txt"))
    assert org.kind is AccountKind.ORGANIZATION and org.login == "BeaverSoftware"
    assert org.website == "http://www.example.com" and org.location == "Paris, France"
    assert org.created_at == dt.datetime(2014, 1, 9, 16, 56, 17, tzinfo=dt.UTC)


def test_noassertion_licence_is_other():
    item = {"id": 1, "name": "x", "full_name": "o/x", "html_url": "https://github.com/o/x", "pushed_at": None,
            "license": {"key": "other", "name": "Other", "spdx_id": "NOASSERTION", "url": None}}
    assert m.repo_from_rest(item).license_spdx == "Other"


def test_graphql_node_maps_signals():
    node = {
        "databaseId": 5, "name": "r", "nameWithOwner": "o/r", "url": "https://github.com/o/r", "visibility": "INTERNAL",
        "isEmpty": False, "pushedAt": "2026-01-02T03:04:05Z", "stargazerCount": 3, "forkCount": 1,
        "watchers": {"totalCount": 2}, "issues": {"totalCount": 4}, "primaryLanguage": {"name": "Go"},
        "licenseInfo": {"key": "other", "spdxId": "NOASSERTION"},
        "repositoryTopics": {"nodes": [{"topic": {"name": "a"}}]}, "parent": {"url": "https://github.com/u/r"},
        "defaultBranchRef": {"name": "main", "target": {"committedDate": "2026-01-02T03:04:05Z", "history": {
            "totalCount": 120, "nodes": [{"author": {"email": "A@x"}}, {"author": {"email": "a@x"}}, {"author": {"email": "b@x"}}]}}},
        "root": {"entries": [{"name": "README.rst"}, {"name": "COPYING"}, {"name": "CHANGES.md"}, {"name": "publiccode.yml"}]},
        "publiccode": {"text": "name: [broken"}, "releases": {"totalCount": 7},
        "latestRelease": {"publishedAt": "2025-12-01T00:00:00Z"},
    }
    record = m.repo_from_graphql(node)
    assert record.visibility is Visibility.INTERNAL and record.license_spdx == "Other" and record.fork is False
    assert (record.watchers, record.open_issues, record.language, record.topics) == (2, 4, "Go", ("a",))
    s = record.signals
    assert (s.commits_365d, s.contributors_365d, s.releases_count) == (120, 2, 7)
    assert s.has_readme and s.has_license and s.has_changelog and not s.has_contributing and s.has_publiccode
    assert s.publiccode.valid is False


def test_replay_headers_parse():  # keeps the replay reader honest about the file format
    lines = data("pygithub-replay", "Organization.setUp.txt").read_text().split("\n")
    assert dict(ast.literal_eval(lines[8]))["X-RateLimit-Resource"] == "core"
