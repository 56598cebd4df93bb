"""Distributed mode's pieces that need no worker process: its refusal on SQLite, the run's bookkeeping, the
budgets shared through PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from crawler.cli import main
from crawler.distributed.budgets import IndexBudgets, token_hash
from crawler.forges.http import Budget, TokenPool
from index.db import open_index
from index.queue import finish_if_complete, start_queued_run, store, take
from index.records import AccountCrawl, OutcomeStatus, utcnow
from index.runs import describe_run, recent_runs
from index.upsert import sync_configuration
from tests.support import write_config


def test_worker_and_enqueue_on_sqlite_say_why_they_cannot_run(tmp_path):
    config = write_config(tmp_path, ["github.com:", "  forge: github", "  owners:", "    etalab:"])
    db = f"sqlite:///{tmp_path / 'index.sqlite'}"
    for args in (["worker"], ["crawl", "--enqueue"]):
        result = CliRunner().invoke(main, ["--db", db, "--config", str(config), *args])
        assert result.exit_code == 2, result.output
        assert "PostgreSQL" in result.output and "sqlite" in result.output


def _crawl(login: str, status: OutcomeStatus = OutcomeStatus.OK) -> AccountCrawl:
    now = utcnow()
    return AccountCrawl(forge_host="github.com", login=login, status=status, started_at=now, finished_at=now,
                        complete=True)


def test_a_queued_run_is_stored_once_per_account_and_closed_by_its_last_one(engine):
    from sqlalchemy.orm import Session

    from index.records import AccountSpec, ForgeSpec

    with Session(engine) as session, session.begin():
        sync_configuration(session, [ForgeSpec(host="github.com", kind="github", api_url="https://api.github.com",
                                               accounts=(AccountSpec(login="a"), AccountSpec(login="b")))])
    run_id = start_queued_run(engine, [("github.com", "a"), ("github.com", "b")])
    assert "queue: 0/2 done, 2 waiting" in recent_runs(engine)
    assert take(engine, run_id, "github.com", "a", "m1:1")
    assert "1 running, 1 waiting" in describe_run(engine, run_id)
    assert store(engine, run_id, "github.com", "a", _crawl("a")) is not None
    assert finish_if_complete(engine, run_id) is None  # b is left
    assert not take(engine, run_id, "github.com", "a", "m2:2")  # a retried job finds it stored
    assert store(engine, run_id, "github.com", "a", _crawl("a")) is None  # and never stores it twice
    assert take(engine, run_id, "github.com", "b", "m2:2")
    store(engine, run_id, "github.com", "b", _crawl("b", OutcomeStatus.FAILED))
    run = finish_if_complete(engine, run_id)
    assert run is not None and run.status == "partial" and run.accounts_ok == 1 and run.accounts_failed == 1
    assert finish_if_complete(engine, run_id) is None  # closed once
    assert "partial (queue: 2/2 done)" in recent_runs(engine)


@pytest.mark.postgres
def test_budgets_seen_by_one_worker_hold_for_the_others(postgres_index_url):
    engine = open_index(postgres_index_url)
    one, other = IndexBudgets(engine, ttl=0), IndexBudgets(engine, ttl=0)
    reset = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=30)
    one.observe("github.com", "tok-A", "core", Budget(remaining=60, limit=5000, reset_at=reset))
    pool = TokenPool(["tok-A", "tok-B"], reserve=50)
    now = dt.datetime.now(dt.UTC)
    assert pool.spendable(0, "core", now, need=20)  # this worker has seen nothing yet
    other.merge(pool, "core")
    assert not pool.spendable(0, "core", now, need=20)  # the other worker's view: 60 left, 50 kept in reserve
    assert pool.choose("core", now, need=20) and pool.current == "tok-B"
    # within a window the lowest count wins; a later window replaces it
    one.observe("github.com", "tok-A", "core", Budget(remaining=900, limit=5000, reset_at=reset))
    other.merge(pool, "core")
    assert pool.budget(0, "core").remaining == 60
    later = reset + dt.timedelta(hours=1)
    one.observe("github.com", "tok-A", "core", Budget(remaining=4999, limit=5000, reset_at=later))
    other.merge(pool, "core")
    assert pool.budget(0, "core").remaining == 4999
    with engine.connect() as connection:
        from sqlalchemy import text

        stored = connection.execute(text("SELECT token_hash FROM rate_budgets")).scalars().all()
    assert stored == [token_hash("tok-A")] and "tok-A" not in stored[0]


@pytest.mark.postgres
def test_a_host_has_as_many_slots_as_a_local_run_gives_it_whatever_the_workers(postgres_index_url):
    import threading
    import time

    from crawler.distributed.tasks import host_slot

    engine = open_index(postgres_index_url)
    inside, peak, lock = [0], [0], threading.Lock()

    def crawl() -> None:
        with host_slot(engine, "gitlab.example.org", "gitlab"):  # two at once on a GitLab host
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.3)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=crawl) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert peak[0] == 2 and inside[0] == 0


def test_the_queue_takes_hosts_in_turn_biggest_accounts_first():
    from crawler.config.model import ForgeConfig, OwnerConfig
    from crawler.distributed.queue import interleaved
    from crawler.runner import Unit

    def forge(host: str, logins: list[str]) -> list[Unit]:
        owners = tuple(OwnerConfig(login=o, name=None, pso_id=None, ministry=None, ignored_since=None,
                                   floss_policy=None, ospo_url=None, line=1) for o in logins)
        config = ForgeConfig(host=host, kind="github", api_url="https://x", token_env=None, owners=owners,
                             pso_id=None, ministry=None, ignored_since=None, floss_policy=None, ospo_url=None, line=1)
        return [Unit(config, o) for o in owners]

    units = forge("a.org", ["a1", "a2", "a3"]) + forge("b.org", ["b1", "b2"])
    order = interleaved(units, {("a.org", "a3"): 50, ("b.org", "b2"): 10})
    assert [u.login for u in order] == ["a3", "b2", "a1", "b1", "a2"]


@pytest.mark.postgres
def test_the_scheduler_queues_a_run_for_the_workers_once_per_account(postgres_index_url, tmp_path):
    from sqlalchemy import text

    from crawler.scheduler import scheduled_crawl
    from index.queue import progress

    config = write_config(tmp_path, ["github.com:", "  forge: github", "  owners:", "    etalab:", "    bigorg:"])
    scheduled_crawl(postgres_index_url, str(config), None, [], None, enqueue=True)
    scheduled_crawl(postgres_index_url, str(config), None, [], None, enqueue=True)  # the first still waits
    engine = open_index(postgres_index_url)
    with engine.connect() as connection:
        jobs = connection.execute(text("SELECT args->>'login', lock, queueing_lock FROM procrastinate_jobs "
                                       "WHERE status = 'todo' ORDER BY id")).all()
        runs = connection.execute(text("SELECT id, status, trigger FROM crawl_runs ORDER BY id")).all()
    assert [(login, lock) for login, lock, _ in jobs] == [("etalab", "account:github.com/etalab"),
                                                          ("bigorg", "account:github.com/bigorg")]
    assert all(lock == queueing for _, lock, queueing in jobs)
    first, second = runs
    assert first.status == "running" and first.trigger == "schedule"
    assert second.status == "ok"  # nothing left to it: every account was already waiting in the first run
    assert progress(engine, [first.id, second.id]) == {first.id: {"waiting": 2}}
