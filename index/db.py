"""Opening the index: one code path for the embedded SQLite file and for PostgreSQL.

`open_index(url)` checks the URL, connects, applies pending Alembic migrations and returns an Engine. Any problem
(a malformed URL, a missing driver, an unreachable server, a database newer than this code) becomes an
`IndexError_` with one line a person can act on; the CLI prints it and exits 2.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class IndexDatabaseError(Exception):
    """The index database cannot be used; the message is one line for a person."""


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable URL>"


def normalise_url(url: str) -> str:
    """Accept the forms people type: postgres:// and postgresql:// mean the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def create_index_engine(url: str) -> Engine:
    url = normalise_url(url)
    try:
        if "://" not in url:
            raise ArgumentError(url)
        parsed = make_url(url)
    except ArgumentError:
        raise IndexDatabaseError(
            f"malformed database URL {url!r}: expected sqlite:///PATH or postgresql://USER@HOST[:PORT]/DB"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise IndexDatabaseError(
            f"unsupported database {parsed.get_backend_name()!r} in {_safe_url(url)}: use SQLite or PostgreSQL"
        )
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            parent = Path(database).expanduser().resolve().parent
            if not parent.is_dir():
                raise IndexDatabaseError(f"cannot create the SQLite index {database}: folder {parent} does not exist")
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["connect_args"] = {"connect_timeout": 5}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise IndexDatabaseError(f"no driver for {_safe_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (export, status) never block a crawl
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def refresh_statistics(engine: Engine) -> None:
    """SQLite: ANALYZE, so that the query planner knows how selective each index is. Without statistics it can
    drive a search from the forge's host through every account's repositories (seen: 870 ms for a search that
    takes 19 ms with them, at 66,044 repositories). Run after each crawl: ~40 ms there. PostgreSQL's autovacuum
    keeps its own statistics."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


MIGRATION_LOCK = 0x6D696772  # pg_advisory_xact_lock key held while migrating


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply pending migrations (idempotent)."""
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # several processes may start at once (workers): one migrates
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        command.upgrade(_alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def open_index(url: str, *, migrate: bool = True) -> Engine:
    """Connect to the index and bring its schema up to date. Raises IndexDatabaseError with one clear line."""
    engine = create_index_engine(url)
    try:
        with engine.connect() as connection:
            inspect(connection).get_table_names()
        current = current_revision(engine)
        head = head_revision()
        if current is not None and head is not None and current != head and not _is_known(current):
            raise IndexDatabaseError(
                f"the index at {_safe_url(url)} is at schema revision {current}, unknown to this codeindex: "
                "it was written by a newer version"
            )
        if migrate:
            upgrade(engine)
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise IndexDatabaseError(f"cannot open the index at {_safe_url(url)}: {reason}") from None
    except IndexDatabaseError:
        raise
    except SQLAlchemyError as exc:
        raise IndexDatabaseError(f"cannot use the index at {_safe_url(url)}: {str(exc).splitlines()[0]}") from None
    return engine


def _is_known(revision: str) -> bool:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        return ScriptDirectory.from_config(config).get_revision(revision) is not None
    except CommandError:
        return False


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session whose work commits whole or rolls back whole."""
    with session_factory(engine)() as session, session.begin():
        yield session
