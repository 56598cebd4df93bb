"""`python -m bench.serve_load --db URL [--export DIR] [--clients 8] [--seconds 30] [--workers N]`: load on
`codeindex serve`.

Starts `codeindex serve` on a free loopback port (a separate process), then `clients` concurrent HTTP clients
each send filtered + searched listing queries back to back for `seconds`, drawn in turn from QUERIES (a word
searched, with a filter or a sort; first page with its facet counts, as the search page asks). Prints the requests,
errors, throughput, latency percentiles and the server's CPU time per request as JSON. See docs/benchmarks.md.

The clients speak HTTP/1.1 on kept-alive asyncio streams, with the requests encoded once: the load generator
shares the machine with the server, and a full HTTP client (httpx: ~1 ms of CPU per request) took a third of it.
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
from urllib.parse import urlencode

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
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _requests(port: int) -> list[bytes]:
    return [(f"GET /api/v1/repositories?{urlencode(params)} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
             "Accept: application/json\r\n\r\n").encode() for params in QUERIES]


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length (as the API sends them): its status and body."""
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _client(port: int, deadline: float, start: int, latencies: list[float], errors: list[str]) -> None:
    requests = _requests(port)
    reader, writer = await asyncio.open_connection(HOST, port)
    i = start
    try:
        while time.perf_counter() < deadline:
            request = requests[i % len(requests)]
            i += 1
            began = time.perf_counter()
            try:
                writer.write(request)
                status, body = await _answer(reader)
                if status != 200 or "items" not in json.loads(body):
                    errors.append(f"HTTP {status}")
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                errors.append(type(exc).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
            latencies.append((time.perf_counter() - began) * 1000)
    finally:
        writer.close()


def _cpu_seconds(root: int) -> float | None:
    """User + system CPU time of a process and its descendants (Linux /proc), or None elsewhere."""
    proc = Path("/proc")
    if not (proc / str(root) / "stat").exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    tree, total = {root}, 0.0
    for _ in range(3):  # the server, its uvicorn workers, their children
        tree |= {pid for pid, (parent, _) in stats.items() if parent in tree}
    for pid in tree:
        total += stats.get(pid, (0, 0.0))[1]
    return total


async def load(port: int, clients: int, seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(port, deadline, n, latencies, errors) for n in range(clients)))
    cuts = statistics.quantiles(latencies, n=100)
    return {"clients": clients, "seconds": seconds, "requests": len(latencies), "errors": len(errors),
            "requests_per_second": round(len(latencies) / seconds, 1), "p50_ms": round(cuts[49], 1),
            "p95_ms": round(cuts[94], 1), "p99_ms": round(cuts[98], 1), "max_ms": round(max(latencies), 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve_load", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
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
    server = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": os.getcwd()},
                              stdout=subprocess.DEVNULL)  # its banner: this command's output is the JSON
    base = f"http://{HOST}:{port}"
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/api/v1/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        for _ in range(args.workers):  # warm each worker and the database's cache, as a server up a while
            for params in QUERIES:
                httpx.get(base + "/api/v1/repositories", params=params, timeout=30)
        cpu_before = _cpu_seconds(server.pid)
        result = asyncio.run(load(port, args.clients, args.seconds))
        cpu_after = _cpu_seconds(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    if cpu_before is not None and cpu_after is not None:
        requests = max(1, int(str(result["requests"])))
        result["server_cpu_ms_per_request"] = round(1000 * (cpu_after - cpu_before) / requests, 2)
    print(json.dumps({"db": args.db.split("@")[-1], "workers": args.workers, **result}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
