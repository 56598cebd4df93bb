"""`codeindex schedule`: crawl (and export) on the configuration's schedule until stopped."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import (
    Context,
    check_environment_or_exit,
    fail,
    load_config_or_exit,
    open_index_or_exit,
    pass_ctx,
)


@click.command("schedule")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("export"), show_default=True,
              help="Where to export after each crawl (when the schedule says export_after: true).")
@click.option("--list", "list_only", is_flag=True, help="Print the jobs the configuration defines and exit.")
@click.option("--now", is_flag=True, help="Run every crawl job once at start, then on its schedule.")
@click.option("--enqueue", is_flag=True,
              help="Queue each run's accounts for `codeindex worker` processes instead of crawling here (PostgreSQL; "
                   "run one scheduler per index).")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65535), metavar="PORT",
              help="Serve Prometheus metrics on http://HOST:PORT/metrics and a health check on /health "
                   "(extra `metrics`).")
@pass_ctx
def schedule_command(ctx: Context, out_dir: Path, list_only: bool, now: bool, enqueue: bool,
                     metrics_port: int | None) -> None:
    """Run crawls on a schedule until SIGTERM / Ctrl-C (default: every account every 6 hours, export after), and
    reload the official directory (default: weekly).

    The schedule comes from the configuration's `schedule:` section (docs/configuration.md). Jobs and their next
    run times are stored in the index database, so a restart keeps them; each job's next run time is printed at
    start, and each run's end is logged (outcome, duration, export). The first crawl waits a whole interval unless
    --now is given. On SIGTERM the account in progress
    finishes or is rolled back whole, the run is recorded as interrupted, and the process exits 0.
    """
    from crawler.annuaire import DEFAULT_URL
    from crawler.scheduler import ANNUAIRE_JOB, job_specs, run_forever

    config = load_config_or_exit(ctx.config_path)
    check_environment_or_exit()
    if list_only:
        for spec in job_specs(config):
            scope = ", ".join(spec.hosts) if spec.hosts else "every forge" + (
                f" except {', '.join(spec.exclude)}" if spec.exclude else "")
            if spec.id == ANNUAIRE_JOB:
                scope = f"the official directory from {spec.source or DEFAULT_URL}"
            click.echo(f"{spec.id}: {spec.trigger} — {scope}")
        return
    from crawler.runner import MixedIndexError, refuse_mixed_index

    engine = open_index_or_exit(ctx.db_url)
    try:
        refuse_mixed_index(engine, "schedule")
    except MixedIndexError as exc:
        engine.dispose()
        fail(str(exc))
    if metrics_port is not None:
        import datetime as dt

        from crawler.distributed.budgets import IndexBudgets
        from crawler.forges import http
        from crawler.metrics import serve

        http.SHARED_BUDGETS = IndexBudgets(engine)  # the budgets each token has left, for the metrics
        server = serve(engine, metrics_port, dt.timedelta(hours=config.schedule.interval_hours), out_dir)
        click.echo(f"metrics on http://localhost:{server.server_port}/metrics, health on /health")
    if enqueue:
        from crawler.distributed.queue import NotDistributable, conninfo

        try:
            conninfo(ctx.db_url)
        except NotDistributable as exc:
            fail(str(exc))
    run_forever(ctx.db_url, config, out_dir, echo=click.echo, now=now, enqueue=enqueue)
