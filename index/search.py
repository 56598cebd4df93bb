"""Full-text search on repositories (name, description, topics), with the database's own engine.

SQLite: an FTS5 table, `repositories_fts`, with `repositories` as its external content, kept in step by triggers.
PostgreSQL: a GIN index on the expression `SEARCH_DOCUMENT`, which queries repeat word for word so that the
planner uses it. Both are built by migration 0006 and are not in index/models.py (SQLAlchemy does not describe
virtual tables or expression indexes): `is_modelled` keeps them out of the models/migrations comparison.

A user's query is reduced to at most MAX_WORDS words of letters and digits, each matched as a word prefix, all
required; nothing of the query's text reaches SQL except as a bound parameter.
"""

from __future__ import annotations

import re
from typing import Any

FTS_TABLE = "repositories_fts"
PG_INDEX = "ix_repositories_search"
MAX_WORDS = 8
MAX_WORD = 40
# the PostgreSQL document: the same expression in the index and in every query
SEARCH_DOCUMENT = ("to_tsvector('simple', coalesce(repositories.name, '') || ' ' || "
                   "coalesce(repositories.description, '') || ' ' || coalesce(repositories.topics::text, ''))")
WORD = re.compile(r"[^\W_]+")


def words(query: str) -> list[str]:
    """The query's words, lower-cased: letters and digits only, at most MAX_WORDS of at most MAX_WORD each."""
    return [w[:MAX_WORD] for w in WORD.findall(query.casefold())][:MAX_WORDS]


def fts5_query(terms: list[str]) -> str:
    """FTS5 syntax: every word as a quoted prefix ("word"*), all required. Words hold no quote (see WORD)."""
    return " ".join(f'"{t}"*' for t in terms)


def tsquery(terms: list[str]) -> str:
    """PostgreSQL to_tsquery syntax: word:* & word:*."""
    return " & ".join(f"{t}:*" for t in terms)


def is_modelled(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic's include_name: the search structures are built by migration 0006, not described by the models."""
    if name is None:
        return True
    if type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name == PG_INDEX)


SQLITE_UP = (
    f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(name, description, topics, content='repositories', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    f"CREATE TRIGGER {FTS_TABLE}_ai AFTER INSERT ON repositories BEGIN "
    f"INSERT INTO {FTS_TABLE}(rowid, name, description, topics) VALUES (new.id, new.name, new.description, new.topics); "
    "END",
    f"CREATE TRIGGER {FTS_TABLE}_ad AFTER DELETE ON repositories BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name, description, topics) "
    "VALUES ('delete', old.id, old.name, old.description, old.topics); END",
    f"CREATE TRIGGER {FTS_TABLE}_au AFTER UPDATE OF name, description, topics ON repositories BEGIN "
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, name, description, topics) "
    "VALUES ('delete', old.id, old.name, old.description, old.topics); "
    f"INSERT INTO {FTS_TABLE}(rowid, name, description, topics) VALUES (new.id, new.name, new.description, new.topics); "
    "END",
    f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')",
)
SQLITE_DOWN = tuple(f"DROP TRIGGER IF EXISTS {FTS_TABLE}_{s}" for s in ("ai", "ad", "au")) + (
    f"DROP TABLE IF EXISTS {FTS_TABLE}",)
POSTGRES_UP = (f"CREATE INDEX {PG_INDEX} ON repositories USING gin (({SEARCH_DOCUMENT}))",)
POSTGRES_DOWN = (f"DROP INDEX IF EXISTS {PG_INDEX}",)
