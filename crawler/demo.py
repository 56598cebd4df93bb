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

from crawler.wording import plural

if TYPE_CHECKING:
    from crawler.runner import RunSummary

DEMO_TOKEN_ENV = "CODEINDEX_DEMO_TOKEN"
# written into every export of the demo's index: a real export refuses that folder, and the demo a real one
DEMO_MARKER = "DEMO-DATA.txt"
_MARKER_TEXT = ("This folder holds the export of `codeindex demo`: simulated forges seeded with the code.gouv.fr "
                "export of 2021.\nIt is not real data: never publish it. `codeindex export` refuses to write a real "
                "index here.\n")


def export_folder_problem(out_dir: Path, demo: bool) -> str | None:
    """Why `out_dir` must not receive this export (the demo's into a real export, or the reverse), or None."""
    marked = (out_dir / DEMO_MARKER).is_file()
    if demo and not marked and (out_dir / "repositories.json").is_file():
        return (f"{out_dir} holds a real export: the demo never writes its simulated data there "
                "(leave --out out: the demo's own folder is export-demo/)")
    if not demo and marked:
        return (f"{out_dir} holds the demo's export ({DEMO_MARKER}): a real export is refused there; "
                "use another --out, or delete that folder")
    return None


def mark_demo_export(out_dir: Path) -> None:
    (out_dir / DEMO_MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
# the real account list, whose pso_ids the demo's accounts take (matched by account URL)
REAL_CONFIG = Path(__file__).resolve().parents[1] / "config" / "organisations.yml"


def real_pso_ids(real_config: Path) -> dict[tuple[str, str], str]:
    """(host, login lower-cased) → pso_id of each account of the real list, and (host, "") → that of each forge.

    Owners without a pso_id of their own inherit their forge's, as everywhere; the unknown placeholder is left out.
    """
    from crawler.config import UNKNOWN_PSO_ID, load_config

    config = load_config(real_config)
    found: dict[tuple[str, str], str] = {}
    for forge in config.forges:
        if forge.pso_id and forge.pso_id != UNKNOWN_PSO_ID:
            found[(forge.host, "")] = forge.pso_id
        for owner in forge.owners:
            if owner.pso_id and owner.pso_id != UNKNOWN_PSO_ID:
                found[(forge.host, owner.login.lower())] = owner.pso_id
    return found


class DemoResult(TypedDict):
    summary: RunSummary
    stats: dict[str, dict[str, int]]  # per simulated host, its request counters
    seconds: float  # the crawl's, from seeding the simulated forge to the end of the crawl


def run_demo(
    engine: Engine, out_dir: Path, *, scale: int = 1, echo: Callable[[str], None] = print,
    real_config: Path = REAL_CONFIG, db_option: str = "",
) -> DemoResult:
    """Seed, serve, crawl and export. The demo's accounts carry the pso_ids `real_config` gives the same account
    URLs, and their ministries resolve as the real list's do (ministries.yml and the directory excerpt beside it,
    or the directory stored in the index). The index must hold no real run, and `out_dir` no real export
    (MixedIndexError, before anything is seeded or written); `db_option` is what the hint's commands need to reach
    the demo's index (e.g. `--db sqlite:///codeindex-demo.sqlite`)."""
    from crawler.config import load_config
    from crawler.config.ministries import excerpt_beside
    from crawler.runner import MixedIndexError, plan, refuse_mixed_index, run_crawl
    from index.export.build import export_index
    from simforge.seed import seed_from_codegouvfr
    from simforge.server import SimForge

    refuse_mixed_index(engine, "demo")
    problem = export_folder_problem(out_dir, demo=True)
    if problem:
        raise MixedIndexError(problem)
    started = time.monotonic()
    world = seed_from_codegouvfr(scale=scale)
    total = sum(len(h.repos) for h in world.hosts.values())
    echo(f"simulated forge: {len(world.hosts)} hosts, {total} repositories (code.gouv.fr export of 2021, x{scale})")
    # the simulated forge accepts any token, and gives each GitHub's 5,000 GraphQL points an hour: one token per
    # x1 of scale, as an operator pools tokens (or uses a GitHub App) at that size (with one token, x10 left 830
    # of its 1,750 GitHub accounts rate-limited)
    os.environ.setdefault(DEMO_TOKEN_ENV, ",".join(f"demo-token-{n}-not-a-secret" for n in range(1, scale + 1)))
    with SimForge(world) as forge, tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "organisations.yml"
        pso_ids = real_pso_ids(real_config) if real_config.is_file() else {}
        config_path.write_text(forge.config_yaml(token_env=DEMO_TOKEN_ENV, pso_ids=pso_ids), encoding="utf-8")
        ministries = real_config.parent / "ministries.yml"
        config = load_config(config_path, ministries if ministries.is_file() else None,
                             excerpt_beside(real_config))
        with_pso = sum(1 for forge_config, owner in config.accounts() if (owner or forge_config).pso_id)
        echo(f"{with_pso} of the demo's accounts take their pso_id from {real_config.name} (same account URL)")
        units = plan(config)
        echo(f"crawling {plural(len(units), 'account')} on {forge.base_url} …")
        summary = run_crawl(engine, config, units, trigger="demo")
        stats = forge.stats()
    crawl_seconds = time.monotonic() - started
    report = export_index(engine, out_dir)
    mark_demo_export(out_dir)
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
    prefix = f"codeindex {db_option} ".replace("  ", " ")
    echo(f"next: open {out_dir / 'repositories.json'}, or try `{prefix}runs`, `{prefix}status`, "
         f"`{prefix}check URL` (the demo's index, apart from the real one)")
    return {"summary": summary, "stats": stats, "seconds": crawl_seconds}
