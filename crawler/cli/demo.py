"""`codeindex demo` and `codeindex simforge`: the simulated forge, for trying codeindex without a token.

The simulated forge is the `simforge` package, installed with the `demo` extra; without it both commands
say how to install it.
"""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import DEMO_DB, DEMO_OUT, Context, fail, open_index_or_exit, pass_ctx


def require_simforge() -> None:
    """The simulated forge and what it needs (graphql-core) come with the `demo` extra: say so when missing."""
    try:
        import graphql  # noqa: F401

        import simforge.server  # noqa: F401
    except ImportError as exc:
        fail(f"the simulated forge is not installed ({exc.name} is missing): "
             "pip install 'codeindex[demo]', or run make demo")


@click.command("simforge")
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--scale", type=click.IntRange(min=1), default=1, show_default=True,
              help="Multiply the 2021 seed data (accounts and repositories) by K.")
@click.option("--latency", "latency_ms", type=float, default=0, show_default=True, help="Delay per request, ms.")
@click.option("--fixture", is_flag=True, help="Serve the small test fixture instead of the 2021 seed data.")
def simforge_command(port: int, scale: int, latency_ms: float, fixture: bool) -> None:
    """Run the simulated forge (GitHub REST + GraphQL, GitLab v4) on loopback until Ctrl-C.

    It prints a configuration whose every forge's api_url points at it: save it and crawl it with
    `codeindex --config FILE crawl` to rehearse a crawl without touching a real forge.
    """
    import time

    require_simforge()
    from simforge.seed import fixture_world, seed_from_codegouvfr
    from simforge.server import SimForge

    world = fixture_world() if fixture else seed_from_codegouvfr(scale=scale)
    forge = SimForge(world, latency_ms=latency_ms, port=port)
    try:
        forge.start()
    except OSError as exc:
        fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}")
    repos = sum(len(h.repos) for h in world.hosts.values())
    click.echo(f"# simulated forge on {forge.base_url}: {len(world.hosts)} hosts, {repos} repositories")
    click.echo(forge.config_yaml())
    click.echo("# Ctrl-C to stop", err=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        forge.stop()


@click.command("demo")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=DEMO_OUT, show_default=True,
              help="Export folder (the demo's own: never the real export).")
@click.option("--scale", type=click.IntRange(min=1), default=1, show_default=True, help="Multiply the seed data.")
@pass_ctx
def demo_command(ctx: Context, out_dir: Path, scale: int) -> None:
    """Offline demo: simulate the forges with the real 2021 code.gouv.fr data, crawl them, export.

    Needs no token and no network. It writes its own index, ./codeindex-demo.sqlite (CODEINDEX_DB is ignored;
    an explicit --db is used), and its own export folder, so that `codeindex --db sqlite:///codeindex-demo.sqlite
    status`, `check` and `runs` can be tried on it afterwards. Simulated data never mixes with real data: the demo
    refuses an index that holds real crawl runs or a folder that holds a real export, and a real crawl or export
    refuses the demo's. The demo's accounts take the pso_ids the real list (--config) gives the same account URLs,
    so they fall under their real ministries.
    """
    require_simforge()
    from crawler.demo import REAL_CONFIG, run_demo
    from crawler.runner import MixedIndexError

    db_url = ctx.db_url if ctx.db_given else DEMO_DB
    engine = open_index_or_exit(db_url)
    real = ctx.config_path if Path(ctx.config_path).is_file() else REAL_CONFIG
    try:
        run_demo(engine, out_dir, scale=scale, echo=click.echo, real_config=Path(real), db_option=f"--db {db_url}")
    except MixedIndexError as exc:
        fail(str(exc))
    finally:
        engine.dispose()
