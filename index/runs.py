"""Crawl runs as an operator reads them: `codeindex runs` and `codeindex runs --run N`."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Engine, select

from index.db import transaction
from index.models import Account, AccountOutcome, CrawlRun, Forge
from index.queue import progress

DEMO_TRIGGER = "demo"


def index_purpose(engine: Engine) -> str | None:
    """"demo" when the index holds the demo's runs (simulated data), "real" when it holds other runs, None when it
    holds no run yet. An index that holds both (made before the two were kept apart) answers "mixed"."""
    with engine.connect() as connection:
        triggers = {t for (t,) in connection.execute(select(CrawlRun.trigger).distinct())}
    if not triggers:
        return None
    if triggers == {DEMO_TRIGGER}:
        return "demo"
    return "mixed" if DEMO_TRIGGER in triggers else "real"


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "—"


def _duration(run: CrawlRun) -> str:
    if not run.finished_at:
        return "—"
    seconds = int((run.finished_at - run.started_at).total_seconds())
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m{seconds % 60:02d}s" if seconds >= 3600 else (
        f"{seconds // 60}m{seconds % 60:02d}s")


def recent_runs(engine: Engine, count: int = 10) -> str:
    with transaction(engine) as session:
        runs = list(session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(count)))
    if not runs:
        return "no crawl run yet: start one with `codeindex crawl` (or try `codeindex demo`)"
    queued = progress(engine, [r.id for r in runs])
    header = ("run", "started", "duration", "status", "trigger", "ok", "failed", "unsup", "new", "updated", "gone",
              "requests", "304", "REST pts", "GraphQL pts")
    rows = [
        (str(r.id), _when(r.started_at), _duration(r), _status(r, queued.get(r.id)), r.trigger, str(r.accounts_ok),
         str(r.accounts_failed), str(r.accounts_unsupported), str(r.repos_new), str(r.repos_updated),
         str(r.repos_gone), str(r.requests), str(r.not_modified), str(r.rest_points), str(r.graphql_points))
        for r in runs
    ]
    return _table(header, rows)


def describe_run(engine: Engine, run_id: int) -> str | None:
    with transaction(engine) as session:
        run = session.get(CrawlRun, run_id)
        if run is None:
            return None
        failures = session.execute(
            select(Forge.host, Account.login, AccountOutcome.status, AccountOutcome.error)
            .join(Account, Account.id == AccountOutcome.account_id)
            .join(Forge, Forge.id == Account.forge_id)
            .where(AccountOutcome.run_id == run_id, AccountOutcome.status != "ok")
            .order_by(Forge.host, Account.login)
        ).all()
    queued = progress(engine, [run_id]).get(run_id)
    lines = [
        f"run {run.id} ({run.trigger}): {_status(run, queued)}, started {_when(run.started_at)}, "
        f"finished {_when(run.finished_at)} ({_duration(run)})",
        "",
    ]
    header = ("forge", "accounts", "ok", "new", "updated", "gone", "requests", "304", "REST pts", "GraphQL pts")
    rows = [
        (host, str(d.get("accounts", 0)), str(d.get("accounts_ok", 0)), str(d.get("repos_new", 0)),
         str(d.get("repos_updated", 0)), str(d.get("repos_gone", 0)), str(d.get("requests", 0)),
         str(d.get("not_modified", 0)), str(d.get("rest_points", 0)), str(d.get("graphql_points", 0)))
        for host, d in sorted((run.per_forge or {}).items())
    ]
    lines.append(_table(header, rows))
    if failures:
        lines += ["", f"{len(failures)} account(s) not ok:"]
        lines += [f"  {host}/{login}: {status}{': ' + error if error else ''}" for host, login, status, error in failures]
    return "\n".join(lines)


def _status(run: CrawlRun, queued: Counter[str] | None) -> str:
    """A distributed run says how far its queue is: accounts done / crawling / waiting for a worker."""
    if not queued:
        return run.status
    total = sum(queued.values())
    parts = [f"{queued['done']}/{total} done"]
    parts += [f"{queued[s]} {s}" for s in ("running", "waiting") if queued[s]]
    return f"{run.status} (queue: {', '.join(parts)})"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*("-" * w for w in widths)), *(fmt.format(*r) for r in rows)])
