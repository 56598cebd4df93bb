"""On the whole seed data (the real code.gouv.fr export of 2021), GitLab listed by GraphQL gives, record by record,
licences and languages included, what the REST-only crawl gives; and at ≤ 1.7 requests per project."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from crawler.forges.base import KnownState, Target
from crawler.forges.gitlab import graphql
from crawler.forges.gitlab.adapter import GitLabAdapter
from index.records import OutcomeStatus
from simforge.licences import gitlab_license_key
from simforge.seed import seed_from_codegouvfr
from simforge.server import SimForge
from tests.support import FakeClock

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@pytest.mark.slow
def test_graphql_and_rest_give_the_same_records_on_the_seed_data():
    world = seed_from_codegouvfr(now=NOW)
    hosts = sorted(h for h, sim in world.hosts.items() if sim.kind == "gitlab")
    projects = sum(len(world.host(h).repos) for h in hosts)
    requests = {"auto": 0, "never": 0}
    others = 0
    with SimForge(world) as forge:
        for host in hosts:
            target = Target(host, "gitlab", forge.api_url(host), None, token="glpat-seed")
            records = {}
            for mode in ("auto", "never"):
                graphql.forget_probes()
                crawl = GitLabAdapter(clock=FakeClock(NOW), graphql=mode).crawl(target, KnownState())
                assert crawl.status is OutcomeStatus.OK and crawl.complete, (host, mode, crawl.error)
                requests[mode] += crawl.cost.requests
                records[mode] = {r.forge_id: dataclasses.replace(r, kept=frozenset(), marks=None)
                                 for r in crawl.repositories}
            assert records["auto"] == records["never"], host
            # "Other" only where the forge itself said "other" (an older GitLab's licensee knows no Etalab-2.0),
            # whatever its key style: a known SPDX licence always comes out as its SPDX id
            style = world.host(host).licence_keys
            for pid, record in records["auto"].items():
                sim = world.host(host).repos[pid]
                said = gitlab_license_key(sim.license_key, style)[0] if sim.license_key and not sim.empty else None
                assert (record.license_spdx == "Other") == (said == "other"), (said, record)
                others += record.license_spdx == "Other"
    assert projects > 3000 and others > 0
    assert requests["auto"] / projects <= 1.7, requests
