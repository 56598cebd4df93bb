"""Helpers shared by the GitLab tests: world builders and a running simulated forge (the clock: tests.support)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crawler.forges.base import KnownRepo, KnownState, Target
from simforge.server import SimForge
from simforge.world import SimAccount, SimCommit, SimRepo, World

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
HOST = "gitlab.test.gouv.fr"


def world_with(groups: dict[str, int], *, host: str = HOST, users: tuple[str, ...] = (),
               first_id: int = 1000) -> World:
    """A world whose groups (path → number of projects) hold cheap projects (no files, one commit)."""
    world = World()
    sim = world.add_host(host, "gitlab")
    pid = first_id
    for path in groups:
        sim.add_account(SimAccount(world.new_id(), path, "group", name=path.rsplit("/", 1)[-1].title()))
    for login in users:
        sim.add_account(SimAccount(world.new_id(), login, "user", name=login.title()))
    commit = SimCommit("c" * 40, NOW - dt.timedelta(days=3), "Ann", "ann@example.org")
    for path, count in groups.items():
        for i in range(count):
            pid += 1
            sim.add_repo(SimRepo(id=pid, namespace=path, name=f"p{i:05d}", commits=[commit],
                                 pushed_at=NOW - dt.timedelta(days=3)))
    return world


@contextmanager
def running(world: World, **options: Any) -> Iterator[SimForge]:
    with SimForge(world, options=options) as forge:
        yield forge


def target(forge: SimForge, login: str | None, *, host: str = HOST, token: str | None = None) -> Target:
    return Target(host=host, kind="gitlab", api_url=forge.api_url(host), login=login, token=token)


def known_from(crawl: Any, signals_at: dt.datetime) -> KnownState:
    """What the index would hand back after storing `crawl` (its records as KnownRepos)."""
    return KnownState(repos={r.forge_id: KnownRepo(r.forge_id, r.full_name, r.pushed_at, r.updated_at, signals_at,
                                                   r.license_spdx, r.language, None, r.parent_url, r.fork,
                                                   r.stale, r.marks or {})
                             for r in crawl.repositories})
