"""Rate-limit budgets shared by every worker, in the index's database (table `rate_budgets`).

A forge counts a token's budget across all the machines that use it; each worker learns it from the answers it
gets. Shared here, what one worker learns every other knows before its next request: a worker that has not yet
sent anything with a token does not take it for fresh, and when the workers together bring a token down to its
reserve they all stop using it (switch token, or wait for the reset) instead of each finding out with a refused
request. Rows are keyed by a short hash of the token, never the token.

Within one rate-limit window the lowest remaining count wins; a later window (a later reset) replaces the old one.
Reads are cached for `ttl` seconds and writes are spaced by as much per (token, resource), except near the
reserve, so that sharing costs a query per second per worker, not one per request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
import time
from typing import cast

from sqlalchemy import Engine, Table, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from crawler.forges.http import Budget, TokenPool
from index.models import RateBudget

log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    """How a token is named in the index, metrics and logs: 12 hex digits of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:12]


class IndexBudgets:
    """The shared budgets in the index database (PostgreSQL for workers; SQLite works too, for the metrics of a
    single `codeindex schedule`)."""

    def __init__(self, engine: Engine, ttl: float = 1.0):
        self.engine = engine
        self.ttl = ttl
        self._lock = threading.Lock()
        self._read_at = 0.0
        self._rows: dict[tuple[str, str], Budget] = {}
        self._written: dict[tuple[str, str], float] = {}
        self._hashes: dict[str, str] = {}

    def _hash(self, token: str) -> str:
        value = self._hashes.get(token)
        if value is None:
            value = self._hashes[token] = token_hash(token)
        return value

    def observe(self, host: str, token: str, resource: str, budget: Budget) -> None:
        if budget.remaining is None:
            return
        key = (self._hash(token), resource)
        now = time.monotonic()
        low = budget.limit is not None and budget.remaining <= max(1, budget.limit // 10)
        with self._lock:
            if not low and now - self._written.get(key, -1e9) < self.ttl:
                return
            self._written[key] = now
        table = cast(Table, RateBudget.__table__)
        values = {"token_hash": key[0], "resource": resource, "forge_host": host, "remaining": budget.remaining,
                  "limit": budget.limit, "reset_at": budget.reset_at, "updated_at": dt.datetime.now(dt.UTC)}
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table).values(**values)
        current = table.c
        statement = statement.on_conflict_do_update(
            index_elements=[current.token_hash, current.resource],
            set_={k: statement.excluded[k] for k in ("forge_host", "remaining", "limit", "reset_at", "updated_at")},
            where=or_(current.reset_at.is_(None), current.remaining.is_(None),
                      statement.excluded.reset_at > current.reset_at,
                      statement.excluded.remaining < current.remaining),
        )
        try:
            with self.engine.begin() as connection:
                connection.execute(statement)
        except Exception:  # sharing is an optimisation: a failed write must not fail the account
            log.warning("could not share a rate-limit budget", exc_info=True)

    def merge(self, pool: TokenPool, resource: str) -> None:
        """Bring the pool's budgets for `resource` down to what the other workers have seen."""
        rows = self._read()
        for index, token in enumerate(pool.tokens):
            if token is None:
                continue
            shared = rows.get((self._hash(token), resource))
            if shared is None or shared.remaining is None:
                continue
            local = pool.budget(index, resource)
            same_window = local.reset_at is not None and shared.reset_at == local.reset_at
            if (local.remaining is None or local.reset_at is None
                    or (shared.reset_at is not None and shared.reset_at > local.reset_at)
                    or (same_window and shared.remaining < local.remaining)):
                local.remaining, local.limit, local.reset_at = shared.remaining, shared.limit, shared.reset_at

    def _read(self) -> dict[tuple[str, str], Budget]:
        now = time.monotonic()
        with self._lock:
            if now - self._read_at < self.ttl:
                return self._rows
            self._read_at = now
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(select(RateBudget.token_hash, RateBudget.resource, RateBudget.remaining,
                                                 RateBudget.limit, RateBudget.reset_at)).all()
        except Exception:
            log.warning("could not read the shared rate-limit budgets", exc_info=True)
            return self._rows
        fresh = {(h, r): Budget(remaining, limit, reset) for h, r, remaining, limit, reset in rows}
        with self._lock:
            self._rows = fresh
        return fresh
