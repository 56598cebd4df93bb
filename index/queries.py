"""Read-model queries: what the index publishes, read in one consistent snapshot.

The publication rules live here and only here, so every exported file agrees on them:
- a forge is published while it is configured and not past its `ignored_since` (ignored from that day on);
- an account likewise, and only on a published forge;
- a repository when it is public (never private or internal), not gone, and its account is published.

Timestamps come as the text the files publish (`Time`: ISO 8601 UTC to the second, "2024-05-03T12:01:02Z"),
formatted by the database: at ten times code.gouv.fr's size an export holds ~800,000 of them, and turning each
into a datetime and back into text was the largest cost of a row in Python.

Everything is read in one transaction (REPEATABLE READ on PostgreSQL, an explicit BEGIN on SQLite, whose driver
would otherwise give each SELECT its own snapshot), so counts in one file match rows in another even while a
crawl writes. Rows come back in no particular order: the export sorts them itself.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, NamedTuple

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Connection,
    Engine,
    String,
    Text,
    TypeDecorator,
    func,
    or_,
    select,
    type_coerce,
)

from index.models import Account, Forge, Repository, RepositoryMetric, UTCDateTime

UNKNOWN_PSO_ID = "00000000-0000-0000-0000-000000000000"  # code.gouv.fr's placeholder for "body not known"
Time = str  # a timestamp as published: "YYYY-MM-DDTHH:MM:SSZ", UTC (export_format.iso's form)


@dataclass(frozen=True, slots=True)
class ExportedForge:
    host: str
    kind: str
    pso_id: str | None
    ministry: str | None
    whole_forge: bool


@dataclass(slots=True, eq=False)  # not frozen: a frozen init costs six times more, per row
class ExportedAccount:
    """A published account; pso_id and ministry fall back on the forge's (owners inherit them)."""

    id: int  # the index's row id: internal, never exported
    forge: ExportedForge
    login: str
    kind: str | None
    name: str | None
    config_name: str | None
    description: str | None
    html_url: str | None
    avatar_url: str | None
    website: str | None
    email: str | None
    location: str | None
    verified: bool | None
    created_at: Time | None
    followers: int | None
    forge_repositories_count: int | None
    pso_id: str | None
    ministry: str | None
    organisation: str | None  # the body's name in the official directory
    floss_policy: str | None
    ospo_url: str | None
    first_seen: Time | None
    last_seen: Time | None
    last_attempt_at: Time | None
    last_success_at: Time | None
    last_status: str | None
    last_error: str | None

    @property
    def organisation_name(self) -> str | None:
        """The body's name: the official directory's, else the configuration's `name`."""
        return (self.organisation or "").strip() or (self.config_name or "").strip() or None

    @property
    def url(self) -> str:
        """The account's page: the forge's own URL when known, else the conventional https://host/login."""
        if self.html_url:
            return self.html_url
        if self.kind == "instance":
            return f"https://{self.forge.host}"
        return f"https://{self.forge.host}/{self.login}"


REPOSITORY_COLUMNS = (
    "forge_repo_id", "full_name", "previous_full_names", "name", "owner_path", "html_url", "description",
    "homepage", "default_branch", "language", "topics", "stars", "forks", "watchers", "open_issues", "created_at",
    "updated_at", "pushed_at", "archived", "fork", "parent_url", "template", "empty", "license_spdx",
    "licence_source", "commits_365d", "contributors_365d", "last_commit_at", "releases_count", "latest_release_at", "has_readme",
    "has_license", "has_contributing", "has_changelog", "has_publiccode", "publiccode", "signals_at", "score",
    "first_seen", "last_seen",
)


@dataclass(slots=True, eq=False)  # not frozen: a frozen init costs six times more, per row
class ExportedRepository:
    account: ExportedAccount
    forge_repo_id: int
    full_name: str
    previous_full_names: list[str]
    name: str
    owner_path: str
    html_url: str
    description: str | None
    homepage: str | None
    default_branch: str | None
    language: str | None
    topics: list[str]
    stars: int
    forks: int
    watchers: int | None
    open_issues: int | None
    created_at: Time | None
    updated_at: Time | None
    pushed_at: Time | None
    archived: bool
    fork: bool
    parent_url: str | None
    template: bool
    empty: bool
    license_spdx: str | None
    licence_source: str | None
    commits_365d: int | None
    contributors_365d: int | None
    last_commit_at: Time | None
    releases_count: int | None
    latest_release_at: Time | None
    has_readme: bool | None
    has_license: bool | None
    has_contributing: bool | None
    has_changelog: bool | None
    has_publiccode: bool | None
    publiccode: dict[str, Any] | None
    signals_at: Time | None
    score: int
    first_seen: Time
    last_seen: Time
    trend: dict[str, Any] | None = None  # changes over TREND_DAYS, from the metrics history

    @property
    def sort_key(self) -> tuple[str, str, str, int]:
        return (self.account.forge.host, self.full_name.lower(), self.full_name, self.forge_repo_id)


@dataclass(frozen=True, slots=True)
class ReadModel:
    """Everything one export publishes, from one snapshot, in no particular order."""

    day: dt.date
    forges: list[ExportedForge]
    accounts: list[ExportedAccount]
    repositories: list[ExportedRepository]
    history: list[dict[str, Any]] = field(default_factory=list)  # per crawl day: totals of today's repositories


def _still_listed(column: Any, day: dt.date) -> Any:
    """`ignored_since` is the first day an entry is no longer published."""
    return or_(column.is_(None), column > day)


def published_filters(day: dt.date) -> tuple[Any, ...]:
    """The publication rules on a query joining Forge and Account (the first two conditions need only Forge)."""
    return (
        Forge.configured.is_(True),
        _still_listed(Forge.ignored_since, day),
        Account.configured.is_(True),
        _still_listed(Account.ignored_since, day),
    )


def known_pso(value: str | None) -> str | None:
    return None if value in (None, "", UNKNOWN_PSO_ID) else value


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only connection on which every SELECT sees the same state of the index."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with connection.begin():
                yield connection
        else:
            connection.exec_driver_sql("BEGIN")  # pysqlite runs SELECTs outside transactions otherwise
            try:
                yield connection
            finally:
                connection.rollback()


def read_model(engine: Engine, day: dt.date) -> ReadModel:
    """Published forges, accounts and repositories as of `day` (the export's date, UTC)."""
    with snapshot(engine) as connection:
        return _read(connection, day)


def _read(connection: Connection, day: dt.date) -> ReadModel:
    forge_rows = connection.execute(
        select(Forge.id, Forge.host, Forge.kind, Forge.pso_id, Forge.ministry, Forge.whole_forge).where(
            *published_filters(day)[:2]
        )
    ).all()
    forges = {
        row.id: ExportedForge(row.host, row.kind, known_pso(row.pso_id), row.ministry or None, bool(row.whole_forge))
        for row in forge_rows
    }
    dialect = connection.dialect.name
    account_columns = [published(c, dialect) for c in Account.__table__.c
                       if c.name not in ("login_key", "configured", "ignored_since")]
    account_rows = connection.execute(
        select(*account_columns).join(Forge, Forge.id == Account.forge_id).where(*published_filters(day))
    ).mappings().all()
    accounts: dict[int, ExportedAccount] = {}
    for row in account_rows:
        forge = forges[row["forge_id"]]
        accounts[row["id"]] = ExportedAccount(
            id=row["id"], forge=forge, login=row["login"], kind=row["kind"], name=row["name"],
            config_name=row["config_name"], description=row["description"], html_url=row["html_url"],
            avatar_url=row["avatar_url"], website=row["website"], email=row["email"], location=row["location"],
            verified=row["verified"], created_at=row["created_at"], followers=row["followers"],
            forge_repositories_count=row["repositories_count"],
            pso_id=known_pso(row["pso_id"]) or forge.pso_id, ministry=row["ministry"] or forge.ministry,
            organisation=row["organisation"],
            floss_policy=row["floss_policy"], ospo_url=row["ospo_url"], first_seen=row["first_seen"],
            last_seen=row["last_seen"], last_attempt_at=row["last_attempt_at"],
            last_success_at=row["last_success_at"], last_status=row["last_status"], last_error=row["last_error"],
        )
    columns = [published(getattr(Repository, c), dialect) for c in REPOSITORY_COLUMNS]
    baselines = _trend_baselines(connection, day)
    decode = decoder(REPOSITORY_COLUMNS)
    repositories = []
    for values in driver_rows(connection, (
        select(Repository.id, Repository.account_id, *columns)
        .join(Account, Account.id == Repository.account_id)
        .join(Forge, Forge.id == Account.forge_id)
        .where(Repository.visibility == "public", Repository.gone_at.is_(None), *published_filters(day))
    )):
        repo = ExportedRepository(accounts[values[1]], *decode(values, 2))
        repo.trend = _trend(repo, baselines.get(values[0]))
        repositories.append(repo)
    history = _history(connection, day)
    return ReadModel(day, list(forges.values()), list(accounts.values()), repositories, history)


assert REPOSITORY_COLUMNS == tuple(f.name for f in fields(ExportedRepository))[1:-1], "keep the two in one order"

# a column expression in, the same value as text out
ColumnToText = Callable[[ColumnElement[Any]], ColumnElement[Any]]

PUBLISHED_TIME: dict[str, ColumnToText] = {  # per dialect: a UTC timestamp column as `Time` text, truncated to the second as iso() does
    "sqlite": lambda column: func.strftime("%Y-%m-%dT%H:%M:%SZ", column),  # the stored text is naive UTC
    "postgresql": lambda column: func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
}


PUBLISHED_DAY: dict[str, ColumnToText] = {  # per dialect: a date column as ISO text, "YYYY-MM-DD" (SQLite stores it so)
    "sqlite": lambda column: type_coerce(column, String),
    "postgresql": lambda column: func.to_char(column, "YYYY-MM-DD"),
}


def published(column: Any, dialect: str) -> Any:
    """A column as the read model wants it: timestamps as `Time` text, JSON through JSONValue's shortcut, the
    rest as they are (each keeps the column's name)."""
    if isinstance(column.type, UTCDateTime):
        return type_coerce(PUBLISHED_TIME[dialect](column), String).label(column.key)
    if isinstance(column.type, JSON):
        return json_read(column)
    return column


def json_read(column: Any) -> Any:
    """A JSON column, selected for reading with JSONValue's shortcut (it keeps the column's name)."""
    return type_coerce(column, JSONValue()).label(column.key)


def driver_rows(connection: Connection, statement: Any, block: int = 1000) -> Iterator[Sequence[Any]]:
    """The statement's rows as the database driver hands them (tuples), streamed in blocks, without SQLAlchemy's
    per-row processing: it doubled the cost of reading ~90,000 repositories at ten times code.gouv.fr's size.
    The values are the driver's own: on SQLite, booleans come as 0/1 and JSON as text (`decoder` turns them
    into what SQLAlchemy would have given); psycopg already hands back booleans and decoded JSON. SQLAlchemy
    still compiles the statement and binds its parameters."""
    result = connection.execute(statement)
    cursor = result.cursor  # the DBAPI cursor, read directly
    try:
        while rows := cursor.fetchmany(block):
            yield from rows
    finally:
        result.close()


def decoder(names: Sequence[str]) -> Callable[[Sequence[Any], int], list[Any]]:
    """`decode(row, start)`: the row's values from `start` on, the Repository columns `names` as the model wants
    them: Boolean columns as bool (None kept), JSON columns decoded (`_json_value`; both idempotent, so rows
    already converted by the driver pass unchanged)."""
    table = Repository.__table__.c
    flags = [i for i, name in enumerate(names) if isinstance(table[name].type, Boolean)]
    documents = [i for i, name in enumerate(names) if isinstance(table[name].type, JSON)]

    def decode(row: Sequence[Any], start: int) -> list[Any]:
        values = list(row[start:])
        for i in flags:
            value = values[i]
            if value is not None:
                values[i] = bool(value)
        for i in documents:
            values[i] = _json_value(values[i])
        return values

    return decode


class JSONValue(TypeDecorator[Any]):
    """JSON read with a shortcut for the values most rows hold ([] and null): the export reads ~5 JSON columns
    per repository, and json.loads was a tenth of its time. PostgreSQL's driver hands back decoded values."""

    impl = Text
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return _json_value(value)

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        """The decoding alone, without TypeDecorator's wrapper around process_result_value (an export calls it
        ~5 times per repository)."""
        return _json_value


def _json_value(value: Any) -> Any:
    if type(value) is not str:
        return value
    if value == "[]":
        return []
    if value == "null":
        return None
    return json.loads(value)


TREND_DAYS = 30
HISTORY_DAYS = 90


class Baseline(NamedTuple):
    """A repository's metrics on the day its trend is counted from."""

    since: str  # the day, ISO: compared with a row's last_seen text
    stars: int | None
    forks: int | None
    commits_365d: int | None


def _trend_baselines(connection: Connection, day: dt.date) -> dict[int, Baseline]:
    """Per repository, the metrics of the last crawl day at least TREND_DAYS ago, else of its first crawl day."""
    cutoff = day - dt.timedelta(days=TREND_DAYS)
    metric = RepositoryMetric.__table__.c
    older = select(metric.repository_id, func.max(metric.day).label("day")).where(metric.day <= cutoff).group_by(
        metric.repository_id).subquery()
    first = select(metric.repository_id, func.min(metric.day).label("day")).group_by(metric.repository_id).subquery()
    day_text = PUBLISHED_DAY[connection.dialect.name](metric.day)
    baselines: dict[int, Baseline] = {}
    for picked in (first, older):  # the older-than-cutoff row wins where there is one
        for repository_id, since, stars, forks, commits in driver_rows(connection, (
            select(metric.repository_id, day_text, metric.stars, metric.forks, metric.commits_365d).join(
                picked, (picked.c.repository_id == metric.repository_id) & (picked.c.day == metric.day))
        )):
            baselines[repository_id] = Baseline(since, stars, forks, commits)
    return baselines


def _trend(row: Any, baseline: Baseline | None) -> dict[str, Any] | None:
    if baseline is None or baseline.since >= row.last_seen[:10]:
        return None

    def delta(now: int | None, then: int | None) -> int | None:
        return None if now is None or then is None else now - then

    return {"commits_365d": delta(row.commits_365d, baseline.commits_365d),  # keys sorted: see repository_json
            "forks": delta(row.forks, baseline.forks), "since": baseline.since,
            "stars": delta(row.stars, baseline.stars)}


def _history(connection: Connection, day: dt.date) -> list[dict[str, Any]]:
    """Totals per crawl day over the last HISTORY_DAYS, for the repositories published today: summed by the
    database (a year of daily crawls at ten times code.gouv.fr's size is 30 million metric rows)."""
    metric = RepositoryMetric.__table__.c
    rows = connection.execute(
        select(metric.day, func.count(), func.sum(metric.stars), func.sum(metric.forks))
        .join(Repository, Repository.id == metric.repository_id)
        .join(Account, Account.id == Repository.account_id)
        .join(Forge, Forge.id == Account.forge_id)
        .where(metric.day > day - dt.timedelta(days=HISTORY_DAYS), metric.day <= day,
               Repository.visibility == "public", Repository.gone_at.is_(None), *published_filters(day))
        .group_by(metric.day)
        .order_by(metric.day)
    ).all()
    return [{"day": d.isoformat(), "repositories": n, "stars": int(stars or 0), "forks": int(forks or 0)}
            for d, n, stars, forks in rows]
