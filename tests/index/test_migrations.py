"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from index import db
from index.models import Base
from index.search import is_modelled


def test_upgrade_empty_database_matches_models(index_url):
    engine = db.open_index(index_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": is_modelled})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
    assert db.current_revision(engine) == db.head_revision()


def test_upgrade_is_idempotent(index_url):
    db.open_index(index_url)
    engine = db.open_index(index_url)
    tables = set(inspect(engine).get_table_names())
    assert {"forges", "accounts", "repositories", "repository_metrics", "crawl_runs", "account_outcomes",
            "http_validators", "alembic_version"} <= tables
