"""The simulated forge in a child process, driven over a pipe: seed, serve, count, mutate.

The world lives in the child only; the parent asks for stats, resets counters, and applies the 5% mutation
between crawls. The child also computes the lower bounds, since it holds the data they depend on.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing as mp
import random
import resource
from multiprocessing.connection import Connection
from typing import Any

UNLIMITED = 10**9  # the benchmark counts rate-limit points; it must never wait for a budget to refill
TOKEN_ENV = "CODEINDEX_BENCH_TOKEN"  # every forge of the bench configuration reads its (any) token from it


def _serve(conn: Connection, scale: float, latency_ms: float, sample: float | None) -> None:
    from crawler.config.model import NEVER_WHOLE
    from simforge.seed import seed_from_codegouvfr
    from simforge.server import SimForge

    world = seed_from_codegouvfr(scale=max(1, int(scale)))
    if sample is not None:
        _keep_sample(world, sample)
    options = {"github_rest_limit": UNLIMITED, "github_graphql_limit": UNLIMITED}
    with SimForge(world, latency_ms=latency_ms, options=options) as forge:
        conn.send({"config_yaml": forge.config_yaml(token_env=TOKEN_ENV), "hosts": {h: s.kind for h, s in world.hosts.items()},
                   "repositories": sum(len(s.repos) for s in world.hosts.values()),
                   "bounds": lower_bounds(world, NEVER_WHOLE)})
        while True:
            command, args = conn.recv()
            if command == "stop":
                conn.send({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024})
                return
            if command == "stats":
                conn.send(forge.stats())
            elif command == "reset":
                forge.reset_stats()
                conn.send(None)
            elif command == "mutate":
                conn.send(mutate(world, **args))
            elif command == "bounds":
                conn.send(lower_bounds(world, NEVER_WHOLE))


def _keep_sample(world: Any, fraction: float) -> None:
    """Keep a deterministic fraction of each host's accounts (and their repositories): the smoke test's world."""
    rng = random.Random(7)
    for sim in world.hosts.values():
        tops = sorted({a.path.split("/")[0].lower() for a in sim.accounts.values()})
        kept = {t for t in tops if rng.random() < fraction} or set(tops[:1])
        sim.accounts = {k: a for k, a in sim.accounts.items() if a.path.split("/")[0].lower() in kept}
        sim.repos = {i: r for i, r in sim.repos.items() if r.namespace.split("/")[0].lower() in kept}


def lower_bounds(world: Any, never_whole: frozenset[str]) -> dict[str, dict[str, int]]:
    """Per forge kind, the fewest requests that can gather the same data (see docs/benchmarks.md).

    GitHub: one listing page per 100 repositories per account (the minimal-repository object carries every
    field; GraphQL can add the signals to the same page). GitLab, per account: the group lookup plus one listing
    page per 100 projects (a whole instance: pages only; GraphQL pages carry languages, root files and releases);
    then per non-empty project the licence (`GET /projects/:id?license=true`: neither a REST list nor GraphQL
    carries it) — the floor for the fields code.gouv.fr publishes; `gitlab_signals` adds what our 365-day
    signals need that no list gives: one commit listing per project active in the last 365 days, and each
    publiccode.yml — the floor of our method."""
    out = {"github": {"requests": 0, "repositories": 0}, "gitlab": {"requests": 0, "repositories": 0},
           "gitlab_signals": {"requests": 0, "repositories": 0}}
    for host, sim in world.hosts.items():
        whole = sim.kind == "gitlab" and host not in never_whole
        tops: dict[str, int] = {}
        for account in sim.accounts.values():
            if account.parent_path is None:
                tops.setdefault(account.path.lower(), 0)
        for repo in sim.repos.values():
            if repo.visibility == "public":
                top = repo.namespace.split("/")[0].lower()
                tops[top] = tops.get(top, 0) + 1
        n = sum(tops.values())
        if sim.kind == "github":
            out["github"]["requests"] += sum(max(1, math.ceil(c / 100)) for c in tops.values())
            out["github"]["repositories"] += n
            continue
        pages = max(1, math.ceil(n / 100)) if whole else sum(1 + max(1, math.ceil(c / 100)) for c in tops.values())
        public = [r for r in sim.repos.values() if r.visibility == "public"]
        nonempty = sum(1 for r in public if not r.empty)
        year_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=365)
        active = sum(1 for r in public if not r.empty and r.pushed_at is not None and r.pushed_at >= year_ago)
        publiccode = sum(1 for r in public if not r.empty and any(f.lower() in ("publiccode.yml", "publiccode.yaml")
                                                                   for f in r.files))
        out["gitlab"]["requests"] += pages + nonempty
        out["gitlab"]["repositories"] += n
        out["gitlab_signals"]["requests"] += pages + nonempty + active + publiccode
        out["gitlab_signals"]["repositories"] += n
    return out


def mutate(world: Any, fraction: float = 0.05, seed: int = 5) -> dict[str, int]:
    """Change `fraction` of all repositories: 40% pushed, 30% starred, 20% renamed, 10% deleted."""
    rng = random.Random(seed)
    everything = [(host, rid) for host, sim in sorted(world.hosts.items()) for rid in sorted(sim.repos)]
    chosen = rng.sample(everything, max(1, round(len(everything) * fraction)))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    counts = {"push": 0, "star": 0, "rename": 0, "delete": 0}
    for index, (host, rid) in enumerate(chosen):
        share = index / len(chosen)
        if share < 0.4:
            world.push(host, rid, now - dt.timedelta(minutes=index % 50))
            counts["push"] += 1
        elif share < 0.7:
            world.star(host, rid, 1 + index % 3)
            counts["star"] += 1
        elif share < 0.9:
            repo = world.hosts[host].repos[rid]
            world.rename(host, rid, f"{repo.name}-renamed")
            counts["rename"] += 1
        else:
            world.delete(host, rid)
            counts["delete"] += 1
    return counts


class ForgeProcess:
    """`with ForgeProcess(scale, latency_ms) as forge:` — `forge.info`, `stats()`, `reset()`, `mutate()`."""

    def __init__(self, scale: float, latency_ms: float, *, sample: float | None = None):
        self.scale, self.latency_ms, self.sample = scale, latency_ms, sample
        self.info: dict[str, Any] = {}
        self.peak_rss_mb = 0.0

    def __enter__(self) -> ForgeProcess:
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.scale, self.latency_ms, self.sample),
                                 name="bench-simforge", daemon=True)
        self._proc.start()
        self.info = self._conn.recv()
        return self

    def ask(self, command: str, **args: Any) -> Any:
        self._conn.send((command, args))
        return self._conn.recv()

    def stats(self) -> dict[str, dict[str, int]]:
        stats: dict[str, dict[str, int]] = self.ask("stats")
        return stats

    def reset(self) -> None:
        self.ask("reset")

    def mutate(self, fraction: float = 0.05) -> dict[str, int]:
        changed: dict[str, int] = self.ask("mutate", fraction=fraction)
        return changed

    def __exit__(self, *exc: object) -> None:
        try:
            self.peak_rss_mb = self.ask("stop")["peak_rss_mb"]
        finally:
            self._proc.join(timeout=10)
            if self._proc.is_alive():
                self._proc.terminate()
