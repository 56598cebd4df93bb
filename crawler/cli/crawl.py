"""`codeindex crawl` and `codeindex runs`: crawl the configured accounts, and look back at past runs."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import TYPE_CHECKING, Any

import click

from crawler.cli.common import (
    Context,
    check_environment_or_exit,
    fail,
    load_config_or_exit,
    open_index_or_exit,
    pass_ctx,
)
from crawler.wording import plural

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from crawler.config import Config
    from crawler.runner import RunSummary, Unit


@click.command("crawl")
@click.option("--forge", "forge_host", metavar="HOST", help="Crawl only this forge host (e.g. gitlab.com).")
@click.option("--owner", metavar="NAME", help="Crawl only this account (organisation, group or user path).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Crawl at most N accounts.")
@click.option("--dry-run", is_flag=True, help="Send nothing: estimate requests, rate-limit points and duration per forge.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's summary as one JSON object on stdout.")
@click.option("--enqueue", is_flag=True,
              help="Crawl nothing here: queue one job per account for `codeindex worker` processes (PostgreSQL) "
                   "and print the run id.")
@click.option("--export-to", "export_dir", metavar="DIR",
              help="With --enqueue: export to DIR once the run's last account is stored (a path on the workers).")
@pass_ctx
def crawl_command(ctx: Context, forge_host: str | None, owner: str | None, limit: int | None, dry_run: bool,
                  as_json: bool, enqueue: bool, export_dir: str | None) -> None:
    """Crawl the configured accounts and store what was found in the index.

    Each account is stored as soon as it is crawled, in one transaction: an interrupted or failed crawl keeps
    everything already stored and never removes a repository. Tokens come from the environment: GITHUB_TOKEN for
    github.com, GITLAB_TOKEN for gitlab.com, and the variable named by a forge's `token_env` elsewhere.

    Exit status: 0 every account ok; 3 partial (some accounts failed, or some repositories keep older details
    because a detail request kept failing: the next run fetches those first); 1 nothing could be crawled;
    2 bad usage, configuration or database.
    """
    from crawler.runner import plan

    config = load_config_or_exit(ctx.config_path)
    check_environment_or_exit()
    units = plan(config, forge=forge_host, owner=owner, limit=limit)
    if not units:
        fail("no account matches: check --forge / --owner against the configuration (ignored entries are skipped)")
    engine = open_index_or_exit(ctx.db_url)
    if dry_run:
        from crawler.estimate import estimate_crawl, format_estimate

        click.echo(format_estimate(estimate_crawl(engine, units)))
        return
    if enqueue:
        _enqueue(ctx, engine, config, units, export_dir, as_json)
        return
    from crawler.runner import MixedIndexError

    try:
        summary = _run_with_progress(engine, config, units, trigger="cli", settings=ctx)
    except MixedIndexError as exc:
        fail(str(exc))
    if ctx.log_format == "json":
        from crawler.logs import progress

        progress.info("run %d: %s", summary.run_id, summary.status, extra={
            "event": "run_summary", "fields": {**dataclasses.asdict(summary), "exit_status": summary.exit_code()}})
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(summary), sort_keys=True))
    else:
        _print_summary(summary)
    sys.exit(summary.exit_code())


def _enqueue(ctx: Context, engine: Engine, config: Config, units: list[Unit], export_dir: str | None,
             as_json: bool) -> None:
    from crawler.distributed.queue import NotDistributable, enqueue_run

    try:
        queued = enqueue_run(engine, ctx.db_url, units, trigger="cli", export_dir=export_dir, config=config)
    except NotDistributable as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(queued), sort_keys=True))
        return
    click.echo(f"run {queued.run_id}: {queued.jobs} account(s) queued for `codeindex worker`; follow it with "
               f"`codeindex runs --run {queued.run_id}`")
    if queued.already_waiting:
        click.echo(f"  {len(queued.already_waiting)} account(s) left to the job already waiting for them: "
                   + ", ".join(queued.already_waiting[:10]) + (" …" if len(queued.already_waiting) > 10 else ""))


def _run_with_progress(engine: Engine, config: Config, units: list[Unit], trigger: str,
                       settings: Context) -> RunSummary:
    """A progress bar on a terminal (without -v or JSON logs); one log line per finished account otherwise."""
    from crawler.logs import quiet_progress
    from crawler.runner import run_crawl

    if not sys.stderr.isatty() or settings.verbose or settings.log_format == "json":
        return run_crawl(engine, config, units, trigger=trigger)
    bar: Any
    quiet_progress(True)
    try:
        with click.progressbar(length=len(units), label="crawling", file=sys.stderr,
                               item_show_func=lambda u: u.label[:50] if u else "") as bar:
            return run_crawl(engine, config, units, trigger=trigger,
                             on_unit_done=lambda unit, _c: bar.update(1, unit))
    finally:
        quiet_progress(False)


def _print_summary(summary: RunSummary) -> None:
    click.echo(
        f"run {summary.run_id}: {summary.status} — accounts ok {summary.accounts_ok}, failed {summary.accounts_failed}, "
        f"unsupported {summary.accounts_unsupported}; repositories new {summary.repos_new}, "
        f"updated {summary.repos_updated}, gone {summary.repos_gone}; requests sent {summary.requests} "
        f"({summary.not_modified} answered 304)"
        + (f"; {plural(summary.stale_repositories, 'repository', 'repositories')} keep"
           f"{'s' if summary.stale_repositories == 1 else ''} older details" if summary.stale_repositories else "")
    )
    for line in summary.failures[:20]:
        click.echo(f"  {line}")
    if len(summary.failures) > 20:
        click.echo(f"  … and {len(summary.failures) - 20} more (codeindex runs --run {summary.run_id})")


@click.command("runs")
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
