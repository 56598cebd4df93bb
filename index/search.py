"""Full-text search on repositories (name, description, topics), with the database's own engine.

SQLite: an FTS5 table, `repositories_fts`, with `repositories` as its external content, kept in step by triggers.
PostgreSQL: a narrow table, `repository_search` (id, tsvector document), with a GIN index, kept in step by a
trigger (migration 0008; 0006 had put the GIN index on an expression over `repositories`, whose wide rows a
search then read: `data:*` took 10.6 ms at x10, 4.1 ms from the narrow table). Neither is in index/models.py
(SQLAlchemy does not describe virtual tables, and the trigger owns the narrow one): `is_modelled` keeps them out of
the models/migrations comparison.

A user's query is reduced to at most MAX_WORDS words of letters and digits, each matched as a word prefix, all
required; nothing of the query's text reaches SQL except as a bound parameter.
"""

from __future__ import annotations

import re
from typing import Any

FTS_TABLE = "repositories_fts"
PG_INDEX = "ix_repositories_search"  # migration 0006's, dropped by 0008
PG_TABLE = "repository_search"
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
    """Alembic's include_name: the search structures are built by migrations 0006 and 0008, not described by the
    models."""
    if name is None:
        return True
    if type_ == "table" and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_") or name == PG_TABLE):
        return False
    return not (type_ == "index" and name in (PG_INDEX, PG_INDEX_08))


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

# migration 0008 (PostgreSQL only): the documents in a table of their own
PG_INDEX_08 = "ix_repository_search_document"
POSTGRES_UP_08 = (
    f"CREATE TABLE {PG_TABLE} (id integer PRIMARY KEY REFERENCES repositories (id) ON DELETE CASCADE, "
    "document tsvector NOT NULL)",
    f"INSERT INTO {PG_TABLE} (id, document) SELECT id, {SEARCH_DOCUMENT} FROM repositories",
    f"CREATE INDEX {PG_INDEX_08} ON {PG_TABLE} USING gin (document)",
    f"CREATE FUNCTION {PG_TABLE}_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO {PG_TABLE} (id, document) SELECT NEW.id, {SEARCH_DOCUMENT} FROM (SELECT NEW.*) AS repositories "
    "ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document; RETURN NULL; END $$",
    f"CREATE TRIGGER {PG_TABLE}_sync AFTER INSERT OR UPDATE OF name, description, topics ON repositories "
    f"FOR EACH ROW EXECUTE FUNCTION {PG_TABLE}_sync()",
    f"DROP INDEX IF EXISTS {PG_INDEX}",
)
POSTGRES_DOWN_08 = (
    *POSTGRES_UP,
    f"DROP TRIGGER IF EXISTS {PG_TABLE}_sync ON repositories",
    f"DROP FUNCTION IF EXISTS {PG_TABLE}_sync()",
    f"DROP TABLE IF EXISTS {PG_TABLE}",
)
