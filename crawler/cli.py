"""The `codeindex` command line: each command parses, calls a library function, prints.

Heavy imports live inside the commands so that `--help` is instant.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawler.config import Config
    from crawler.runner import RunSummary, Unit

DEFAULT_CONFIG = Path("config/organisations.yml")
DEFAULT_DB = "sqlite:///codeindex.sqlite"


class Context:
    def __init__(self, db_url: str, config_path: Path, log_format: str, verbose: int):
        self.db_url = db_url
        self.config_path = config_path
        self.log_format = log_format
        self.verbose = verbose


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--db",
    "db_url",
    envvar="CODEINDEX_DB",
    default=DEFAULT_DB,
    show_default=True,
    help="Index database URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (env CODEINDEX_DB).",
)
@click.option(
    "--config",
    "config_path",
    envvar="CODEINDEX_CONFIG",
    type=click.Path(path_type=Path),
    default=DEFAULT_CONFIG,
    show_default=True,
    help="Accounts configuration, in code.gouv.fr's comptes-organismes-publics.yml format (env CODEINDEX_CONFIG).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Logs on stderr: readable text, or JSON lines for log collectors.",
)
@click.option("-v", "--verbose", count=True, help="More log detail (-vv for HTTP requests).")
@click.version_option(package_name="codeindex")
@click.pass_context
def main(ctx: click.Context, db_url: str, config_path: Path, log_format: str, verbose: int) -> None:
    """codeindex: crawl public-sector accounts on GitHub and GitLab forges into a SQL index and export JSON.

    \b
    First steps:
      codeindex demo              offline demo on a simulated forge seeded with real data
      codeindex config check      validate config/organisations.yml
      codeindex crawl             crawl the configured accounts into the index
      codeindex export --out DIR  write the JSON files the frontend reads
    """
    from crawler.logs import setup_logging

    setup_logging(log_format, verbose)
    ctx.obj = Context(db_url, config_path, log_format, verbose)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line on stderr and exit with `code` (2: the user must fix something)."""
    click.echo(f"codeindex: error: {message}", err=True)
    sys.exit(code)


def load_config_or_exit(path: Path) -> Config:
    """Load and validate the configuration; on any problem print them all and exit 2 before touching anything."""
    from crawler.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        click.echo(f"codeindex: error: {path} has problems; nothing was crawled or written", err=True)
        sys.exit(2)
    except FileNotFoundError:
        fail(f"configuration file {path} not found (use --config FILE or CODEINDEX_CONFIG)")


def open_index_or_exit(db_url: str) -> Engine:
    from index.db import IndexDatabaseError, open_index

    try:
        return open_index(db_url)
    except IndexDatabaseError as exc:
        fail(str(exc))


# db ----------------------------------------------------------------------------------------------------------------
@main.group("db")
def db_group() -> None:
    """Manage the index database (migrations are also applied automatically by every command)."""


@db_group.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Create the index or apply pending schema migrations."""
    from index.db import current_revision

    engine = open_index_or_exit(ctx.db_url)
    click.echo(f"index schema at revision {current_revision(engine)} (latest)")


# crawl -------------------------------------------------------------------------------------------------------------
@main.command("crawl")
@click.option("--forge", "forge_host", metavar="HOST", help="Crawl only this forge host (e.g. gitlab.com).")
@click.option("--owner", metavar="NAME", help="Crawl only this account (organisation, group or user path).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Crawl at most N accounts.")
@click.option("--dry-run", is_flag=True, help="Send nothing: estimate requests, rate-limit points and duration per forge.")
@pass_ctx
def crawl_command(ctx: Context, forge_host: str | None, owner: str | None, limit: int | None, dry_run: bool) -> None:
    """Crawl the configured accounts and store what was found in the index.

    Each account is stored as soon as it is crawled, in one transaction: an interrupted or failed crawl keeps
    everything already stored and never removes a repository. Tokens come from the environment: GITHUB_TOKEN for
    github.com, GITLAB_TOKEN for gitlab.com, and the variable named by a forge's `token_env` elsewhere.
    """
    from crawler.runner import plan

    config = load_config_or_exit(ctx.config_path)
    units = plan(config, forge=forge_host, owner=owner, limit=limit)
    if not units:
        fail("no account matches: check --forge / --owner against the configuration (ignored entries are skipped)")
    engine = open_index_or_exit(ctx.db_url)
    if dry_run:
        from crawler.estimate import estimate_crawl, format_estimate

        click.echo(format_estimate(estimate_crawl(engine, units)))
        return
    summary = _run_with_progress(engine, config, units, trigger="cli")
    _print_summary(summary)
    sys.exit(0 if summary.status in ("ok", "partial") else 1)


def _run_with_progress(engine: Engine, config: Config, units: list[Unit], trigger: str) -> RunSummary:
    from crawler.runner import run_crawl

    if not sys.stderr.isatty():
        return run_crawl(engine, config, units, trigger=trigger)
    bar: Any
    with click.progressbar(length=len(units), label="crawling", file=sys.stderr,
                           item_show_func=lambda u: u.label[:50] if u else "") as bar:
        return run_crawl(engine, config, units, trigger=trigger, on_unit_done=lambda unit, _c: bar.update(1, unit))


def _print_summary(summary: RunSummary) -> None:
    click.echo(
        f"run {summary.run_id}: {summary.status} — accounts ok {summary.accounts_ok}, failed {summary.accounts_failed}, "
        f"unsupported {summary.accounts_unsupported}; repositories new {summary.repos_new}, "
        f"updated {summary.repos_updated}, gone {summary.repos_gone}; requests sent {summary.requests} "
        f"({summary.not_modified} answered 304)"
    )
    for line in summary.failures[:20]:
        click.echo(f"  {line}")
    if len(summary.failures) > 20:
        click.echo(f"  … and {len(summary.failures) - 20} more (codeindex runs --run {summary.run_id})")


# runs --------------------------------------------------------------------------------------------------------------
@main.command("runs")
@click.option("--last", "count", type=click.IntRange(min=1), default=10, show_default=True, help="How many runs.")
@click.option("--run", "run_id", type=int, help="Show one run in detail, per forge and per failed account.")
@pass_ctx
def runs_command(ctx: Context, count: int, run_id: int | None) -> None:
    """List recent crawl runs: start, end, outcome, accounts ok / failed, repositories, requests, rate-limit cost."""
    from index.runs import describe_run, recent_runs

    engine = open_index_or_exit(ctx.db_url)
    if run_id is not None:
        text = describe_run(engine, run_id)
        if text is None:
            fail(f"no run {run_id} in the index")
        click.echo(text)
        return
    click.echo(recent_runs(engine, count))


# simforge / demo -------------------------------------------------------------------------------------------------
@main.command("simforge")
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

    from crawler.simforge.seed import fixture_world, seed_from_codegouvfr
    from crawler.simforge.server import SimForge

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


@main.command("demo")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("export"), show_default=True,
              help="Export folder.")
@click.option("--scale", type=click.IntRange(min=1), default=1, show_default=True, help="Multiply the seed data.")
@pass_ctx
def demo_command(ctx: Context, out_dir: Path, scale: int) -> None:
    """Offline demo: simulate the forges with the real 2021 code.gouv.fr data, crawl them, export.

    Needs no token and no network. It writes the index given by --db (default ./codeindex.sqlite), so that
    `codeindex status`, `check` and `runs` can be tried on it afterwards.
    """
    from crawler.demo import run_demo

    engine = open_index_or_exit(ctx.db_url)
    run_demo(engine, out_dir, scale=scale, echo=click.echo)


# schedule ----------------------------------------------------------------------------------------------------------
@main.command("schedule")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("export"), show_default=True,
              help="Where to export after each crawl (when the schedule says export_after: true).")
@click.option("--list", "list_only", is_flag=True, help="Print the jobs the configuration defines and exit.")
@pass_ctx
def schedule_command(ctx: Context, out_dir: Path, list_only: bool) -> None:
    """Run crawls on a schedule until SIGTERM / Ctrl-C (default: every account every 6 hours, export after).

    The schedule comes from the configuration's `schedule:` section (docs/configuration.md). Jobs and their next
    run times are stored in the index database, so a restart keeps them. On SIGTERM the account in progress
    finishes or is rolled back whole, the run is recorded as interrupted, and the process exits 0.
    """
    from crawler.scheduler import job_specs, run_forever

    config = load_config_or_exit(ctx.config_path)
    if list_only:
        for spec in job_specs(config):
            scope = ", ".join(spec.hosts) if spec.hosts else "every forge" + (
                f" except {', '.join(spec.exclude)}" if spec.exclude else "")
            click.echo(f"{spec.id}: {spec.trigger} — {scope}")
        return
    open_index_or_exit(ctx.db_url)
    run_forever(ctx.db_url, config, out_dir, echo=click.echo)


def _register() -> None:
    from crawler.cli_config import config_group
    from crawler.cli_export import export_command
    from crawler.status_cli import check_command, status_command

    for command in (config_group, export_command, status_command, check_command):
        main.add_command(command)


_register()


if __name__ == "__main__":
    main()
