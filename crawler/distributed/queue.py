"""The procrastinate app on the index's PostgreSQL, its schema, and deferring a run's jobs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from crawler.distributed import CRAWL_TASK, QUEUE
from index.db import normalise_url

if TYPE_CHECKING:
    from procrastinate import App

    from crawler.runner import Unit

log = logging.getLogger(__name__)

_SCHEMA_LOCK = 0x636F6465  # pg_advisory_xact_lock key: one process applies procrastinate's schema at a time


class NotDistributable(Exception):
    """The index is not on PostgreSQL, or procrastinate is not installed: say which, and how to fix it."""


def conninfo(db_url: str) -> str:
    """The libpq address of an index URL (postgresql+psycopg://… → postgresql://…)."""
    url = make_url(normalise_url(db_url))
    if url.get_backend_name() != "postgresql":
        raise NotDistributable(
            f"distributed crawls need the index on PostgreSQL (the task queue lives there), not "
            f"{url.get_backend_name()}: use --db postgresql+psycopg://USER@HOST/DB, or crawl in one process "
            "with `codeindex crawl` / `codeindex schedule`")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(db_url: str) -> App:
    """The procrastinate app with codeindex's tasks."""
    address = conninfo(db_url)  # NotDistributable on SQLite, whether procrastinate is installed or not
    try:
        from procrastinate import App, PsycopgConnector
    except ImportError as exc:
        raise NotDistributable("distributed crawls need procrastinate: pip install 'codeindex[distributed]'") from exc
    from procrastinate import RetryStrategy

    from crawler.distributed import EXPORT_TASK, tasks

    app = App(connector=PsycopgConnector(conninfo=address))
    # an exception (the index unreachable, say) retries the job a few times; forge failures are outcomes, not these
    retry = RetryStrategy(max_attempts=3, exponential_wait=10)
    app.task(name=CRAWL_TASK, queue=QUEUE, retry=retry)(tasks.crawl_account)
    app.task(name=EXPORT_TASK, queue=QUEUE, retry=retry)(tasks.export_run)
    return app


def ensure_schema(engine: Engine, app: App) -> bool:
    """Apply procrastinate's own schema if the database does not have it yet (several workers may start at once:
    an advisory lock lets one apply it). Returns True when it was applied by this call."""
    with engine.begin() as connection:
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        if connection.execute(text("SELECT to_regclass('procrastinate_jobs')")).scalar() is not None:
            return False
        # in this transaction, so that the lock covers it (procrastinate's own apply_schema opens another)
        driver: Any = connection.connection.driver_connection
        driver.execute(app.schema_manager.get_schema())
        log.info("procrastinate's schema applied to the index database")
        return True


def account_lock(host: str, login: str) -> str:
    return f"account:{host}/{login.strip('/').lower()}"


def interleaved(units: Sequence[Unit], counts: dict[tuple[str, str], int]) -> list[Unit]:
    """The queue's order: biggest accounts first within a host (as a local run starts them), hosts taken in
    turn, so that workers find accounts of other hosts while one host's slots are all taken."""
    from crawler.runner import _biggest_first

    by_host: dict[str, list[Unit]] = {}
    for unit in _biggest_first(list(units), counts):
        by_host.setdefault(unit.forge.host, []).append(unit)
    lanes = list(by_host.values())
    order: list[Unit] = []
    for rank in range(max((len(lane) for lane in lanes), default=0)):
        order += [lane[rank] for lane in lanes if rank < len(lane)]
    return order


@dataclass
class Enqueued:
    run_id: int
    jobs: int
    already_waiting: list[str] = field(default_factory=list)  # accounts left to the job already waiting for them


def enqueue_run(engine: Engine, db_url: str, units: Sequence[Unit], *, trigger: str = "queue",
                export_dir: str | None = None, config: Any = None) -> Enqueued:
    """Plan a run of `units` in the index and defer one job per account. An account whose job from an earlier
    run is still waiting is left to it (queueing lock) and dropped from this run."""
    from procrastinate import exceptions

    from crawler.config.ministries import with_stored_directory
    from crawler.runner import forge_specs
    from index.db import transaction
    from index.queue import drop_queued, finish_if_complete, start_queued_run
    from index.state import repository_counts
    from index.upsert import sync_configuration

    if config is not None:
        with transaction(engine) as session:
            sync_configuration(session, forge_specs(with_stored_directory(session, config)))
    app = make_app(db_url)
    ensure_schema(engine, app)
    with transaction(engine) as session:
        units = interleaved(units, repository_counts(session))
    run_id = start_queued_run(engine, [(u.forge.host, u.login) for u in units], trigger)
    result = Enqueued(run_id, 0)
    with app.open():
        for unit in units:
            lock = account_lock(unit.forge.host, unit.login)
            try:
                app.configure_task(CRAWL_TASK, lock=lock, queueing_lock=lock, queue=QUEUE).defer(
                    run_id=run_id, host=unit.forge.host, login=unit.login, export_dir=export_dir)
            except exceptions.AlreadyEnqueued:
                result.already_waiting.append(unit.label)
                drop_queued(engine, run_id, [(unit.forge.host, unit.login)])
                continue
            result.jobs += 1
    if result.already_waiting:
        log.warning("%d account(s) already have a job waiting from an earlier run: left to it",
                    len(result.already_waiting))
    finish_if_complete(engine, run_id)  # every account already waiting: an empty run closes at once
    return result
