"""PostgreSQL: the full-text documents in a narrow table of their own (id, tsvector), kept by a trigger, instead of
a GIN index on an expression over the wide repositories rows; see index/search.py. SQLite: nothing (its FTS5
table already holds only the documents).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from alembic import op

from index import search

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_UP_08:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in search.POSTGRES_DOWN_08:
            op.execute(statement)
