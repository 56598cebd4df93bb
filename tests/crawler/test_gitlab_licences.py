"""GitLab's licence keys, old (licensee) and recent (Gitaly: lower-case SPDX ids), through the real adapter against
the simulated GitLab: the same licence comes out as the same current SPDX id either way."""

from __future__ import annotations

import pytest

from crawler.forges.base import KnownState
from crawler.forges.gitlab.adapter import GitLabAdapter
from tests.crawler.gitlab_support import NOW, running, target, world_with
from tests.support import FakeClock

KEYS = {"gpl-3.0": 0, "agpl-3.0": 1, "lgpl-2.1": 2, "etalab-2.0": 3, "cecill-2.1": 4, "osl-3.0": 5, "mit": 6,
        "other": 7, None: 8}
# what each style makes of the seed's licence: Gitaly knows the -only / -or-later suffixes and Etalab
EXPECTED = {
    "licensee": {"gpl-3.0": "GPL-3.0-only", "agpl-3.0": "AGPL-3.0-only", "lgpl-2.1": "LGPL-2.1-only",
                 "etalab-2.0": "Other", "cecill-2.1": "CECILL-2.1", "osl-3.0": "OSL-3.0", "mit": "MIT",
                 "other": "Other", None: None},
    "gitaly": {"gpl-3.0": "GPL-3.0-or-later", "agpl-3.0": "AGPL-3.0-only", "lgpl-2.1": "LGPL-2.1-only",
               "etalab-2.0": "etalab-2.0", "cecill-2.1": "CECILL-2.1", "osl-3.0": "OSL-3.0", "mit": "MIT",
               "other": "Other", None: None},
}


@pytest.mark.parametrize("style", ["licensee", "gitaly"])
def test_licence_keys_of_both_gitlab_generations(style):
    world = world_with({"licences": len(KEYS)})
    sim = next(iter(world.hosts.values()))
    sim.licence_keys = style
    projects = sorted(sim.repos.values(), key=lambda r: r.id)
    for project, key in zip(projects, KEYS, strict=True):
        project.license_key = key
    with running(world) as forge:
        crawl = GitLabAdapter(clock=FakeClock(NOW), timeout=5, max_retries=1).crawl(target(forge, "licences"),
                                                                                    KnownState())
    got = {r.forge_id: r.license_spdx for r in crawl.repositories}
    assert {key: got[project.id] for project, key in zip(projects, KEYS, strict=True)} == EXPECTED[style]
