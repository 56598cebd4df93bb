"""Alembic environment: run against the connection codeindex hands over (see index.db.upgrade)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import context

from index.models import Base
from index.search import is_modelled

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType
    from sqlalchemy import Connection

target_metadata = Base.metadata


# tables in the index database that are not ours (the scheduler's job store)
FOREIGN_TABLES = {"apscheduler_jobs"}


def _include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES) and is_modelled(name, type_, parent_names)


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:  # plain `alembic` CLI use: build an engine from sqlalchemy.url
        from sqlalchemy import create_engine

        url = context.config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("no connection handed over and no sqlalchemy.url in the alembic config")
        engine = create_engine(url)
        with engine.begin() as connection:
            _run(connection)
        return
    _run(connection)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=_include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
