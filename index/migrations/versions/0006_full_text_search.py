"""full-text search on repositories' name, description and topics (SQLite FTS5 table kept by triggers,
PostgreSQL GIN index on a tsvector expression), for `codeindex serve`; see index/search.py

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from alembic import op

from index import search

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    statements = search.SQLITE_UP if op.get_bind().dialect.name == "sqlite" else search.POSTGRES_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = search.SQLITE_DOWN if op.get_bind().dialect.name == "sqlite" else search.POSTGRES_DOWN
    for statement in statements:
        op.execute(statement)
