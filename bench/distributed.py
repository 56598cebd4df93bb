"""The distributed row: one cold crawl with 1 and with 3 `codeindex worker` processes on PostgreSQL, side by side
in one run, on the same simulated forge (one process, as in the other rows).

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
    from crawler.config import load_config
    from crawler.distributed.queue import enqueue_run
    from crawler.runner import plan
    from index.db import open_index, transaction
    from index.models import CrawlRun

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    _sql(pg_url, f'CREATE SCHEMA "{schema}"')
    url = _schema_url(pg_url, schema)
    engine = open_index(url)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    workers = [subprocess.Popen([sys.executable, "-m", "crawler.cli", "--db", url, "--config", str(config), "worker",
                                 "--concurrency", str(concurrency)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for _ in range(count)]
    try:
        deadline = time.monotonic() + 120
        while _registered(engine) < count:
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                raise RuntimeError("the workers did not start: " + " ".join(
                    (w.stderr.read() if w.stderr and w.poll() is not None else b"").decode()[-500:] for w in workers))
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
        result = {"workers": count, "concurrency": concurrency, "seconds": seconds, "status": run.status,
                  "accounts": queued.jobs, "accounts_ok": run.accounts_ok, "accounts_failed": run.accounts_failed,
                  "repos_new": run.repos_new}
        echo(f"  {count} worker(s) x {concurrency}: {seconds:.1f} s, {run.status}, {run.accounts_ok} accounts ok")
        return result
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
        engine.dispose()
        _sql(pg_url, f'DROP SCHEMA "{schema}" CASCADE')


def _registered(engine: Any) -> int:
    from sqlalchemy import text

    with engine.connect() as connection:
        if connection.execute(text("SELECT to_regclass('procrastinate_workers')")).scalar() is None:
            return 0
        return int(connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar() or 0)


def run_distributed(scale: float, latency_ms: float, pg_url: str, *, concurrency: int = 8,
                    counts: tuple[int, ...] = WORKER_COUNTS, sample: float | None = None,
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
    first, last = out["runs"][str(counts[0])], out["runs"][str(counts[-1])]
    out["speedup"] = round(first["seconds"] / max(1e-9, last["seconds"]), 3)
    out["same_requests"] = first["forge"]["requests"] == last["forge"]["requests"]
    return out


def distributed_table(results: dict[str, Any]) -> str:
    lines = ["| scale | workers × jobs | time s | status | accounts ok | requests | points | speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    for key, result in sorted(results.items(), key=lambda kv: float(kv[0])):
        for count, run in sorted(result["runs"].items(), key=lambda kv: int(kv[0])):
            lines.append(f"| x{key} | {count} × {run['concurrency']} | {run['seconds']:.1f} | {run['status']} | "
                         f"{run['accounts_ok']} | {run['forge']['requests']} | {run['forge']['points']} | "
                         + (f"{result['speedup']}" if int(count) > 1 else "1") + " |")
    return "\n".join(lines)
