"""`codeindex demo`: the whole pipeline offline, on a simulated forge seeded with real data.

Starts the simulated forge with the real code.gouv.fr export of 2021 (about 9,000 repositories on github.com and
31 GitLab hosts), writes a configuration pointing every forge's api_url at it, crawls it into the index and
exports. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import Engine

if TYPE_CHECKING:
    from crawler.runner import RunSummary

DEMO_TOKEN_ENV = "CODEINDEX_DEMO_TOKEN"


class DemoResult(TypedDict):
    summary: RunSummary
    stats: dict[str, dict[str, int]]  # per simulated host, its request counters
    seconds: float  # the crawl's, from seeding the simulated forge to the end of the crawl


def run_demo(
    engine: Engine, out_dir: Path, *, scale: int = 1, echo: Callable[[str], None] = print
) -> DemoResult:
    from crawler.config import load_config
    from crawler.runner import plan, run_crawl
    from index.export.build import export_index
    from simforge.seed import seed_from_codegouvfr
    from simforge.server import SimForge

    started = time.monotonic()
    world = seed_from_codegouvfr(scale=scale)
    total = sum(len(h.repos) for h in world.hosts.values())
    echo(f"simulated forge: {len(world.hosts)} hosts, {total} repositories (code.gouv.fr export of 2021, x{scale})")
    # the simulated forge accepts any token; GitHub's GraphQL API needs one
    os.environ.setdefault(DEMO_TOKEN_ENV, "demo-token-not-a-secret")
    with SimForge(world) as forge, tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "organisations.yml"
        config_path.write_text(forge.config_yaml(token_env=DEMO_TOKEN_ENV), encoding="utf-8")
        config = load_config(config_path)
        units = plan(config)
        echo(f"crawling {len(units)} accounts on {forge.base_url} …")
        summary = run_crawl(engine, config, units, trigger="demo")
        stats = forge.stats()
    crawl_seconds = time.monotonic() - started
    report = export_index(engine, out_dir)
    echo(
        f"crawl: {summary.status} in {crawl_seconds:.0f} s — accounts ok {summary.accounts_ok}, failed "
        f"{summary.accounts_failed}; repositories new {summary.repos_new}; requests {summary.requests}"
    )
    by_kind: dict[str, int] = {}
    for host, counters in stats.items():
        kind = world.hosts[host].kind
        by_kind[kind] = by_kind.get(kind, 0) + counters.get("requests", 0)
    echo("requests per forge kind: " + ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())))
    echo(f"exported to {out_dir}/: {report.summary()}")
    echo("next: open export/repositories.json, or try `codeindex runs`, `codeindex status`, `codeindex check URL`")
    return {"summary": summary, "stats": stats, "seconds": crawl_seconds}
