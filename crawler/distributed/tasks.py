"""The queue's tasks: crawl one account of a run (around the runner's `_crawl_unit`, the same unit a local run
crawls), and export the index once a run has stored its last account.

Registered on the procrastinate app by `crawler.distributed.queue.make_app`. They run in `codeindex worker` processes, whose state (index engine, configuration, per-thread adapters) is set
by `crawler.distributed.worker` before the first job.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from crawler.config import Config, load_config
from crawler.distributed import EXPORT_TASK, QUEUE
from crawler.forges.base import ForgeAdapter
from crawler.runner import (
    DEFAULT_PER_HOST,
    PER_HOST_BY_KIND,
    Unit,
    _count_key,
    _crawl_unit,
    _plain_network_error,
    default_adapters,
)
from index import queue
from index.db import transaction
from index.records import AccountCrawl, HttpValidator, OutcomeStatus, utcnow
from index.state import load_validators, repository_counts

log = logging.getLogger(__name__)


@dataclass
class WorkerState:
    """What a worker process keeps between jobs (jobs run in threads: adapters are per thread)."""

    engine: Engine
    config_path: Path
    app: Any  # the procrastinate App, to defer the export
    factories: dict[str, Callable[[], ForgeAdapter]] = field(default_factory=default_adapters)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    local: threading.local = field(default_factory=threading.local)
    adapters: list[dict[str, ForgeAdapter]] = field(default_factory=list)
    _config: tuple[float, Config] | None = None
    _run_cache: dict[int, tuple[dict[str, dict[str, HttpValidator]], dict[tuple[str, str], int]]] = field(
        default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def config(self) -> Config:
        """The configuration file, read again when it changed (every machine reads its own copy)."""
        mtime = self.config_path.stat().st_mtime
        with self._lock:
            if self._config is None or self._config[0] != mtime:
                self._config = (mtime, load_config(self.config_path))
            return self._config[1]

    def thread_adapters(self) -> dict[str, ForgeAdapter]:
        if not hasattr(self.local, "adapters"):
            self.local.adapters = {}
            self.adapters.append(self.local.adapters)
        adapters: dict[str, ForgeAdapter] = self.local.adapters
        return adapters

    def run_state(self, run_id: int, host: str) -> tuple[dict[str, HttpValidator], dict[tuple[str, str], int]]:
        """HTTP validators of `host` and repository counts, read once per run by this process (as a local run
        reads them once at its start)."""
        with self._lock:
            cached = self._run_cache.get(run_id)
            if cached is None:
                self._run_cache = {}  # one run at a time is the common case: forget older ones
                with transaction(self.engine) as session:
                    cached = self._run_cache[run_id] = ({}, repository_counts(session))
            validators = cached[0].get(host)
            if validators is None:
                with transaction(self.engine) as session:
                    validators = cached[0][host] = load_validators(session, host)
        return validators, cached[1]


STATE: WorkerState | None = None


@contextmanager
def host_slot(engine: Engine, host: str, kind: str) -> Iterator[None]:
    """Hold one of the host's slots, all workers together: at most PER_HOST_BY_KIND (else DEFAULT_PER_HOST)
    accounts of one forge host are crawled at once, as in a local run, however many workers and machines.

    A slot is a PostgreSQL advisory lock (host's hash, slot number) held by a connection of its own for the
    account's crawl: a worker that dies releases it with its connection. The queue interleaves hosts
    (`crawler.distributed.queue.interleaved`), so a job rarely waits here for long."""
    limit = PER_HOST_BY_KIND.get(kind, DEFAULT_PER_HOST)
    key = zlib.crc32(host.lower().encode()) - 2**31  # two int4 keys: apart from the bigint ones (schema locks)
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        waited = 0.0
        while True:
            for slot in range(limit):
                if connection.execute(text("SELECT pg_try_advisory_lock(:key, :slot)"),
                                      {"key": key, "slot": slot}).scalar():
                    if waited:
                        log.debug("waited %.1f s for a slot on %s", waited, host)
                    try:
                        yield
                    finally:
                        connection.execute(text("SELECT pg_advisory_unlock(:key, :slot)"), {"key": key, "slot": slot})
                    return
            pause = 0.2 + random.random() * 0.3
            time.sleep(pause)
            waited += pause
    finally:
        connection.close()


def find_unit(config: Config, host: str, login: str) -> Unit | None:
    for forge, owner in config.accounts():
        if forge.host == host and (owner.login if owner else forge.host) == login:
            return Unit(forge, owner)
    return None


def crawl_account(run_id: int, host: str, login: str, export_dir: str | None = None) -> str:
    """One account of a run: taken (unless a previous attempt stored it), crawled, stored with the run's
    bookkeeping in one transaction; the run closed and exported if it was the last."""
    state = STATE
    if state is None:
        raise RuntimeError("crawl_account runs in a `codeindex worker` process only")
    engine = state.engine
    if not queue.take(engine, run_id, host, login, state.name):
        log.info("run %d: %s/%s already stored (a retried job): nothing to do", run_id, host, login)
        _close(run_id, export_dir)
        return "already stored"
    unit = find_unit(state.config(), host, login)
    if unit is None:
        now = utcnow()
        crawl = AccountCrawl(forge_host=host, login=login, status=OutcomeStatus.FAILED, started_at=now,
                             finished_at=now, error=f"not in the configuration of worker {state.name}")
    else:
        validators, counts = state.run_state(run_id, host)
        with host_slot(engine, host, unit.forge.kind):
            crawl = _crawl_unit(engine, unit, state.factories, state.thread_adapters(), validators,
                                counts.get(_count_key(host, login), 0))
        if crawl.status == OutcomeStatus.UNREACHABLE:
            crawl = replace(crawl, error=_plain_network_error(host, crawl.error))
    stored = queue.store(engine, run_id, host, login, crawl)
    log.info("run %d: %s/%s %s%s", run_id, host, login, crawl.status.value,
             "" if stored is not None else " (already stored by another attempt: not stored again)")
    _close(run_id, export_dir)
    return crawl.status.value


def _close(run_id: int, export_dir: str | None) -> None:
    assert STATE is not None
    run = queue.finish_if_complete(STATE.engine, run_id)
    if run is None:
        return
    log.info("run %d finished: %s (ok %d, failed %d)", run_id, run.status, run.accounts_ok, run.accounts_failed)
    if export_dir:
        from procrastinate import exceptions

        try:
            STATE.app.configure_task(EXPORT_TASK, queueing_lock=f"export:{export_dir}", lock=f"export:{export_dir}",
                                     queue=QUEUE).defer(run_id=run_id, export_dir=export_dir)
        except exceptions.AlreadyEnqueued:
            log.info("an export to %s is already waiting: it will include run %d", export_dir, run_id)


def export_run(run_id: int, export_dir: str) -> str:
    """The export after a run's last account: once per run, whichever worker closed it."""
    from index.export.build import export_index

    assert STATE is not None
    export_index(STATE.engine, Path(export_dir))
    log.info("run %d exported to %s", run_id, export_dir)
    return export_dir

