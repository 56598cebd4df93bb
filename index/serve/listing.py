"""The published listing held in memory as arrays, from which the API computes a page, its total and its facet
counts; the index stays the source of truth.

Why: in SQL, a first page with its facet counts cost ~9 ms of CPU per request at x10 (90,660 repositories), even
in one statement: a search for a common word matches thousands of repositories, which the database must filter,
materialize, sort and group four times, at ~1 µs a row; the unfiltered listing cost ~150 ms. With 8 clients on 2
cores that is p95 > 100 ms. Held as numpy arrays (16.5 MB per server process at x10), filters and counts are a
few vector operations, whatever the filter matches: the benchmark's requests cost ~2.7 ms each, the unfiltered
first page too (docs/benchmarks.md).

What stays in the database: the full-text search (FTS5 or PostgreSQL's GIN index: it returns the matching ids)
and the page's rows, read by id. A Snapshot holds only what filters, counts and orders need.

Freshness: a Snapshot is rebuilt when the UTC day changes (the publication rules depend on it) or when the index
has changed: SQLite's `PRAGMA data_version`, PostgreSQL's snapshot xmax (it moves when any transaction of the
server writes), checked at most every `check_seconds`; a rebuild waits `rebuild_seconds` after the previous one,
so that a crawl committing account after account costs one rebuild per interval. A background thread rebuilds
(~0.6 s at x10); requests meanwhile are answered from the previous Snapshot.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Connection, Engine, Integer, cast, func, literal_column, select

from index.models import Account, Forge, Repository
from index.queries import published_filters
from index.search import FTS_TABLE, PG_TABLE, fts5_query, tsquery, words
from index.serve.params import ACTIVITY_TIME, Filters, Listing

log = logging.getLogger(__name__)

FACET_SIZE = 30
FACETS = ("ministry", "forge", "license", "language")  # counted per value, the FACET_SIZE largest kept
FLAGS = ("archived", "fork", "publiccode")  # counted as true / false
NO_TIME = -(2**62)  # no known activity: last in the activity order, as '' sorts in SQL
MINISTRY = func.coalesce(func.nullif(Account.ministry, ""), Forge.ministry)
ACTIVITY = func.coalesce(Repository.pushed_at, Repository.updated_at)
EPOCH_SECONDS: dict[str, Callable[[Any], Any]] = {  # a UTC timestamp column as whole seconds since 1970
    "sqlite": lambda column: cast(func.strftime("%s", column), Integer),
    "postgresql": lambda column: cast(func.floor(func.extract("epoch", column)), BigInteger),
}


@dataclass(frozen=True)
class Coded:
    """A column as small integer codes into the table of its distinct values."""

    codes: np.ndarray
    values: list[Any]

    @classmethod
    def of(cls, column: list[Any]) -> Coded:
        table: dict[Any, int] = {}
        codes = np.fromiter((table.setdefault(v, len(table)) for v in column), np.int32, len(column))
        return cls(codes, list(table))

    def where(self, keep: Callable[[Any], bool]) -> np.ndarray:
        """Rows whose value passes `keep` (tested once per distinct value)."""
        return np.isin(self.codes, [code for code, value in enumerate(self.values) if keep(value)])

    def counts(self, mask: np.ndarray) -> list[dict[str, Any]]:
        """The FACET_SIZE most frequent values among the masked rows, then by value (no value last)."""
        counts = np.bincount(self.codes[mask], minlength=len(self.values))
        found = [(self.values[code], int(n)) for code, n in enumerate(counts) if n]
        found.sort(key=lambda v: (-v[1], v[0] is not None, v[0] or ""))
        return [{"value": value, "count": n} for value, n in found[:FACET_SIZE]]


@dataclass(frozen=True)
class Snapshot:
    """The published repositories of one day and one state of the index, a row each, in id order."""

    day: dt.date
    generation: object
    built_at: float  # time.monotonic()
    ids: np.ndarray
    account: np.ndarray  # the row's account id
    account_ids: dict[tuple[str, str], int]  # (host, lower-case login) -> account id
    facets: dict[str, Coded]
    flags: dict[str, np.ndarray]
    stars: np.ndarray
    score: np.ndarray
    activity: np.ndarray  # whole seconds since 1970, NO_TIME when unknown
    names: list[str]
    orders: dict[str, np.ndarray]  # per sort, the rows in its order (ties by id in the same direction)

    def key(self, sort: str) -> Callable[[int], tuple[Any, int]]:
        """The sort's order as an ascending key of a row (what bisect needs)."""
        ids = self.ids
        if sort == "name":
            return lambda row: (self.names[row], int(ids[row]))
        column = {"stars": self.stars, "score": self.score, "activity": self.activity}[sort]
        return lambda row: (-int(column[row]), -int(ids[row]))

    def sort_value(self, sort: str, row: int) -> Any:
        """A row's value in the sort, as cursors carry it."""
        if sort == "name":
            return self.names[row]
        if sort == "activity":
            seconds = int(self.activity[row])
            return "" if seconds == NO_TIME else dt.datetime.fromtimestamp(seconds, dt.UTC).strftime(ACTIVITY_TIME)
        return int((self.stars if sort == "stars" else self.score)[row])


def _cursor_key(sort: str, value: Any, row_id: int) -> tuple[Any, int]:
    """A cursor's (value, id) as Snapshot.key gives it, so that the page resumes after it."""
    if sort == "name":
        return (value or "", row_id)
    if sort == "activity":
        seconds = NO_TIME if not value else int(dt.datetime.strptime(value, ACTIVITY_TIME)
                                                 .replace(tzinfo=dt.UTC).timestamp())
        return (-seconds, -row_id)
    return (-(value if value is not None else NO_TIME), -row_id)


def build(connection: Connection, day: dt.date, generation: object) -> Snapshot:
    """Read the published repositories of `day` (the export's rules: index.queries.published_filters)."""
    dialect = connection.dialect.name
    rows = connection.execute(
        select(Repository.id, Repository.account_id, Repository.stars, Repository.score, Repository.name,
               func.nullif(Repository.license_spdx, ""), func.nullif(Repository.language, ""),
               Repository.archived, Repository.fork, Repository.has_publiccode,
               EPOCH_SECONDS[dialect](ACTIVITY))
        .join(Account, Account.id == Repository.account_id).join(Forge, Forge.id == Account.forge_id)
        .where(Repository.visibility == "public", Repository.gone_at.is_(None), *published_filters(day))
        .order_by(Repository.id)
    ).all()
    owners = {row.id: row for row in connection.execute(
        select(Account.id, Account.login_key, Forge.host, MINISTRY.label("ministry"))
        .join(Forge, Forge.id == Account.forge_id))}
    n = len(rows)
    columns: list[list[Any]] = [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(11)]
    ids, accounts, stars, score, names, licences, languages, archived, fork, publiccode, activity = columns
    by_id = np.fromiter(ids, np.int64, n)
    account = np.fromiter(accounts, np.int64, n)
    stars_a, score_a = np.fromiter(stars, np.int64, n), np.fromiter(score, np.int64, n)
    activity_a = np.fromiter((NO_TIME if a is None else a for a in activity), np.int64, n)
    descending = {"stars": stars_a, "score": score_a, "activity": activity_a}
    orders = {sort: np.lexsort((by_id, column))[::-1] for sort, column in descending.items()}
    orders["name"] = np.array(sorted(range(n), key=lambda row: (names[row], ids[row])), dtype=np.int64)
    return Snapshot(
        day=day, generation=generation, built_at=time.monotonic(), ids=by_id, account=account,
        account_ids={(o.host, o.login_key): o.id for o in owners.values()},
        facets={"ministry": Coded.of([owners[a].ministry for a in accounts]),
                "forge": Coded.of([owners[a].host for a in accounts]),
                "license": Coded.of(licences), "language": Coded.of(languages)},
        flags={name: np.fromiter((v is True or v == 1 for v in column), bool, n)
               for name, column in zip(FLAGS, (archived, fork, publiccode), strict=True)},
        stars=stars_a, score=score_a, activity=activity_a, names=names, orders=orders,
    )


def matching(snapshot: Snapshot, connection: Connection, f: Filters, now: dt.datetime) -> np.ndarray:
    """The rows the filter keeps, as a boolean mask. The search is the database's full-text index."""
    mask = np.ones(len(snapshot.ids), bool)
    terms = words(f.q)
    if terms:
        mask &= _found(snapshot, connection, terms)
    elif f.q.strip():
        mask[:] = False  # a query with no word in it finds nothing
    facets = snapshot.facets
    if f.ministry is not None:
        wanted = None if f.ministry.lower() == "none" else f.ministry
        mask &= facets["ministry"].where(lambda v: v == wanted)
    if f.account is not None:
        host, login = f.account
        mask &= snapshot.account == snapshot.account_ids.get((host, login.lower()), -1)
    if f.forge is not None:
        mask &= facets["forge"].where(lambda v: v == f.forge)
    if f.license is not None:
        licence = f.license.lower()
        mask &= facets["license"].where(lambda v: v is None if licence == "none" else (v or "").lower() == licence)
    if f.language is not None:
        language = f.language.lower()
        mask &= facets["language"].where(lambda v: (v or "").lower() == language)
    for name in ("archived", "fork", "publiccode"):
        value = getattr(f, name)
        if value is not None:
            mask &= snapshot.flags[name] if value else ~snapshot.flags[name]
    if f.active_days is not None:
        cutoff = int((now - dt.timedelta(days=f.active_days)).timestamp())
        mask &= snapshot.activity >= cutoff
    return mask


def _found(snapshot: Snapshot, connection: Connection, terms: list[str]) -> np.ndarray:
    """The rows whose name, description or topics hold every term (index.search). The ids come back as one
    value (SQLite: group_concat, PostgreSQL: array_agg) through the driver's cursor: as rows, thousands of them
    cost more than the search itself, and the driver let go of the GIL and took it back for each (with 8
    clients, a server process answered fewer searches a second than with one)."""
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "sqlite":
            cursor.execute(f"SELECT group_concat(rowid) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?",
                           (fts5_query(terms),))
            text = _single_value(cursor)
            found = np.fromiter(map(int, text.split(",")), np.int64) if text else np.zeros(0, np.int64)
        else:
            cursor.execute(f"SELECT array_agg(id) FROM {PG_TABLE} WHERE document @@ to_tsquery('simple', %s)",
                           (tsquery(terms),))
            found = np.array(_single_value(cursor) or [], np.int64)
    finally:
        cursor.close()
    mask = np.zeros(len(snapshot.ids), bool)
    if len(found) and len(snapshot.ids):
        at = np.minimum(np.searchsorted(snapshot.ids, found), len(snapshot.ids) - 1)
        mask[at[snapshot.ids[at] == found]] = True
    return mask


def _single_value(cursor: Any) -> Any:
    row = cursor.fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class Page:
    ids: list[int]  # the page's repositories, in order
    next_cursor: tuple[Any, int] | None  # (sort value, id) of its last one, when another page follows
    counts: dict[str, Any]  # total and facets, when asked


def page(snapshot: Snapshot, connection: Connection, listing: Listing, now: dt.datetime) -> Page:
    mask = matching(snapshot, connection, listing.filters, now)
    order = snapshot.orders[listing.sort]
    start = 0
    if listing.cursor is not None:
        start = bisect.bisect_right(order, _cursor_key(listing.sort, *listing.cursor), key=snapshot.key(listing.sort))
    after = order[start:]
    rows = after[np.flatnonzero(mask[after])[:listing.limit + 1]]
    shown = rows[:listing.limit]
    cursor = None
    if len(rows) > listing.limit:
        last = int(shown[-1])
        cursor = (snapshot.sort_value(listing.sort, last), int(snapshot.ids[last]))
    counts: dict[str, Any] = {}
    if listing.facets or listing.cursor is None:
        total = int(mask.sum())
        facets: dict[str, Any] = {name: snapshot.facets[name].counts(mask) for name in FACETS}
        for name in FLAGS:
            yes = int(np.count_nonzero(mask & snapshot.flags[name]))
            facets[name] = [{"value": True, "count": yes}, {"value": False, "count": total - yes}]
        counts = {"total": total, "facets": facets}
    return Page([int(i) for i in snapshot.ids[shown]], cursor, counts)


class LiveListing:
    """The current Snapshot of an index, rebuilt as the module docstring says: by a background thread, so that
    requests meanwhile are answered from the previous one at full speed."""

    def __init__(self, engine: Engine, *, check_seconds: float = 1.0, rebuild_seconds: float = 30.0):
        self.engine = engine
        self.check_seconds = check_seconds
        self.rebuild_seconds = rebuild_seconds
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()  # held to build the first Snapshot, and to start a rebuild
        self._rebuilding: threading.Thread | None = None
        self._failed_at = -1e9  # when a rebuild last failed: the next waits check_seconds (at least 1 s)
        self._watch: Any = None  # SQLite: the connection whose data_version tells of other connections' commits
        self._watch_lock = threading.Lock()

    def current(self, now: dt.datetime) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            with self._lock:  # the first requests wait for the first Snapshot
                if self._snapshot is None:
                    self._snapshot = self._build(now.date())
                return self._snapshot
        moment = time.monotonic()
        if snapshot.day != now.date():
            self._rebuild_in_background(now.date())
        elif moment - self._checked_at >= self.check_seconds:
            self._checked_at = moment
            if moment - snapshot.built_at >= self.rebuild_seconds and self.generation() != snapshot.generation:
                self._rebuild_in_background(now.date())
        return snapshot

    def refresh(self, now: dt.datetime) -> Snapshot:
        """Rebuild now, and wait for it (a test's way to see its own writes at once)."""
        with self._lock:
            self._snapshot = self._build(now.date())
            return self._snapshot

    def _rebuild_in_background(self, day: dt.date) -> None:
        with self._lock:
            if self._rebuilding is not None and self._rebuilding.is_alive():
                return
            if time.monotonic() - self._failed_at < max(self.check_seconds, 1.0):
                return
            self._rebuilding = threading.Thread(target=self._rebuild, args=(day,), name="listing-rebuild",
                                                daemon=True)
            self._rebuilding.start()

    def _rebuild(self, day: dt.date) -> None:
        try:
            self._snapshot = self._build(day)
        except Exception:  # the index unreachable for a moment: keep serving the previous Snapshot
            self._failed_at = time.monotonic()
            log.exception("the in-memory listing could not be rebuilt; the previous one is kept")

    def _build(self, day: dt.date) -> Snapshot:
        generation = self.generation()  # before reading: a change during the read is seen at the next check
        with self.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN")  # one state of the index for the rows and their accounts
            try:
                return build(connection, day, generation)
            finally:
                connection.rollback()

    def generation(self) -> object:
        """A value that changes when the index has been written to since the last call (or may have been)."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.connect() as connection:
                return connection.execute(select(literal_column("pg_snapshot_xmax(pg_current_snapshot())"))).scalar()
        with self._watch_lock:
            if self._watch is None:
                self._watch = self.engine.raw_connection()
            cursor = self._watch.cursor()
            try:
                cursor.execute("PRAGMA data_version")
                return cursor.fetchone()[0]
            finally:
                cursor.close()

    def close(self) -> None:
        with self._watch_lock:
            if self._watch is not None:
                self._watch.close()
                self._watch = None
