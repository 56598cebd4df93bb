"""The index side of distributed runs: a run's plan of queued accounts, each account taken and stored exactly
once, and the run closed by whichever worker stores its last account.

The task queue itself (procrastinate, in PostgreSQL) lives in `crawler.distributed`; this module only keeps the
bookkeeping that `codeindex runs` reads, in the index's own tables, so a distributed run reads like a local one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from index.db import transaction
from index.models import CrawlRun, QueuedAccount
from index.records import AccountCrawl, utcnow
from index.upsert import StoredOutcome, record_in, start_run

QUEUE_PROCESS = "queue"  # crawl_runs.process of a distributed run: no one process owns it (never "recovered")


def start_queued_run(engine: Engine, accounts: Sequence[tuple[str, str]], trigger: str = "queue") -> int:
    """A new run whose accounts (forge host, login) wait for workers."""
    run_id = start_run(engine, trigger)
    now = utcnow()
    with transaction(engine) as session:
        session.get_one(CrawlRun, run_id).process = QUEUE_PROCESS
        session.add_all(QueuedAccount(run_id=run_id, forge_host=host, login=login, status="waiting", attempts=0,
                                      queued_at=now) for host, login in accounts)
    return run_id


def drop_queued(engine: Engine, run_id: int, accounts: Iterable[tuple[str, str]]) -> None:
    """Accounts that could not be queued (one of theirs is already waiting): not part of this run."""
    with transaction(engine) as session:
        for host, login in accounts:
            row = session.scalars(select(QueuedAccount).where(
                QueuedAccount.run_id == run_id, QueuedAccount.forge_host == host,
                QueuedAccount.login == login)).one_or_none()
            if row is not None:
                session.delete(row)


def take(engine: Engine, run_id: int, host: str, login: str, worker: str) -> bool:
    """A worker starts the account; False when it is already stored in this run (a retried job whose first
    worker died after committing it) or no longer part of the run."""
    with transaction(engine) as session:
        row = _row(session, run_id, host, login)
        if row is None or row.status == "done":
            return False
        row.status, row.worker, row.started_at = "running", worker, utcnow()
        row.attempts = (row.attempts or 0) + 1
        return True


def store(engine: Engine, run_id: int, host: str, login: str, crawl: AccountCrawl) -> StoredOutcome | None:
    """Store the account's crawl and mark it done, in one transaction; None (nothing stored) if another worker
    already stored it in this run: an account is stored once per run, whatever the retries."""
    with transaction(engine) as session:
        row = _row(session, run_id, host, login, lock=True)
        if row is not None and row.status == "done":
            return None
        stored = record_in(session, run_id, crawl)
        if row is not None:
            row.status, row.outcome, row.finished_at = "done", crawl.status.value, utcnow()
        return stored


def finish_if_complete(engine: Engine, run_id: int) -> CrawlRun | None:
    """Close the run if none of its accounts is left; the run's row is locked so that of two workers storing the
    last two accounts at once exactly one closes it. Returns the run when this call closed it."""
    with transaction(engine) as session:
        run = session.scalars(select(CrawlRun).where(CrawlRun.id == run_id).with_for_update()).one_or_none()
        if run is None or run.status != "running":
            return None
        left = session.scalar(select(func.count()).select_from(QueuedAccount).where(
            QueuedAccount.run_id == run_id, QueuedAccount.status != "done")) or 0
        if left:
            return None
        run.status = "ok" if run.accounts_failed == 0 else ("partial" if run.accounts_ok else "failed")
        run.finished_at = utcnow()
        session.flush()
        session.expunge(run)
        return run


def progress(engine: Engine, run_ids: Iterable[int]) -> dict[int, Counter[str]]:
    """Per distributed run, its accounts by status (waiting / running / done); local runs are absent."""
    ids = list(run_ids)
    if not ids:
        return {}
    result: dict[int, Counter[str]] = {}
    with transaction(engine) as session:
        for run_id, status, count in session.execute(
                select(QueuedAccount.run_id, QueuedAccount.status, func.count())
                .where(QueuedAccount.run_id.in_(ids)).group_by(QueuedAccount.run_id, QueuedAccount.status)):
            result.setdefault(run_id, Counter())[status] = count
    return result


def _row(session: Session, run_id: int, host: str, login: str, lock: bool = False) -> QueuedAccount | None:
    query = select(QueuedAccount).where(QueuedAccount.run_id == run_id, QueuedAccount.forge_host == host,
                                        QueuedAccount.login == login)
    return session.scalars(query.with_for_update() if lock else query).one_or_none()
