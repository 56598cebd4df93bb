"""`codeindex worker`: a process that takes the queue's jobs until SIGTERM / Ctrl-C.

Jobs run in threads (`concurrency` at once, each with its own forge clients). procrastinate records the worker
with a heartbeat every `stalled_after / 3` seconds; every worker looks, every `stalled_after / 4` seconds, for
jobs left `doing` by a worker whose heartbeat is older than `stalled_after` (killed, machine lost) and puts them
back in the queue. On SIGTERM the jobs in progress finish (each account commits whole), then the process exits.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from crawler.distributed import QUEUE
from crawler.distributed.queue import ensure_schema, make_app

log = logging.getLogger(__name__)

DEFAULT_STALLED_AFTER = 60.0


def run_worker(db_url: str, config_path: Path, concurrency: int = 1, *, stalled_after: float = DEFAULT_STALLED_AFTER,
               metrics_port: int | None = None, export_dir: Path | None = None,
               echo: Callable[[str], Any] = print) -> None:
    from crawler.distributed import tasks
    from crawler.distributed.budgets import IndexBudgets
    from crawler.forges import http
    from crawler.runner import _close_adapters
    from index.db import open_index

    app = make_app(db_url)  # NotDistributable on SQLite: before anything is opened
    engine = open_index(db_url)
    if ensure_schema(engine, app):
        echo("applied procrastinate's schema (the task queue's tables) to the index database")
    state = tasks.WorkerState(engine, config_path, app)
    config = state.config()  # a broken configuration stops the worker now, not at its first job
    if metrics_port is not None:
        import datetime as dt

        from crawler.metrics import serve

        server = serve(engine, metrics_port, dt.timedelta(hours=config.schedule.interval_hours), export_dir)
        echo(f"metrics on http://localhost:{server.server_port}/metrics, health on /health")
    tasks.STATE = state
    http.USER_AGENT = f"codeindex-crawler (worker {state.name})"
    http.SHARED_BUDGETS = IndexBudgets(engine)
    echo(f"worker {state.name}: {concurrency} job(s) at once; SIGTERM or Ctrl-C to stop after the jobs in progress")
    try:
        asyncio.run(_work(app, state.name, concurrency, stalled_after))
    finally:
        _close_adapters(a for adapters in state.adapters for a in adapters.values())
        http.SHARED_BUDGETS = None
        tasks.STATE = None
        engine.dispose()
    echo(f"worker {state.name} stopped")


async def _work(app: Any, name: str, concurrency: int, stalled_after: float) -> None:
    # sync jobs run in the loop's default executor: as many threads as jobs at once (plus the queue's own)
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=concurrency + 2, thread_name_prefix="job"))
    async with app.open_async():
        watcher = asyncio.create_task(retry_stalled_forever(app, stalled_after))
        try:
            await app.run_worker_async(
                queues=[QUEUE], concurrency=concurrency, name=name, delete_jobs="successful",
                update_heartbeat_interval=max(0.5, stalled_after / 3), stalled_worker_timeout=stalled_after,
                fetch_job_polling_interval=max(0.5, min(5.0, stalled_after / 4)),
            )
        finally:
            watcher.cancel()


async def retry_stalled(app: Any, stalled_after: float) -> int:
    """Put back in the queue the jobs of workers whose heartbeat is older than `stalled_after` seconds."""
    count = 0
    for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await app.job_manager.retry_job(job)
        except Exception as exc:  # another worker retried it first, or its queueing lock is taken
            log.info("stalled job %s not retried here: %s", job.id, exc)
            continue
        count += 1
        log.warning("job %s (%s %s) was left by a worker that stopped answering: queued again", job.id,
                    job.task_name, job.task_kwargs)
    return count


async def retry_stalled_forever(app: Any, stalled_after: float) -> None:
    while True:
        await asyncio.sleep(max(0.5, stalled_after / 4))
        try:
            await retry_stalled(app, stalled_after)
        except Exception:  # a database hiccup must not stop the watcher
            log.warning("looking for stalled jobs failed", exc_info=True)
