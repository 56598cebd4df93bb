"""details: which ones are stale, and what they were read from

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stale_details', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('detail_marks', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('repositories', schema=None) as batch_op:
        batch_op.drop_column('detail_marks')
        batch_op.drop_column('stale_details')
