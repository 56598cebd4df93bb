"""`codeindex worker`: take a distributed run's accounts from the queue in the index's PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import click

from crawler.cli.common import Context, fail, load_config_or_exit, pass_ctx


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(min=1, max=32), default=2, show_default=True,
              help="Accounts this worker crawls at once (each in its own thread, with its own forge clients).")
@click.option("--stalled-after", type=click.FloatRange(min=1), default=60.0, show_default=True, metavar="SECONDS",
              help="A worker silent for this long is taken for dead: its accounts are queued again.")
@click.option("--metrics-port", type=click.IntRange(min=0, max=65535), metavar="PORT",
              help="Serve Prometheus metrics on http://HOST:PORT/metrics and a health check on /health "
                   "(extra `metrics`).")
@click.option("--export-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Where runs are exported (their --export-to): its age is one of the metrics.")
@pass_ctx
def worker_command(ctx: Context, concurrency: int, stalled_after: float, metrics_port: int | None,
                   export_dir: Path | None) -> None:
    """Crawl the accounts that `codeindex crawl --enqueue` (or `codeindex schedule --enqueue`) put in the queue,
    until SIGTERM / Ctrl-C. Run as many as you like, on as many machines, against the same PostgreSQL index.

    Two workers never crawl the same account at once; the accounts of a worker that dies are crawled again by
    the others; the worker that stores a run's last account closes the run and defers its export. Needs the
    index on PostgreSQL and the `distributed` extra (procrastinate); the single-process `codeindex crawl` and
    `codeindex schedule` need neither.
    """
    from crawler.distributed.queue import NotDistributable
    from crawler.distributed.worker import run_worker

    load_config_or_exit(ctx.config_path)
    try:
        run_worker(ctx.db_url, ctx.config_path, concurrency, stalled_after=stalled_after, metrics_port=metrics_port,
                   export_dir=export_dir, echo=click.echo)
    except NotDistributable as exc:
        fail(f"codeindex worker cannot run: {exc}")
