"""`codeindex schedule`: runs crawls on APScheduler 3.x; only decides *when* the runner runs.

- Jobs live in the index database (SQLAlchemy job store, table `apscheduler_jobs`), so a restart keeps schedules
  and next-run times. A job whose trigger is unchanged in the configuration is kept as stored; a changed one is
  replaced; one no longer configured is removed.
- One job for the default interval (every forge without an override) and one per forge override (cron or
  interval); one more reloads the official directory (`codeindex annuaire update`), weekly unless the
  configuration's `schedule: annuaire:` says otherwise (or `false`). Jobs never overlap: `max_instances=1`, `coalesce=True` (missed runs collapse into one), and a single
  worker thread, so two crawls never write the index at once. A run missed by more than `misfire_grace_time`
  (a quarter of its interval, at most an hour) is skipped and logged rather than started late.
- SIGTERM / SIGINT: no new account is started; the account in progress finishes (its transaction commits whole)
  or, past the grace period, the process exits and that account's uncommitted work is rolled back by the database;
  the run is recorded as interrupted; exit status 0.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.config import Config, load_config
from crawler.runner import MixedIndexError

log = logging.getLogger(__name__)
progress = logging.getLogger("crawler.progress")  # each run's start and end, shown without -v

JOBSTORE_TABLE = "apscheduler_jobs"
DEFAULT_JOB = "crawl-default"
ANNUAIRE_JOB = "annuaire-update"
_STOP = threading.Event()  # set by SIGTERM / SIGINT; read by the running crawl between accounts


@dataclass(frozen=True)
class JobSpec:
    id: str
    trigger: Any
    hosts: tuple[str, ...] | None  # None: every forge not in `exclude`
    exclude: tuple[str, ...]
    interval: dt.timedelta | None
    source: str | None = None  # the annuaire job's file or URL (None: DILA's address); crawls have none


def job_specs(config: Config, timezone: dt.tzinfo = dt.UTC) -> list[JobSpec]:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    overrides = [f for f in config.schedule.forges if f.cron or f.interval_hours]
    specs = []
    for override in overrides:
        if override.cron:
            trigger: Any = CronTrigger.from_crontab(override.cron, timezone=timezone)
            interval = None
        else:
            interval = dt.timedelta(hours=float(override.interval_hours or 0))
            trigger = IntervalTrigger(seconds=max(1, int(interval.total_seconds())), timezone=timezone)
        specs.append(JobSpec(f"crawl-{override.host}", trigger, (override.host,), (), interval))
    interval = dt.timedelta(hours=config.schedule.interval_hours)
    specs.append(JobSpec(
        DEFAULT_JOB,
        IntervalTrigger(seconds=max(1, int(interval.total_seconds())), timezone=timezone),
        None, tuple(sorted(o.host for o in overrides)), interval,
    ))
    annuaire = config.schedule.annuaire
    if annuaire is not None:
        if annuaire.cron:
            trigger, interval = CronTrigger.from_crontab(annuaire.cron, timezone=timezone), None
        else:
            interval = dt.timedelta(hours=float(annuaire.interval_hours or 0))
            trigger = IntervalTrigger(seconds=max(1, int(interval.total_seconds())), timezone=timezone)
        specs.append(JobSpec(ANNUAIRE_JOB, trigger, (), (), interval, annuaire.source))
    return specs


def scheduled_annuaire_update(db_url: str, config_path: str, source: str | None) -> None:
    """The directory job: a bad file or a failed download is logged and the stored directory kept."""
    from crawler.annuaire import DEFAULT_URL, AnnuaireError, update_directory
    from crawler.config import ConfigError
    from index.db import IndexDatabaseError, open_index

    try:
        config: Config | None = load_config(Path(config_path))
    except (ConfigError, OSError):
        config = None  # the accounts are re-resolved at the next crawl
    try:
        engine = open_index(db_url)
    except IndexDatabaseError as exc:
        log.error("directory update skipped: %s", exc)
        return
    try:
        report = update_directory(engine, source or DEFAULT_URL, config=config)
        log.info("%s", report.summary())
    except AnnuaireError as exc:
        log.error("directory update failed, the stored directory is kept: %s", exc)
    finally:
        engine.dispose()


def scheduled_crawl(db_url: str, config_path: str, hosts: list[str] | None, exclude: list[str],
                    export_dir: str | None, enqueue: bool = False) -> None:
    """The job APScheduler runs (module-level, with plain arguments, so the job store can persist it). With
    `enqueue`, the run's accounts are queued for `codeindex worker` processes instead of crawled here."""
    from crawler.config import ConfigError
    from crawler.runner import plan, run_crawl
    from index.db import IndexDatabaseError, open_index

    try:
        config = load_config(Path(config_path))
    except (ConfigError, OSError) as exc:  # a bad edit must not kill the scheduler: skip this run, say why
        log.error("scheduled crawl skipped: configuration %s is invalid:\n%s", config_path, exc)
        return
    try:
        engine = open_index(db_url)
    except IndexDatabaseError as exc:
        log.error("scheduled crawl skipped: %s", exc)
        return
    units = [u for u in plan(config)
             if (hosts is None or u.forge.host in hosts) and u.forge.host not in exclude]
    if enqueue:
        from crawler.distributed.queue import NotDistributable, enqueue_run

        try:
            queued = enqueue_run(engine, db_url, units, trigger="schedule", config=config,
                                 export_dir=export_dir if config.schedule.export_after else None)
        except NotDistributable as exc:
            log.error("scheduled run not queued: %s", exc)
            return
        progress.info("scheduled run %d queued: %d accounts for the workers", queued.run_id, queued.jobs)
        engine.dispose()
        return
    scope = ", ".join(hosts) if hosts else "every forge" + (f" except {', '.join(exclude)}" if exclude else "")
    progress.info("scheduled crawl starting (%s): %d accounts", scope, len(units))
    started = time.monotonic()
    try:
        summary = run_crawl(engine, config, units, trigger="schedule", stop=_STOP)
    except MixedIndexError as exc:
        log.error("scheduled crawl skipped: %s", exc)
        engine.dispose()
        return
    seconds = time.monotonic() - started
    exported = "no export (export_after: false)" if not config.schedule.export_after else "no export"
    if export_dir and config.schedule.export_after and summary.status != "interrupted":
        from index.db import IndexDatabaseError
        from index.export.build import export_index

        try:
            report = export_index(engine, Path(export_dir))
            exported = f"exported to {export_dir}/ in {report.seconds:.1f} s"
        except (OSError, IndexDatabaseError) as exc:
            exported = f"export to {export_dir} failed: {exc}"
            log.error("scheduled export failed, the previous export is left in place: %s", exc)
    progress.info(
        "scheduled crawl %s (%s) in %.0f s: run %d, accounts ok %d, failed %d; repositories new %d, gone %d; "
        "requests %d; %s", summary.status, scope, seconds, summary.run_id, summary.accounts_ok,
        summary.accounts_failed, summary.repos_new, summary.repos_gone, summary.requests, exported,
        extra={"event": "scheduled_run", "run_id": summary.run_id, "status": summary.status,
               "fields": {"seconds": round(seconds, 1), "export": exported, "accounts_ok": summary.accounts_ok,
                          "accounts_failed": summary.accounts_failed, "repos_new": summary.repos_new,
                          "requests": summary.requests}})
    engine.dispose()


def build_scheduler(db_url: str, config: Config, export_dir: Path | None) -> tuple[Any, list[JobSpec]]:
    """A background scheduler whose job store is the index database, and the jobs the configuration wants."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from index.db import normalise_url

    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=normalise_url(db_url), tablename=JOBSTORE_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"max_instances": 1, "coalesce": True},
        timezone=dt.UTC,
    )
    scheduler.add_listener(_on_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler, job_specs(config)


def _next(job: Any) -> str:
    return f"next run {job.next_run_time:%Y-%m-%d %H:%M:%S %Z}" if job and job.next_run_time else "paused"


def start(scheduler: Any, specs: list[JobSpec], db_url: str, config_path: Path, export_dir: Path | None,
          now: bool = False, enqueue: bool = False) -> list[str]:
    """Start paused, reconcile the stored jobs with the configured ones, resume. Returns what was done, with each
    job's next run time. `now`: every crawl job runs once at start (then on its schedule); `enqueue`: the crawl
    jobs queue their accounts for `codeindex worker` processes instead of crawling here."""
    scheduler.start(paused=True)
    report = []
    for spec in specs:
        job: Any = scheduled_crawl
        args: list[Any] = [db_url, str(config_path), list(spec.hosts) if spec.hosts else None, list(spec.exclude),
                           str(export_dir) if export_dir else None] + ([True] if enqueue else [])
        if spec.id == ANNUAIRE_JOB:
            job, args = scheduled_annuaire_update, [db_url, str(config_path), spec.source]
        grace = int(min(3600, spec.interval.total_seconds() / 4)) if spec.interval else 3600
        existing = scheduler.get_job(spec.id)
        if existing is not None and str(existing.trigger) == str(spec.trigger) and list(existing.args) == args:
            done = "kept as stored"
        else:
            scheduler.add_job(job, spec.trigger, args=args, id=spec.id, name=spec.id,
                              replace_existing=True, misfire_grace_time=max(1, grace))
            done = f"{'updated' if existing else 'added'} ({spec.trigger})"
        if now and spec.id != ANNUAIRE_JOB:
            scheduler.modify_job(spec.id, next_run_time=dt.datetime.now(dt.UTC))
            report.append(f"{spec.id}: {done}, runs now (--now), then on its schedule")
        else:
            report.append(f"{spec.id}: {done}, {_next(scheduler.get_job(spec.id))}")
    wanted = {spec.id for spec in specs}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
            report.append(f"{job.id}: removed (no longer configured)")
    scheduler.resume()
    return report


def _on_event(event: Any) -> None:
    from apscheduler.events import EVENT_JOB_MISSED

    if event.code == EVENT_JOB_MISSED:
        log.warning("job %s missed its run at %s (machine asleep or previous run too long): skipped",
                    event.job_id, event.scheduled_run_time)
    else:
        log.error("job %s failed: %r", event.job_id, event.exception)


def request_stop() -> None:
    _STOP.set()


def run_forever(db_url: str, config: Config, export_dir: Path | None, echo: Any = print, grace_s: float = 25,
                now: bool = False, enqueue: bool = False) -> None:
    """The `codeindex schedule` loop: runs until SIGTERM / SIGINT, then stops within `grace_s` seconds."""
    from index.db import open_index
    from index.upsert import recover_stale_runs

    recovered = recover_stale_runs(open_index(db_url))
    if recovered:
        echo(f"marked {recovered} run(s) left running by a dead process as interrupted")
    scheduler, specs = build_scheduler(db_url, config, export_dir)
    for line in start(scheduler, specs, db_url, config.path, export_dir, now=now, enqueue=enqueue):
        echo(line)
    stopped = threading.Event()

    def _handle(signum: int, _frame: Any) -> None:
        log.warning("received %s: finishing the account in progress, then stopping", signal.Signals(signum).name)
        _STOP.set()
        stopped.set()

    signal.signal(signal.SIGTERM, _handle)
    signal.signal(signal.SIGINT, _handle)
    echo("scheduler running; SIGTERM or Ctrl-C to stop")
    stopped.wait()
    done = threading.Event()
    def _shutdown() -> None:
        scheduler.shutdown(wait=True)
        done.set()

    threading.Thread(target=_shutdown, daemon=True).start()
    if not done.wait(grace_s):
        echo(f"the account in progress did not finish within {grace_s:.0f} s; its uncommitted work is rolled back")
        recover_stale_runs(open_index(db_url))
    echo("scheduler stopped")
