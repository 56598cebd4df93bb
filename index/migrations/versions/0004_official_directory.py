"""the official directory (annuaire): its services, each account's organisation name, and the licence and
publiccode.yml of each day's metrics (a ministry's progress over time)

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('directory_services',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('acronym', sa.String(length=255), nullable=True),
    sa.Column('parent_id', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('source', sa.String(length=1000), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_services'))
    )
    op.add_column('accounts', sa.Column('organisation', sa.String(length=500), nullable=True))
    op.add_column('repository_metrics', sa.Column('license_spdx', sa.String(length=100), nullable=True))
    op.add_column('repository_metrics', sa.Column('has_publiccode', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('repository_metrics') as batch:
        batch.drop_column('has_publiccode')
        batch.drop_column('license_spdx')
    with op.batch_alter_table('accounts') as batch:  # SQLite before 3.35 cannot drop a column in place
        batch.drop_column('organisation')
    op.drop_table('directory_services')
