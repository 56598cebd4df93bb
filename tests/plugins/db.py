"""Database fixtures: every index test runs on SQLite and, when CODEINDEX_TEST_POSTGRES is set, on PostgreSQL.

On PostgreSQL each test gets a schema of its own (through the connection's search_path), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

POSTGRES_URL = os.environ.get("CODEINDEX_TEST_POSTGRES")


def _backends() -> list:
    params = [pytest.param("sqlite", id="sqlite")]
    if POSTGRES_URL:
        params.append(pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres))
    return params


def _postgres_schema() -> Iterator[str]:
    """A URL whose connections use a new schema (search_path), dropped when the test is done."""
    from sqlalchemy import create_engine, text

    from index.db import normalise_url

    assert POSTGRES_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{normalise_url(POSTGRES_URL)}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=_backends())
def index_url(request, tmp_path):
    """A URL to an empty index database (not yet migrated)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'index.sqlite'}"
        return
    yield from _postgres_schema()


@pytest.fixture
def engine(index_url):
    """A migrated, empty index."""
    from index.db import open_index

    engine = open_index(index_url)
    yield engine
    engine.dispose()


@pytest.fixture
def postgres_index_url(tmp_path):
    """An empty PostgreSQL index (a schema of its own) for tests that need PostgreSQL itself (the task queue)."""
    if not POSTGRES_URL:
        pytest.skip("needs CODEINDEX_TEST_POSTGRES")
    yield from _postgres_schema()
