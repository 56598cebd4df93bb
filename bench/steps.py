"""Measured steps, each run in a fresh child process: its wall time and peak RSS are its own.

Peak RSS is `resource.getrusage(RUSAGE_SELF).ru_maxrss` read at the end of the child (Linux: KiB), i.e. the
high-water mark of the whole step, imports and database included, plus that of the step's largest child
process (the export's status report runs in one beside it): an upper bound. The forge runs in another process
and is not counted.
"""

from __future__ import annotations

import multiprocessing as mp
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any


def _peak_mb() -> float:
    """The step's peak RSS plus its largest child's (the export builds status/ in one, beside it): an upper
    bound of what the step held at once."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def crawl_step(db_url: str, config_path: str, workers: int, per_host: int | None) -> dict[str, Any]:
    """Our crawler: `crawler.runner.run_crawl` over every configured account."""
    from crawler.config import load_config
    from crawler.runner import run_crawl
    from index.db import open_index

    engine = open_index(db_url)
    config = load_config(Path(config_path))
    started = time.perf_counter()
    summary = run_crawl(engine, config, trigger="bench", workers=workers, per_host=per_host)
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(), "status": summary.status,
            "accounts_ok": summary.accounts_ok, "accounts_failed": summary.accounts_failed,
            "failures": summary.failures[:5], "repos_new": summary.repos_new,
            "repos_updated": summary.repos_updated, "repos_gone": summary.repos_gone,
            "adapter_requests": summary.requests, "adapter_not_modified": summary.not_modified}


def baseline_step(config_path: str, workers: int, per_host: int | None) -> dict[str, Any]:
    """The reference crawler of bench/baseline.py (stores nothing: its cost is all on the forge side)."""
    from bench.baseline import crawl_all
    from crawler.config import load_config

    config = load_config(Path(config_path))
    started = time.perf_counter()
    result = crawl_all(config, workers=workers, per_host=per_host or 2)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(), **result}


def export_step(db_url: str, out_dir: str) -> dict[str, Any]:
    from index.db import open_index
    from index.export.build import export_index

    engine = open_index(db_url)
    started = time.perf_counter()
    report = export_index(engine, Path(out_dir))
    seconds = time.perf_counter() - started
    engine.dispose()
    json_size = sum(f.size for f in report.files if not f.path.endswith(".gz"))
    return {"seconds": seconds, "peak_rss_mb": _peak_mb(), "repositories": report.repositories,
            "accounts": report.accounts, "files": len(report.files), "bytes": report.total_size,
            "bytes_uncompressed": json_size}


def in_child(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run `fn(*args)` in a fresh spawned process and return its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()
