"""`check_path`: every answer a repository or account path can get, validated against check.schema.json."""

import pytest

from index.status.check import check_path
from tests.index.test_status_scenario import NOW, build_scenario, validate_against


@pytest.fixture
def built(engine):
    build_scenario(engine)
    return engine


def _check(engine, host, path):
    doc = check_path(engine, host, path, now=NOW)
    doc["url"] = f"https://{host}/{path}"
    validate_against("check.schema.json", doc)
    return doc


def test_exported_repository_shows_the_export_record(built):
    doc = _check(built, "github.com", "Etalab/Good")
    assert (doc["found"], doc["exported"], doc["reason"], doc["target"]) == (True, True, "exported", "repository")
    assert doc["record"]["full_name"] == "etalab/good" and doc["record"]["ministry"] == "Premier ministre"
    assert doc["record"]["publiccode"]["valid"] is True
    assert doc["account"]["login"] == "etalab" and doc["account"]["reason"] == "ok"


@pytest.mark.parametrize("path, reason, text", [
    ("etalab/secret", "private", "private on the forge"),
    ("etalab/intranet", "internal", "internal on the forge"),
    ("etalab/deleted", "gone", "no longer lists it"),
    ("etalab/renamed-before", "renamed", "renamed: now at etalab/renamed-now (https://github.com/etalab/renamed-now)"),
    ("old-org/legacy", "ignored", "ignored since 2026-01-01"),
    ("dropped/x", "removed_from_configuration", "no longer in the configuration"),
    ("etalab/never-heard-of", "not_seen", "was not among its public repositories"),
    ("newbie/project", "never_crawled", "no crawl has reached it yet"),
    ("ghost/thing", "not_found", "404"),
    ("nobody/repo", "not_configured", "no configured account on github.com covers nobody/repo"),
])
def test_repository_not_exported_says_why(built, path, reason, text):
    doc = _check(built, "github.com", path)
    assert doc["exported"] is False
    assert doc["reason"] == reason
    assert text in doc["explanation"]


def test_renamed_repository_still_shows_its_current_record(built):
    doc = _check(built, "github.com", "etalab/renamed-before")
    assert doc["found"] and doc["record"]["full_name"] == "etalab/renamed-now"
    assert doc["stored"]["previous_full_names"] == ["etalab/renamed-before"]


def test_gone_repository_says_since_when(built):
    doc = _check(built, "github.com", "etalab/deleted")
    assert doc["stored"]["gone_at"] == "2026-11-01T18:00:00Z"
    assert "since 2026-11-01T18:00:00Z" in doc["explanation"]


def test_accounts(built):
    etalab = _check(built, "github.com", "etalab")
    assert (etalab["target"], etalab["exported"], etalab["reason"]) == ("account", True, "ok")
    assert etalab["record"]["login"] == "etalab"  # the organisations.json entry
    down = _check(built, "git.down.example.org", "team/project")
    assert down["reason"] == "unreachable" and "connection refused" in down["explanation"]
    unsupported = _check(built, "gitea.example.org", "team")
    assert unsupported["reason"] == "unsupported"


def test_gitlab_nested_paths_find_the_subgroup_account(built):
    doc = _check(built, "gitlab.com", "dinum/sub/project")
    assert doc["exported"] and doc["account"]["login"] == "dinum/sub"
    missing = _check(built, "gitlab.com", "dinum/sub/deeper/other")
    assert missing["reason"] == "not_seen" and missing["account"]["login"] == "dinum/sub"
    outside = _check(built, "gitlab.com", "dinum/other/project")
    assert outside["reason"] == "not_configured"


def test_unknown_forge(built):
    doc = _check(built, "git.unknown.example", "team/x")
    assert doc["reason"] == "not_configured" and "not in the configuration" in doc["explanation"]
