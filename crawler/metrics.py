"""Prometheus metrics and a health endpoint for `codeindex schedule` and `codeindex worker` (`--metrics-port`).

Every figure is read from the index when scraped, so that any process (one scheduler, or each of N workers)
serves the same, whole picture, and nothing is lost when a process restarts:

- `codeindex_runs_total{status}` runs by outcome (`running` too), `codeindex_run_queue_accounts{status}` the
  accounts of distributed runs in progress (waiting / running / done);
- `codeindex_accounts{status}` configured accounts by the outcome of their last crawl;
- `codeindex_forge_requests_total{forge}`, `codeindex_forge_rate_limit_points_total{forge,resource}`;
- `codeindex_token_budget_remaining{forge,token,resource}` (and `_limit`, `_reset_timestamp_seconds`), `forge`
  being the API's host (api.github.com): a token is named by 12 hex digits of its SHA-256, never itself;
- `codeindex_forge_last_success_timestamp_seconds{forge}`, `codeindex_export_age_seconds`,
  `codeindex_last_good_run_timestamp_seconds`.

`GET /health` answers 200 while a run ended ok or partial within two schedule intervals, 503 otherwise (JSON
either way): what a load balancer or an uptime check polls.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from index.models import Account, CrawlRun, Forge, QueuedAccount, RateBudget

log = logging.getLogger(__name__)

GOOD = ("ok", "partial")


def _export_file(export_dir: Path | None) -> Path | None:
    if export_dir is None:
        return None
    for name in ("repositories.json", "repositories.json.gz"):
        if (export_dir / name).exists():
            return export_dir / name
    return None


class IndexCollector:
    """A prometheus_client collector reading the index at each scrape."""

    def __init__(self, engine: Engine, export_dir: Path | None = None):
        self.engine = engine
        self.export_dir = export_dir

    def describe(self) -> list[Any]:
        return []  # no registration-time scrape: the index may be busy or down when the server starts

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        with self.engine.connect() as connection:
            runs = connection.execute(select(CrawlRun.status, func.count()).group_by(CrawlRun.status)).all()
            per_forge = connection.execute(select(CrawlRun.per_forge)).scalars().all()
            accounts = connection.execute(select(Account.last_status, func.count()).where(Account.configured)
                                          .group_by(Account.last_status)).all()
            running = select(CrawlRun.id).where(CrawlRun.status == "running")
            queued = connection.execute(select(QueuedAccount.status, func.count())
                                        .where(QueuedAccount.run_id.in_(running))
                                        .group_by(QueuedAccount.status)).all()
            budgets = connection.execute(select(RateBudget.forge_host, RateBudget.token_hash, RateBudget.resource,
                                                RateBudget.remaining, RateBudget.limit, RateBudget.reset_at)).all()
            success = connection.execute(select(Forge.host, func.max(Account.last_success_at))
                                         .join(Account, Account.forge_id == Forge.id).group_by(Forge.host)).all()
            last_good = last_good_run(connection)

        family: Any = CounterMetricFamily("codeindex_runs", "Crawl runs by outcome (running: in progress)", labels=["status"])
        for run_status, count in sorted(runs):
            family.add_metric([run_status], count)
        yield family
        family = GaugeMetricFamily("codeindex_run_queue_accounts",
                                   "Accounts of the distributed runs in progress, by state", labels=["status"])
        found = dict(queued)
        for status in ("waiting", "running", "done"):
            family.add_metric([status], found.get(status, 0))
        yield family
        family = GaugeMetricFamily("codeindex_accounts", "Configured accounts by the outcome of their last crawl",
                                   labels=["status"])
        for last_status, count in sorted(accounts, key=lambda a: a[0] or ""):
            family.add_metric([last_status or "never"], count)
        yield family

        requests: dict[str, int] = {}
        points: dict[tuple[str, str], int] = {}
        for document in per_forge:
            for host, entry in (document or {}).items():
                requests[host] = requests.get(host, 0) + int(entry.get("requests", 0))
                for resource in ("rest", "graphql"):
                    key = (host, resource)
                    points[key] = points.get(key, 0) + int(entry.get(f"{resource}_points", 0))
        family = CounterMetricFamily("codeindex_forge_requests", "HTTP requests sent to each forge", labels=["forge"])
        for host, count in sorted(requests.items()):
            family.add_metric([host], count)
        yield family
        family = CounterMetricFamily("codeindex_forge_rate_limit_points", "Rate-limit points spent on each forge",
                                     labels=["forge", "resource"])
        for (host, resource), count in sorted(points.items()):
            family.add_metric([host, resource], count)
        yield family

        remaining = GaugeMetricFamily("codeindex_token_budget_remaining",
                                      "Rate-limit budget left, as the forge last reported it",
                                      labels=["forge", "token", "resource"])
        limit = GaugeMetricFamily("codeindex_token_budget_limit", "Rate-limit budget per window",
                                  labels=["forge", "token", "resource"])
        reset = GaugeMetricFamily("codeindex_token_budget_reset_timestamp_seconds", "When the budget is refilled",
                                  labels=["forge", "token", "resource"])
        for host, token, resource, left, cap, reset_at in sorted(budgets, key=lambda b: (b[0], b[1], b[2])):
            labels = [host, token, resource]
            if left is not None:
                remaining.add_metric(labels, left)
            if cap is not None:
                limit.add_metric(labels, cap)
            if reset_at is not None:
                reset.add_metric(labels, _utc(reset_at).timestamp())
        yield from (remaining, limit, reset)

        family = GaugeMetricFamily("codeindex_forge_last_success_timestamp_seconds",
                                   "Last successful crawl of an account of each forge", labels=["forge"])
        for host, when in sorted(success, key=lambda s: s[0]):
            if when is not None:
                family.add_metric([host], _utc(when).timestamp())
        yield family
        if last_good is not None:
            yield GaugeMetricFamily("codeindex_last_good_run_timestamp_seconds",
                                    "End of the last run that ended ok or partial", value=last_good.timestamp())
        exported = _export_file(self.export_dir)
        if exported is not None:
            age = dt.datetime.now(dt.UTC).timestamp() - exported.stat().st_mtime
            yield GaugeMetricFamily("codeindex_export_age_seconds", "Age of the export's repositories file",
                                    value=max(0.0, age))


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def last_good_run(connection: Any) -> dt.datetime | None:
    value = connection.execute(select(func.max(CrawlRun.finished_at)).where(CrawlRun.status.in_(GOOD))).scalar()
    if isinstance(value, str):  # SQLite through a Core aggregate: the stored text
        value = dt.datetime.fromisoformat(value)
    return _utc(value) if value is not None else None


def health(engine: Engine, interval: dt.timedelta, now: dt.datetime | None = None) -> tuple[bool, dict[str, Any]]:
    """Healthy while a run ended ok or partial within two schedule intervals."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        with engine.connect() as connection:
            last = last_good_run(connection)
    except Exception as exc:
        return False, {"healthy": False, "reason": f"index unreachable: {type(exc).__name__}"}
    limit = 2 * interval
    healthy = last is not None and now - last <= limit
    reason = ("no run ended ok or partial yet" if last is None else
              f"last good run ended {int((now - last).total_seconds())} s ago (limit {int(limit.total_seconds())} s)")
    return healthy, {"healthy": healthy, "reason": reason, "last_good_run": last.isoformat() if last else None}


def serve(engine: Engine, port: int, interval: dt.timedelta, export_dir: Path | None = None,
          host: str = "0.0.0.0") -> ThreadingHTTPServer:  # noqa: S104 - a metrics port is scraped from outside
    """Serve /metrics and /health on `port` (0: any free port, see `server.server_port`) in a daemon thread."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(IndexCollector(engine, export_dir))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                try:
                    body, status, kind = generate_latest(registry), 200, CONTENT_TYPE_LATEST
                except Exception as exc:  # the index down: say so, do not hang the scraper
                    body, status, kind = f"index unreadable: {type(exc).__name__}\n".encode(), 503, "text/plain"
            elif path == "/health":
                healthy, detail = health(engine, interval)
                body, status, kind = json.dumps(detail).encode(), 200 if healthy else 503, "application/json"
            else:
                body, status, kind = b"/metrics or /health\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.debug("metrics: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
