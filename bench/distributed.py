"""The distributed row: one cold crawl with 1 and with 3 `codeindex worker` processes on PostgreSQL, side by side
in one run, on the same simulated forge (one process, as in the other rows); then the same crawl by one
`codeindex crawl` process into PostgreSQL, the reference on the same database.

Each count gets an empty index of its own (a PostgreSQL schema, dropped afterwards). The workers are started and
registered first; the time is from `crawl --enqueue`'s planning to the run closed by the worker that stored its
last account. Every worker runs `--concurrency` jobs at once (the runner's default of 8 accounts): three workers
are three machines' worth of threads, on this machine's cores.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.forge import TOKEN_ENV, ForgeProcess
from bench.run import forge_figures

WORKER_COUNTS = (1, 3)


def _schema_url(pg_url: str, schema: str) -> str:
    from index.db import normalise_url

    separator = "&" if "?" in pg_url else "?"
    return f"{normalise_url(pg_url)}{separator}options={quote(f'-csearch_path={schema}')}"


def _sql(pg_url: str, statement: str) -> Any:
    from sqlalchemy import create_engine, text

    from index.db import normalise_url

    engine = create_engine(normalise_url(pg_url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def crawl_with_workers(pg_url: str, config: Path, count: int, concurrency: int, forge: ForgeProcess,
                       echo: Any = print) -> dict[str, Any]:
    from sqlalchemy import select

    from crawler.config import load_config
    from crawler.distributed.queue import enqueue_run
    from crawler.runner import plan
    from index.db import open_index, transaction
    from index.models import CrawlRun, QueuedAccount

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    _sql(pg_url, f'CREATE SCHEMA "{schema}"')
    url = _schema_url(pg_url, schema)
    engine = open_index(url)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    logs = [tempfile.TemporaryFile() for _ in range(count)]  # a pipe nobody reads would block a chatty worker
    workers = [subprocess.Popen([sys.executable, "-m", "crawler.cli", "--db", url, "--config", str(config), "worker",
                                 "--concurrency", str(concurrency)], env=env, stdout=log, stderr=subprocess.STDOUT)
               for log in logs]
    try:
        deadline = time.monotonic() + 120
        while _registered(engine) < count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                for log in logs:
                    log.seek(0)
                raise RuntimeError("the workers did not start: " + " | ".join(
                    log.read().decode(errors="replace")[-500:] for log in logs))
            time.sleep(0.2)
        forge.reset()
        configuration = load_config(config)
        started = time.perf_counter()
        queued = enqueue_run(engine, url, plan(configuration), trigger="bench", config=configuration)
        while True:
            with transaction(engine) as session:
                run = session.get_one(CrawlRun, queued.run_id)
                if run.status != "running":
                    break
            time.sleep(0.25)
        seconds = time.perf_counter() - started
        with transaction(engine) as session:  # the run's critical path: its longest account
            longest = max(session.scalars(select(QueuedAccount).where(QueuedAccount.run_id == queued.run_id)),
                          key=lambda q: (q.finished_at - q.started_at) if q.finished_at and q.started_at else dt.timedelta(0))
        result = {"workers": count, "concurrency": concurrency, "seconds": seconds, "status": run.status,
                  "accounts": queued.jobs, "accounts_ok": run.accounts_ok, "accounts_failed": run.accounts_failed,
                  "repos_new": run.repos_new, "longest_account": f"{longest.forge_host}/{longest.login}",
                  "longest_account_seconds": round(((longest.finished_at or started_at_of(longest))
                                                    - started_at_of(longest)).total_seconds(), 1)}
        echo(f"  {count} worker(s) x {concurrency}: {seconds:.1f} s, {run.status}, {run.accounts_ok} accounts ok; "
             f"longest account {result['longest_account']} {result['longest_account_seconds']} s")
        return result
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        for log in logs:
            log.close()
        engine.dispose()
        _sql(pg_url, f'DROP SCHEMA "{schema}" CASCADE')


def started_at_of(row: Any) -> dt.datetime:
    return row.started_at or row.queued_at  # type: ignore[no-any-return]


def _registered(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        if connection.execute(text("SELECT to_regclass('procrastinate_workers')")).scalar() is None:
            return 0
        return int(connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar() or 0)


def local_on_postgres(pg_url: str, config: Path, forge: ForgeProcess, echo: Any = print) -> dict[str, Any]:
    """The same cold crawl by one `codeindex crawl` process (the runner's defaults) into the same kind of
    PostgreSQL index: what the workers are compared with, the database being the same."""
    from bench.steps import crawl_step, in_child

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    _sql(pg_url, f'CREATE SCHEMA "{schema}"')
    try:
        url = _schema_url(pg_url, schema)
        from index.db import open_index

        open_index(url).dispose()  # migrated before the clock starts, as the workers' index is
        forge.reset()
        step = in_child(crawl_step, url, str(config), 8, None)
        echo(f"  1 process (codeindex crawl): {step['seconds']:.1f} s, {step['status']}, "
             f"{step['accounts_ok']} accounts ok")
        return step
    finally:
        _sql(pg_url, f'DROP SCHEMA "{schema}" CASCADE')


def run_distributed(scale: float, latency_ms: float, pg_url: str, *, concurrency: int = 8,
                    counts: tuple[int, ...] = WORKER_COUNTS, local: bool = True, sample: float | None = None,
                    echo: Any = print) -> dict[str, Any]:
    os.environ.setdefault(TOKEN_ENV, "bench-token-not-a-secret")
    out: dict[str, Any] = {"scale": scale, "latency_ms": latency_ms, "runs": {},
                           "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    with ForgeProcess(scale, latency_ms, sample=sample) as forge, tempfile.TemporaryDirectory() as scratch:
        info = forge.info
        config = Path(scratch) / "organisations.yml"
        config.write_text(info["config_yaml"], encoding="utf-8")
        out["repositories"] = info["repositories"]
        echo(f"x{scale:g} distributed: {info['repositories']} repositories, workers {counts}, PostgreSQL")
        for count in counts:
            step = crawl_with_workers(pg_url, config, count, concurrency, forge, echo)
            step["forge"] = forge_figures(forge.stats(), info["hosts"], info["repositories"])
            out["runs"][str(count)] = step
        if local:
            step = local_on_postgres(pg_url, config, forge, echo)
            step["forge"] = forge_figures(forge.stats(), info["hosts"], info["repositories"])
            out["local"] = step
    if not counts:
        return out
    first, last = out["runs"][str(counts[0])], out["runs"][str(counts[-1])]
    out["speedup"] = round(first["seconds"] / max(1e-9, last["seconds"]), 3)
    out["same_requests"] = first["forge"]["requests"] == last["forge"]["requests"]
    return out


def distributed_table(results: dict[str, Any]) -> str:
    lines = ["| scale | workers × jobs | time s | status | accounts ok | requests | points | speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    for key, result in sorted(results.items(), key=lambda kv: float(kv[0])):
        local = result.get("local")
        if local:
            lines.append(f"| x{key} | `codeindex crawl` (8 threads) | {local['seconds']:.1f} | {local['status']} | "
                         f"{local['accounts_ok']} | {local['forge']['requests']} | {local['forge']['points']} | |")
        for count, run in sorted(result["runs"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"| x{key} | {count} × {run['concurrency']} | {run['seconds']:.1f} | {run['status']} | "
                         f"{run['accounts_ok']} | {run['forge']['requests']} | {run['forge']['points']} | "
                         + (f"{result['speedup']}" if int(count) > 1 else "1") + " |")
    return "\n".join(lines)
