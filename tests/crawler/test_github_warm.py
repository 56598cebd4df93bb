"""A warm GitHub re-crawl (conditional REST) must describe unchanged repositories exactly as the cold crawl
(GraphQL) did: otherwise every re-crawl "updates" them, or blanks what REST does not list."""

import dataclasses

from crawler.forges.base import KnownRepo, KnownState, Target
from crawler.forges.github.adapter import GitHubAdapter


def test_warm_records_equal_cold_records(simforge):
    compared = 0
    for login in ("bigorg", "etalab", "jdupont"):
        target = Target("github.com", "github", simforge.api_url("github.com"), login, "test-token-123456")
        cold = GitHubAdapter().crawl(target, KnownState())
        known = KnownState(
            validators={v.key: v for v in cold.validators},
            repos={r.forge_id: KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at, cold.finished_at,
                                         r.license_spdx, r.language, r.watchers, r.parent_url)
                   for r in cold.repositories},
        )
        warm = GitHubAdapter().crawl(target, known)
        assert warm.status.value == "ok" and warm.complete
        before = {r.forge_id: dataclasses.replace(r, signals=None) for r in cold.repositories}
        for record in warm.repositories:
            assert dataclasses.replace(record, signals=None) == before[record.forge_id], record.full_name
            compared += 1
        assert {r.forge_id for r in warm.repositories} | set(warm.unchanged_ids) == set(before)
    assert compared > 250
