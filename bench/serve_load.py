"""`python -m bench.serve_load --db URL [--export DIR] [--clients 8] [--seconds 30]`: load on `codeindex serve`.

Starts `codeindex serve` on a free loopback port (a separate process), then `clients` concurrent HTTP clients
(httpx, asyncio) each send filtered + searched listing queries back to back for `seconds`, drawn in turn from
QUERIES (a word searched, with a filter; first page with its facet counts, as the search page asks). Prints the
requests, errors, throughput and latency percentiles as JSON. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

QUERIES = [
    {"q": "data", "fork": "false"},
    {"q": "api", "archived": "false"},
    {"q": "gouv", "forge": "github.com"},
    {"q": "python", "license": "MIT"},
    {"q": "carte", "sort": "activity"},
    {"q": "open", "publiccode": "false", "sort": "score"},
    {"q": "web site", "fork": "false"},
    {"q": "outil", "active_days": "3650"},
    {"q": "docker", "sort": "name"},
    {"q": "recherche", "archived": "false"},
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _client(base: str, deadline: float, start: int, latencies: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        i = start
        while time.perf_counter() < deadline:
            params = QUERIES[i % len(QUERIES)]
            i += 1
            began = time.perf_counter()
            try:
                answer = await client.get("/api/v1/repositories", params=params)
                answer.json()
                if answer.status_code != 200:
                    errors.append(f"HTTP {answer.status_code}")
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
            latencies.append((time.perf_counter() - began) * 1000)


async def load(base: str, clients: int, seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(base, deadline, n, latencies, errors) for n in range(clients)))
    cuts = statistics.quantiles(latencies, n=100)
    return {"clients": clients, "seconds": seconds, "requests": len(latencies), "errors": len(errors),
            "requests_per_second": round(len(latencies) / seconds, 1), "p50_ms": round(cuts[49], 1),
            "p95_ms": round(cuts[94], 1), "p99_ms": round(cuts[98], 1), "max_ms": round(max(latencies), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_load", description=__doc__)
    parser.add_argument("--db", required=True, help="index URL (the server reads it)")
    parser.add_argument("--export", type=Path, default=None, help="export folder served under /data/")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args(argv)
    port = _free_port()
    command = [sys.executable, "-m", "crawler.cli", "--db", args.db, "serve", "--port", str(port),
               "--workers", str(args.workers)]
    if args.export is not None:
        command += ["--export", str(args.export)]
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.getcwd()})
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/api/v1/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for params in QUERIES:  # warm the database's cache, as a server that has been up a while
            httpx.get(base + "/api/v1/repositories", params=params, timeout=30)
        result = asyncio.run(load(base, args.clients, args.seconds))
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps({"db": args.db.split("@")[-1], "workers": args.workers, **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
